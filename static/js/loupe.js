/* loupe.js: a touch magnifier for figures whose targets are smaller than a fingertip (the
 * confusion, diff and top-grid matrices and the hidden layer's bars are 16-27 px on a 375 px
 * phone, and 32 px versions would not fit across it).
 *
 *   import {attachLoupe} from "../../js/loupe.js";
 *   attachLoupe(area, selector, {pos, pick, content, rows = 3, cols = 3})
 *     area       the element holding the targets; a touch tap on a target (which the demo handles
 *                as before) also opens the loupe beside it
 *     selector   the targets, e.g. "td.cm-cell"
 *     pos(el)    optional: [row, col] of a target in its grid (default: its data-i and data-j,
 *                as samples.js's rovingGrid reads them)
 *     pick(el)   select target el, as a tap on it would
 *     content(el, button)  optional: fill the loupe's button for el (default: a copy of el's
 *                content and colours)
 *     heads      optional {row(i), col(j)} -> the text of a row's / column's header (a matrix's
 *                class names), shown along the loupe's edges
 *
 * The loupe shows the tapped target and its neighbours (rows x cols around it) as 44 px buttons
 * named like the targets; a tap on one picks it and moves the loupe there, so a tap that landed a
 * cell off is put right with a second one; while it is open a mouse hover does not move the
 * selection. It closes with its × button, a tap elsewhere or Escape; mouse and keyboard never
 * open it (they are precise already). Its strings come from the
 * figure's data-loupe JSON {title, close} (the site-wide strings t.loupe and t.loupe_close).
 * area.loupe = {open(el), close(), box()} for tests.
 */

const CSS = new URL("../css/loupe.css", import.meta.url).href;
const MARGIN = 8;   // px kept free between the loupe and the screen's edge or the tapped target

function linkCss() {
  if (document.querySelector("link[data-loupe-css]")) return;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = CSS;
  link.dataset.loupeCss = "";
  document.head.append(link);
}

/** Default button content: the target's own content (canvases with their pixels) and colours. */
function copyOf(el, button) {
  const cs = getComputedStyle(el);
  button.style.backgroundColor = cs.backgroundColor;
  button.style.color = cs.color;
  for (const node of el.childNodes) {
    const copy = node.cloneNode(true);
    if (node instanceof HTMLCanvasElement) copy.getContext("2d").drawImage(node, 0, 0);
    button.append(copy);
  }
}

const clamp = (v, lo, hi) => Math.max(lo, Math.min(hi, v));

const cellPos = (el) => [Number(el.dataset.i), Number(el.dataset.j)];

export function attachLoupe(area, selector, {pick, pos = cellPos, content = copyOf, heads = null, rows = 3, cols = 3}) {
  linkCss();
  const targets = [...area.querySelectorAll(selector)];
  const at = new Map(targets.map((t) => [pos(t).join(","), t]));
  const last = [0, 1].map((k) => Math.max(...targets.map((t) => pos(t)[k])));
  const S = JSON.parse((area.closest("[data-loupe]") || area).dataset.loupe || "{}");
  let box = null;
  let touch = false;

  // content loading above the figure moves it (and scroll anchoring moves the page): follow it
  let anchor = null;
  const follow = new ResizeObserver(() => { if (box && anchor) place(anchor); });

  function close() {
    if (box) box.remove();
    box = null;
    follow.disconnect();
  }

  function button(el, current) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "loupe-cell" + (el === current ? " loupe-current" : "");
    b.setAttribute("aria-label", el.getAttribute("aria-label") || "");
    b.setAttribute("aria-pressed", String(el === current));
    Object.assign(b.dataset, el.dataset);          // the target's address (data-i, data-j, ...)
    content(el, b);
    b.addEventListener("click", () => {
      pick(el);
      open(el);
      box.querySelector(".loupe-current").focus({preventScroll: true});   // the old button is gone
    });
    return b;
  }

  function open(el) {
    const [r, c] = pos(el);
    // the rows x cols window around el, shifted to stay inside the grid
    const top = clamp(r - (rows >> 1), 0, Math.max(0, last[0] - rows + 1));
    const left = clamp(c - (cols >> 1), 0, Math.max(0, last[1] - cols + 1));
    if (!box) {
      box = document.createElement("div");
      box.className = "loupe";
      box.setAttribute("role", "group");
      box.setAttribute("aria-label", S.title || "");
      box.addEventListener("keydown", (e) => { if (e.key === "Escape") { close(); el.focus?.(); } });
      document.body.append(box);
    }
    const grid = document.createElement("div");
    grid.className = "loupe-grid";
    grid.style.gridTemplateColumns = `${heads ? "auto " : ""}repeat(${cols}, var(--loupe-size))`;
    const head = (text) => Object.assign(document.createElement("span"), {className: "loupe-head", textContent: text});
    if (heads) {
      grid.append(document.createElement("span"));
      for (let j = left; j < left + cols; j++) grid.append(head(heads.col(j)));
    }
    for (let i = top; i < top + rows; i++) {
      if (heads) grid.append(head(heads.row(i)));
      for (let j = left; j < left + cols; j++) {
        const t = at.get(`${i},${j}`);
        grid.append(t ? button(t, el) : document.createElement("span"));
      }
    }
    const x = document.createElement("button");
    x.type = "button";
    x.className = "loupe-close";
    x.textContent = "×";
    x.setAttribute("aria-label", S.close || "×");
    x.addEventListener("click", close);
    const title = document.createElement("p");
    title.className = "loupe-title";
    title.textContent = S.title || "";
    box.replaceChildren(title, x, grid);
    anchor = el;
    place(el);
    follow.observe(document.body);
  }

  /** Beside the target: below it if the loupe fits on screen there, else above; never off-screen sideways. */
  function place(el) {
    const r = el.getBoundingClientRect();
    const w = box.offsetWidth, h = box.offsetHeight;
    const x = clamp(r.left + r.width / 2 - w / 2, MARGIN, innerWidth - MARGIN - w);
    const below = r.bottom + MARGIN + h <= innerHeight || r.top - MARGIN - h < 0;
    const y = below ? r.bottom + MARGIN : r.top - MARGIN - h;
    box.style.left = `${x + scrollX}px`;
    box.style.top = `${y + scrollY}px`;
  }

  area.addEventListener("pointerdown", (e) => { touch = e.pointerType === "touch"; });
  // while open the loupe owns the selection: a mouse resting over the figure (a hybrid device, or
  // the browser re-hovering after the tap moved the layout) must not move it off the tapped target
  area.addEventListener("pointerover", (e) => { if (box && e.pointerType !== "touch") e.stopPropagation(); }, true);
  area.addEventListener("click", (e) => {
    const el = e.target.closest && e.target.closest(selector);
    if (touch && el && area.contains(el)) open(el);
    else close();                                 // a mouse needs no loupe
  });
  document.addEventListener("pointerdown", (e) => {
    if (box && !box.contains(e.target) && !area.contains(e.target)) close();
  });
  area.loupe = {open, close, box: () => box};
}
