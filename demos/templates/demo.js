/* Weights as templates (demos/templates/partial.html).
 *
 * The template grid works without the runtime: choosing a template (click, tap, arrow keys)
 * enlarges it. The dot-product view asks the Python adapter (demos/templates/adapter.py, in the
 * browser runtime as nnviz.demos.templates) for the standardised image, the products w*x and the
 * sums z of the model's own forward pass; this file only draws them.
 * Choosing a new test image selects its winning class; any class can then be chosen by its row.
 */
import {ANALYSIS_MARGIN, loadJSON, loadSamples, nearView, setupEach} from "../../js/samples.js";
import {fixed as fmt, pct as percent} from "../../js/format.js";
import {paintImage} from "../../js/paint.js";

function strings(el) {
  try { return JSON.parse(el.dataset.strings || "{}"); } catch (e) { return {}; }
}

function signed(v, digits = 2) {
  return (v >= 0 ? "+ " : "− ") + Math.abs(v).toFixed(digits);
}

/* ------------------------------------------------------------ test images from the sample sprite */

/** The dataset's sample sprite: {count, index(slot), label(slot), canvas(slot), pixels(slot)}. */
async function loadSprite(dataset, fig) {
  await nearView(fig, ANALYSIS_MARGIN);    // a screen ahead of the reader, not on every visit
  const [samples, meta] = await Promise.all([loadSamples(dataset), loadJSON(`${dataset}/samples.json`)]);
  return {
    count: meta.index.length,
    slotOf: (testIndex) => meta.index.indexOf(testIndex),
    index: (slot) => meta.index[slot],
    label: (slot) => meta.labels[slot],
    canvas: (slot, alt) => samples.canvas(meta.index[slot], alt),
    /** Raw pixels in [0, 1], row-major (the sprite's PNG holds the dataset's exact bytes);
     *  for RGB data (channels 3) r, g, b of each pixel in turn, the order the models read. */
    pixels(canvas) {
      const rgba = canvas.getContext("2d", {willReadFrequently: true}).getImageData(0, 0, canvas.width, canvas.height).data;
      const ch = meta.channels || 1;
      const out = new Float64Array((rgba.length / 4) * ch);
      for (let i = 0; i < out.length; i++) out[i] = rgba[4 * Math.floor(i / ch) + (i % ch)] / 255;
      return out;
    },
  };
}

/** Paint values (row-major size x size) with the site's diverging palette (paint.js), scaled by `scale`. */
function paintDiverging(canvas, values, scale) {
  paintImage(canvas, values, {style: "diverging", scale});
}

/* RGB models (CIFAR): 3 values per pixel. A picture of the input or of a weight vector is shown
 * as colours (all values scaled together, lowest black, highest full brightness, as in
 * export.rgb_template); the products w*x are added per pixel and drawn with the diverging scale. */
