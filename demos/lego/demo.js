/* The Lego-block test (demos/lego/partial.html): enlarging a hidden neuron.
 *
 * The cards and the heat map are static HTML. This file adds one thing: a picture (a .nnv-zoom
 * button) or a heat-map cell opens that neuron's input weights enlarged in the figure's <dialog>,
 * with its name and its weight into the digit (click, tap, Enter or Space; Escape, the Close
 * button or a click beside the dialog closes it, and focus goes back to what opened it).
 * Heat-map cells form one keyboard grid (arrow keys, Home/End); a finger's tap on one opens the
 * loupe (static/js/loupe.js) first, whose 44 px buttons open the neuron. Names, weights and texts come
 * from data-* attributes the build wrote; nothing is computed here.
 * With strips (data-strips), hovering, focusing or tapping a picture also shows the test images
 * that excite its neuron most and least (samples.js pickStrips).
 */
import {pickStrips, rovingGrid, setupEach} from "../../js/samples.js";
import {attachLoupe} from "../../js/loupe.js";

function fill(text, values) {
  return text.replace(/\{(\w+)\}/g, (m, k) => (k in values ? values[k] : m));
}

function setup(fig) {
  const S = JSON.parse(fig.dataset.strings || "{}");
  const classes = JSON.parse(fig.dataset.classes || "[]");
  const dialog = fig.querySelector("dialog.nnv-zoomed");
  if (!dialog || typeof dialog.showModal !== "function") return;
  const img = dialog.querySelector(".nnv-zoomed-img");
  let opener = null;

  function open(el) {
    img.src = `${fig.dataset.pictures}${el.dataset.unit}.png`;
    const d = classes[Number(el.dataset.digit)] ?? el.dataset.digit;
    dialog.querySelector(".nnv-zoomed-title").textContent = el.dataset.name;
    dialog.querySelector(".nnv-zoomed-w").textContent = fill(S.weight_into || "", {d, w: el.dataset.weight});
    img.alt = el.querySelector("img")?.alt || el.title || el.dataset.name;   // the picture's own text
    opener = el;
    dialog.showModal();
    dialog.querySelector(".nnv-zoomed-close").focus();
  }

  dialog.addEventListener("close", () => {
    if (opener && opener.isConnected) opener.focus();
    opener = null;
  });
  dialog.querySelector(".nnv-zoomed-close").addEventListener("click", () => dialog.close());
  dialog.addEventListener("click", (e) => { if (e.target === dialog) dialog.close(); });   // the backdrop

  for (const b of fig.querySelectorAll(".nnv-zoom")) b.addEventListener("click", () => open(b));
  const heat = fig.querySelector(".nnv-heat");
  if (heat) {
    rovingGrid(heat, "td.nnv-hc", {onActivate: open});
    let touch = false;
    heat.addEventListener("pointerdown", (e) => { touch = e.pointerType === "touch"; });
    heat.addEventListener("click", (e) => {
      const cell = e.target.closest("td.nnv-hc");
      if (cell && !touch) open(cell);   // a finger gets the loupe first: on a phone a cell is narrower than it
    });
    attachLoupe(heat, "td.nnv-hc", {pick: open, heads: {row: (i) => classes[i] ?? i, col: (j) => j + 1}});
  }
}

setupEach(document.querySelectorAll("figure.nnv-lego"), setup);
for (const fig of document.querySelectorAll(".nnv-lego[data-strips]")) {
  pickStrips(fig, ".nnv-pick", fig.querySelector(".nnv-lego-grid"));
}
