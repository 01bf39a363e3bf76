/* Mistakes gallery (demos/mistakes/partial.html renders every item and its labels).
 * Draws each item's test image (data-index) from the sample sprite, and folds long galleries to
 * their first rows behind a "show all" button. With lab=yes its items are buttons that load their
 * image into the page's drawing lab of the same model (the lab's "draw:load" event). */
import {loadSamples, setupEach} from "../../js/samples.js";

const FOLDED = 12;

function setup(fig) {
  for (const button of fig.querySelectorAll("button.mk-more")) {
    const box = button.closest(".mk-gallery-box");
    const items = [...box.querySelectorAll(".mk-item")];
    const fold = (folded) => {
      items.forEach((li, k) => { li.hidden = folded && k >= FOLDED; });
      button.textContent = folded ? button.dataset.more : button.dataset.fewer;
      button.setAttribute("aria-expanded", String(!folded));
    };
    button.addEventListener("click", () => fold(button.getAttribute("aria-expanded") === "true"));
    button.hidden = false;
    fold(true);
  }
  loadSamples(fig.dataset.dataset, fig).then((samples) => {   // its tiles keep their size: when near
    for (const li of fig.querySelectorAll(".mk-item")) {
      const canvas = samples.canvas(+li.dataset.index);
      canvas.setAttribute("aria-hidden", "true");
      canvas.removeAttribute("role");
      li.querySelector(".mk-img").append(canvas);
    }
    fig.classList.add("mk-ready");
  }, (err) => {
    fig.classList.add("mk-failed");
    console.error("mistakes demo:", err);
  });
}

/** The drawing lab the buttons feed: the first one of this model after the gallery, else the last before. */
function findLab(fig) {
  const labs = [...document.querySelectorAll(`[data-live-demo="draw"][data-model="${fig.dataset.model}"]`)];
  return labs.find((lab) => fig.compareDocumentPosition(lab) & Node.DOCUMENT_POSITION_FOLLOWING) || labs.at(-1);
}

function linkLab(fig) {
  const buttons = fig.querySelectorAll("button.mk-load");
  const lab = buttons.length ? findLab(fig) : null;
  if (!lab) {
    buttons.forEach((b) => { b.disabled = true; });
    return;
  }
  fig.addEventListener("click", (e) => {
    const button = e.target.closest("button.mk-load");
    if (!button) return;
    lab.dispatchEvent(new CustomEvent("draw:load", {detail: {index: Number(button.closest(".mk-item").dataset.index)}}));
    // the lab's answer and neurons: on a phone they sit below its drawing grid, so go to them
    const verdict = lab.querySelector(".draw-verdict");
    const below = verdict.getBoundingClientRect().top - lab.getBoundingClientRect().top > innerHeight / 3;
    const still = matchMedia("(prefers-reduced-motion: reduce)").matches;
    (below ? verdict : lab).scrollIntoView({block: "start", behavior: still ? "auto" : "smooth"});
    lab.querySelector(".draw-grid").focus({preventScroll: true});   // keyboard readers carry on in the lab
  });
}

setupEach(document.querySelectorAll("figure.demo-mistakes"), (fig) => { setup(fig); linkLab(fig); });
