// The language switch keeps the reader's place: its links take the current #hash along (the
// section id, which is the same in every language, and the labs' drawing state), so the other
// language opens at the same section with the same drawing. Only pages in the same chapter get
// it: a link to an index page (chapter not translated) keeps no hash.
const links = [...document.querySelectorAll(".lang-switch a[data-same-page]")];
const carry = () => {
  for (const a of links) a.href = a.href.split("#")[0] + location.hash;
};
for (const a of links) a.addEventListener("click", carry);   // mouse, touch and keyboard (Enter)
addEventListener("hashchange", carry);
carry();