function paintRGB(canvas, values) {
  const n = Math.round(Math.sqrt(values.length / 3));
  canvas.width = canvas.height = n;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(n, n);
  let lo = Infinity, hi = -Infinity;
  for (const v of values) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  for (let i = 0; i < n * n; i++) {
    for (let c = 0; c < 3; c++) img.data[4 * i + c] = Math.round((255 * (values[3 * i + c] - lo)) / (hi - lo || 1));
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

function perPixel(values, channels) {
  if (channels === 1) return values;
  const out = new Float64Array(values.length / channels);
  for (let i = 0; i < values.length; i++) out[Math.floor(i / channels)] += values[i];
  return Array.from(out);
}

function maxAbs(rows) {
  let m = 0;
  for (const row of rows) for (const v of row) m = Math.max(m, Math.abs(v));
  return m || 1;
}

/* ------------------------------------------------------------ the radio groups */

/** Arrow keys move the selection inside a role=radiogroup of buttons (roving tabindex). */
function radioKeys(group, onPick) {
  group.addEventListener("keydown", (event) => {
    const items = [...group.querySelectorAll("[role=radio]")];
    const i = items.indexOf(document.activeElement);
    if (i < 0) return;
    const cols = Math.max(1, Math.round(group.clientWidth / (items[0].offsetWidth || 1)));
    const step = {ArrowRight: 1, ArrowDown: group.classList.contains("nv-dot-bars") ? 1 : cols,
                  ArrowLeft: -1, ArrowUp: group.classList.contains("nv-dot-bars") ? -1 : -cols}[event.key];
    let j = null;
    if (step !== undefined) j = Math.max(0, Math.min(items.length - 1, i + step));
    else if (event.key === "Home") j = 0;
    else if (event.key === "End") j = items.length - 1;
    if (j === null) return;
    event.preventDefault();
    items[j].focus();
    onPick(Number(items[j].dataset.k));
  });
  group.addEventListener("click", (event) => {
    const item = event.target.closest("[role=radio]");
    if (item && group.contains(item)) onPick(Number(item.dataset.k));
  });
}

function check(group, k) {
  for (const item of group.querySelectorAll("[role=radio]")) {
    const on = Number(item.dataset.k) === k;
    item.setAttribute("aria-checked", on ? "true" : "false");
    item.tabIndex = on ? 0 : -1;
  }
}

/* ------------------------------------------------------------ one demo */

function setup(fig) {
  const S = strings(fig);
  const classes = S.classes || [...Array(10).keys()].map(String);
  const root = fig.dataset.root || "./";
  const model = fig.dataset.model;
  const grid = fig.querySelector(".nv-tpl-grid");
  const bigImg = fig.querySelector(".nv-tpl-big-img");
  const bigClass = fig.querySelector(".nv-tpl-big-class");
  const dot = fig.querySelector(".nv-dot");
  const bars = fig.querySelector(".nv-dot-bars");
  const fallback = fig.querySelector(".nv-dot-fallback");
  const which = fig.querySelector(".nv-dot-which");
  const formula = fig.querySelector(".nv-dot-formula");
  let cx = fig.querySelector(".nv-pic-x");
  const ca0 = fig.querySelector(".nv-pic-a0");
  const cw = fig.querySelector(".nv-pic-w"), cwx = fig.querySelector(".nv-pic-wx");

  const state = {k: 0, slot: 0, result: null, weights: null, sprite: null, busy: 0};
  const channels = Number(fig.dataset.channels || 1);
  const paintInput = (canvas, values) => (channels === 3 ? paintRGB(canvas, values) : paintDiverging(canvas, values));

  function select(k) {
    state.k = k;
    check(grid, k);
    check(bars, k);
    const src = `${root}data/${model}/w1/${k}.png`;
    bigImg.src = src;
    bigImg.alt = `${S.alt_one} ${classes[k]}`;
    bigClass.textContent = classes[k];
    const bigMean = fig.querySelector(".nv-tpl-big-mean");     // its class's average training image, beside it
    if (bigMean) {
      bigMean.style.backgroundPosition = `${(100 * k) / 9}% 0`;
      bigMean.dataset.k = String(k);
      bigMean.setAttribute("aria-label", `${S.mean_alt} ${classes[k]}`);
    }
    fig.dataset.selected = String(k);
    if (fallback) fallback.src = src;
    for (const el of fig.querySelectorAll(".nv-dot-k")) el.textContent = classes[k];
    drawClass();
  }

  function drawClass() {
    const r = state.result, k = state.k;
    if (!r) return;
    if (state.weights) {
      if (channels === 3) paintRGB(cw, state.weights.w[k]);
      else paintDiverging(cw, state.weights.w[k], maxAbs([state.weights.w[k]]));
    }
    paintDiverging(cwx, r.pixelProducts[k], r.scale);
    cw.setAttribute("aria-label", `${S.w} ${classes[k]}`);
    cwx.setAttribute("aria-label", `${S.wx} ${classes[k]}`);
    formula.textContent = `z(${classes[k]}) = b + Σ w·x = ${fmt(r.b[k])} ${S.bias} ${signed(r.pos[k])} ${S.pos} `
      + `${signed(r.neg[k])} ${S.neg} = ${fmt(r.z[k])}`;
  }

  function drawSums() {
    const r = state.result;
    const scale = Math.max(...r.z.map(Math.abs)) || 1;
    for (const row of bars.querySelectorAll(".nv-zrow")) {
      const k = Number(row.dataset.k);
      const z = r.z[k];
      const bar = row.querySelector(".nv-zrow-bar");
      const w = (50 * Math.abs(z)) / scale;
      bar.style.setProperty("--nv-w", `${w}%`);
      bar.style.setProperty("--nv-left", z >= 0 ? "50%" : `${50 - w}%`);
      bar.classList.toggle("neg", z < 0);
      const win = k === r.pred;
      row.classList.toggle("winner", win);
      row.querySelector(".nv-zrow-value").textContent = fmt(z);
      row.querySelector(".nv-zrow-p").textContent = `p ${percent(r.probs[k])}`;
      row.setAttribute("aria-label", `${classes[k]}: z = ${fmt(z)}${win ? ", " + S.winner : ""}`);
    }
    fig.dataset.winner = String(r.pred);
  }

  /** Put test image `slot` of the sprite into the x picture (a fresh canvas from samples.js). */
  function drawX(slot) {
    const sprite = state.sprite;
    const label = classes[sprite.label(slot)] ?? sprite.label(slot);
    const canvas = sprite.canvas(slot, `${S.image} #${sprite.index(slot)}, ${S.label} ${label}`);
    canvas.classList.add("nv-pic-x");
    cx.replaceWith(canvas);
    cx = canvas;
    return label;
  }

  async function show(slot) {
    const sprite = state.sprite;
    state.slot = ((slot % sprite.count) + sprite.count) % sprite.count;
    const label = drawX(state.slot);
    const index = sprite.index(state.slot);
    which.textContent = `${S.image} #${index} · ${S.label} ${label}`;
    fig.dataset.index = String(index);
    const mine = ++state.busy;
    dot.classList.add("nv-computing");
    delete fig.dataset.computed;
    try {
      const nn = await runtime();
      if (!nn) return;
      if (!state.weights) state.weights = await nn.call("templates.weights", [nn.model(model)]);
      const r = await nn.call("templates.dot", [nn.model(model), sprite.pixels(cx)]);
      if (mine !== state.busy) return;       // a newer image was chosen meanwhile
      r.pixelProducts = r.products.map((row) => perPixel(row, channels));
      r.scale = maxAbs(r.pixelProducts);
      state.result = r;
      paintInput(ca0, r.a0);
      drawSums();
      select(r.pred);
      fig.dataset.computed = String(index);
    } catch (e) {
      console.warn("templates demo:", e);
      formula.textContent = S.failed;
    } finally {
      if (mine === state.busy) dot.classList.remove("nv-computing");
    }
  }

  select(0);
  radioKeys(grid, select);
  radioKeys(bars, select);
  for (const btn of fig.querySelectorAll(".nv-dot-controls [data-step]")) {
    btn.addEventListener("click", () => {
      if (!state.sprite) return;
      const step = btn.dataset.step;
      const n = state.sprite.count;   // random: any other image of the sprite
      const next = step === "random" ? (state.slot + 1 + Math.floor(Math.random() * (n - 1))) % n : state.slot + Number(step);
      show(next);
    });
  }

  loadSprite(fig.dataset.dataset, fig).then((sprite) => {
    state.sprite = sprite;
    state.slot = Math.max(0, sprite.slotOf(Number(fig.dataset.first)));
    drawX(state.slot);
    // compute once the runtime is up (nnviz.js starts it when the demo nears the viewport)
    runtime(false).then((nn) => nn && nn.ready.then(() => show(state.slot), () => {}));
  }, (e) => console.warn("templates demo: no sample images:", e));
}

/** window.nnviz once present (nnviz.js may run after this module); null if it never appears. */
async function runtime(wait = true) {
  if (!window.nnviz && document.readyState !== "complete") {
    await new Promise((resolve) => window.addEventListener("load", resolve, {once: true}));
  }
  const nn = window.nnviz || null;
  if (nn && wait) await nn.ready;
  return nn;
}

setupEach(document.querySelectorAll('.nv-templates[data-demo="templates"]'), setup);
