// Overfitting curves (demos/overfit): a per-epoch read-out for the server-drawn charts.
// Hover, touch-drag or focus a panel (then Arrow keys / Home / End) to see one epoch's numbers.
// The curves, the accuracy/loss switch and the final numbers all work without this file; the
// per-epoch values come from the panel's data-history (the build's analysis.history).
import {pct} from "../../js/format.js";

const fmt = {
  acc: (v) => pct(v),
  loss: (v) => v.toFixed(3),
};

function placeTip(plot, tip, anchor, text) {
  tip.textContent = text;
  tip.hidden = false;
  const box = plot.getBoundingClientRect();
  const r = anchor.getBoundingClientRect();
  const w = tip.offsetWidth, h = tip.offsetHeight;
  // beside the cursor line, on whichever side has room; vertically near the top of the plot
  let x = r.left - box.left + 12;
  if (x + w > box.width) x = r.left - box.left - w - 12;
  x = Math.max(0, Math.min(x, box.width - w));
  const y = Math.max(0, Math.min(r.top - box.top - h / 2, box.height - h));
  tip.style.left = `${Math.round(x)}px`;
  tip.style.top = `${Math.round(y)}px`;
}

function enhance(fig) {
  if (fig.dataset.enhanced) return;
  fig.dataset.enhanced = "1";
  const L = fig.dataset;
  const view = () => (fig.querySelector('input[value="loss"]:checked') ? "loss" : "acc");
  const panels = [];
  for (const svg of fig.querySelectorAll("svg[data-history]")) {
    const plot = svg.closest(".nnv-plot");
    const tip = plot.querySelector(".nnv-tip");
    const hist = JSON.parse(svg.dataset.history);
    const n = hist.epoch.length;
    const x0 = Number(svg.dataset.x0), x1 = Number(svg.dataset.x1);
    const top = Number(svg.dataset.top), bottom = Number(svg.dataset.bottom);
    const cursor = svg.querySelector(".nnv-cursor");
    const [line, cTrain, cTest] = [cursor.querySelector("line"), cursor.querySelector("circle.nnv-train"),
                                   cursor.querySelector("circle.nnv-test")];
    const panel = {svg, index: null};
    const xAt = (i) => x0 + (x1 - x0) * (n > 1 ? i / (n - 1) : 0);
    const yAt = (v, key) => {
      const lo = Number(svg.dataset[`${key}Lo`]), hi = Number(svg.dataset[`${key}Hi`]);
      return top + (bottom - top) * (hi - v) / (hi - lo);
    };
    panel.show = (i) => {
      i = Math.max(0, Math.min(n - 1, i));
      panel.index = i;
      const key = view();
      const tr = hist[`train_${key}`][i], te = hist[`test_${key}`][i];
      const x = xAt(i).toFixed(1);
      line.setAttribute("x1", x); line.setAttribute("x2", x);
      cTrain.setAttribute("cx", x); cTrain.setAttribute("cy", yAt(tr, key).toFixed(1));
      cTest.setAttribute("cx", x); cTest.setAttribute("cy", yAt(te, key).toFixed(1));
      cursor.classList.add("nnv-on");
      const gap = key === "acc" ? L.lPts.replace("{v}", (100 * (tr - te)).toFixed(1)).replace("\n", " ") : (te - tr).toFixed(3);
      const text = `${L.lEpochN.replace("{e}", hist.epoch[i])}\n${L.lTrain} ${fmt[key](tr)}\n${L.lTest} ${fmt[key](te)}\n${L.lGap} ${gap}`;
      placeTip(plot, tip, cTest.getBBox().width ? cTest : line, text);
      tip.dataset.epoch = hist.epoch[i];
    };
    panel.hide = () => {
      panel.index = null;
      cursor.classList.remove("nnv-on");
      tip.hidden = true;
    };
    const fromEvent = (e) => {
      const ctm = svg.getScreenCTM();
      if (!ctm) return 0;
      const p = new DOMPoint(e.clientX, e.clientY).matrixTransform(ctm.inverse());
      return Math.round((p.x - x0) / (x1 - x0) * (n - 1));
    };
    svg.addEventListener("pointermove", (e) => panel.show(fromEvent(e)));
    svg.addEventListener("pointerdown", (e) => panel.show(fromEvent(e)));
    svg.addEventListener("pointerleave", (e) => {
      if (e.pointerType === "mouse" && document.activeElement !== svg) panel.hide();
    });
    svg.addEventListener("focus", () => panel.show(panel.index ?? n - 1));
    svg.addEventListener("blur", () => panel.hide());
    svg.addEventListener("keydown", (e) => {
      const i = panel.index ?? n - 1;
      const step = {ArrowLeft: -1, ArrowDown: -1, ArrowRight: 1, ArrowUp: 1, PageDown: -10, PageUp: 10}[e.key];
      if (step) panel.show(i + step);
      else if (e.key === "Home") panel.show(0);
      else if (e.key === "End") panel.show(n - 1);
      else if (e.key === "Escape") panel.hide();
      else return;
      e.preventDefault();
    });
    panels.push(panel);
  }
  for (const input of fig.querySelectorAll(".nnv-seg input")) {
    input.addEventListener("change", () => panels.forEach((p) => p.index !== null && p.show(p.index)));
  }
  window.addEventListener("resize", () => panels.forEach((p) => p.index !== null && p.show(p.index)));
}

document.querySelectorAll(".nnv-overfit").forEach(enhance);
