/* The hidden layer (demos/hidden/partial.html): links each hidden neuron's picture to its bars.
 * Hover, focus or tap a bar -> its neuron's picture and its bars in every class light up;
 * the same from a picture. A tap (or Enter/Space on a picture) pins the highlight; tap again to
 * release it. Arrow keys: left/right = neighbouring hidden neuron, up/down = neighbouring class.
 * A picture's neuron also gets its strip: the test images that excite it most and least.
 * On a touch screen a tapped bar also opens a loupe (static/js/loupe.js) with its neighbours as
 * fingertip-sized buttons: the bars are narrower than a finger on a phone. */
import {loadStrips, setupEach, stripPanel} from "../../js/samples.js";
import {attachLoupe} from "../../js/loupe.js";

function fmt(w) {
  return (w >= 0 ? "+" : "−") + Math.abs(w).toFixed(2);
}

function setup(fig) {
  let S = {};
  try { S = JSON.parse(fig.dataset.strings || "{}"); } catch (e) { /* defaults */ }
  const classes = S.classes || [];
  const H = Number(fig.dataset.units), C = Number(fig.dataset.classes);
  const filters = [...fig.querySelectorAll(".nv-filter")];
  const bars = [...fig.querySelectorAll(".nv-bar")];
  const charts = fig.querySelector(".nv-hidden-charts");
  const readout = fig.querySelector(".nv-hidden-readout");
  const bar = (h, c) => bars[c * H + h];
  const weight = (h, c) => Number(bar(h, c).dataset.w);
  const unitName = (h) => filters[h].dataset.name || `h${h + 1}`;   // units=N keeps the neurons' own numbers
  let pinned = null;
  const stripBox = fig.querySelector(".nv-strip-box");
  const strips = fig.dataset.strips ? loadStrips(fig.dataset.strips) : null;
  if (strips) strips.catch((e) => console.error("hidden: neuron strips:", e));

  function showStrip(h) {
    if (!strips) return;
    strips.then((st) => {
      if (fig.dataset.active !== (h === null ? "" : String(h))) return;   // the reader moved on
      stripPanel(stripBox, st, 1, h === null ? null : Number(filters[h].dataset.unit), S,
                 h === null ? null : filters[h].querySelector("img"), h === null ? "" : unitName(h));
    }, () => {});
  }

  function describe(h, c) {
    if (c !== null && c !== undefined) {
      return `${S.class || "class"} ${classes[c] ?? c} ← ${unitName(h)}: ${S.weight || "weight"} ${fmt(weight(h, c))}`;
    }
    let hi = 0, lo = 0;
    for (let k = 1; k < C; k++) {
      if (weight(h, k) > weight(h, hi)) hi = k;
      if (weight(h, k) < weight(h, lo)) lo = k;
    }
    return `${unitName(h)}: ${classes[hi] ?? hi} ${fmt(weight(h, hi))} … ${classes[lo] ?? lo} ${fmt(weight(h, lo))}`;
  }

  /** Highlight hidden neuron h (null: none); c = the class of the bar that asked, if any. */
  function show(h, c = null) {
    fig.classList.toggle("nv-linking", h !== null);
    fig.dataset.active = h === null ? "" : String(h);
    filters.forEach((f, k) => f.classList.toggle("nv-hl", k === h));
    bars.forEach((b) => {
      b.classList.toggle("nv-hl", Number(b.dataset.h) === h);
      b.classList.toggle("nv-current", Number(b.dataset.h) === h && Number(b.dataset.c) === c);
    });
    // the read-out carries the neuron's own picture: on a phone the pictures above are off-screen
    readout.replaceChildren();
    showStrip(h);
    if (h === null) { readout.textContent = "\u00a0"; return; }
    const pic = filters[h].querySelector("img");
    if (pic) {
      const copy = pic.cloneNode();
      copy.className = "nv-readout-pic";
      copy.alt = "";
      readout.append(copy);
    }
    readout.append(document.createTextNode(describe(h, c)));
  }

  function rest() {
    show(pinned);
  }

  function pin(h) {
    pinned = pinned === h ? null : h;
    filters.forEach((f, k) => f.setAttribute("aria-pressed", k === pinned ? "true" : "false"));
    show(pinned === null ? h : pinned);
  }

  const target = (event) => event.target.closest && event.target.closest(".nv-bar, .nv-filter");
  fig.addEventListener("pointerover", (event) => {
    const t = target(event);
    if (t && event.pointerType !== "touch") show(Number(t.dataset.h), t.dataset.c === undefined ? null : Number(t.dataset.c));
  });
  for (const area of [charts, fig.querySelector(".nv-hidden-filters")]) {
    area.addEventListener("pointerleave", () => { if (!fig.contains(document.activeElement) || !target({target: document.activeElement})) rest(); });
  }
  fig.addEventListener("focusin", (event) => {
    const t = target(event);
    if (!t) return;
    if (t.classList.contains("nv-bar")) {
      bars.forEach((b) => { b.tabIndex = b === t ? 0 : -1; });
    } else {
      filters.forEach((f) => { f.tabIndex = f === t ? 0 : -1; });
    }
    show(Number(t.dataset.h), t.dataset.c === undefined ? null : Number(t.dataset.c));
  });
  fig.addEventListener("focusout", (event) => {
    if (!event.relatedTarget || !fig.contains(event.relatedTarget)) rest();
  });
  fig.addEventListener("click", (event) => {
    const t = target(event);
    if (t) pin(Number(t.dataset.h));
  });

  attachLoupe(charts, ".nv-bar", {
    rows: 1, cols: 5,
    pos: (b) => [Number(b.dataset.c), Number(b.dataset.h)],
    pick: (b) => {
      const h = Number(b.dataset.h);
      if (pinned !== h) pin(h);
      show(h, Number(b.dataset.c));
    },
    content: (b, button) => {
      const h = Number(b.dataset.h), c = Number(b.dataset.c);
      button.textContent = `${unitName(h)}\n${fmt(weight(h, c))}`;
      button.setAttribute("aria-label", `${unitName(h)} ${fmt(weight(h, c))}, ${S.class || "class"} ${classes[c] ?? c}`);
      button.classList.add(b.classList.contains("pos") ? "loupe-pos" : "loupe-neg");
    },
  });

  // arrow keys: bars form a grid (class x hidden neuron); pictures a row
  charts.addEventListener("keydown", (event) => {
    const t = event.target.closest(".nv-bar");
    if (!t) return;
    let h = Number(t.dataset.h), c = Number(t.dataset.c);
    const move = {ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1],
                  Home: [-h, 0], End: [H - 1 - h, 0]}[event.key];
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      pin(h);
      return;
    }
    if (!move) return;
    event.preventDefault();
    h = Math.max(0, Math.min(H - 1, h + move[0]));
    c = Math.max(0, Math.min(C - 1, c + move[1]));
    bar(h, c).focus();
  });
  fig.querySelector(".nv-hidden-filters").addEventListener("keydown", (event) => {
    const t = event.target.closest(".nv-filter");
    if (!t) return;
    const h = Number(t.dataset.h);
    const next = {ArrowLeft: h - 1, ArrowUp: h - 1, ArrowRight: h + 1, ArrowDown: h + 1, Home: 0, End: H - 1}[event.key];
    if (next === undefined) return;
    event.preventDefault();
    filters[Math.max(0, Math.min(H - 1, next))].focus();
  });
  fig.classList.add("nv-ready");
}

setupEach(document.querySelectorAll('.nv-hidden[data-demo="hidden"]'), setup);
