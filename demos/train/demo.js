/* The training lab (demos/train): the DOM side. Python trains (adapter.py in the worker), JS draws.
 *
 * Loop: Start -> fetch data/train/mnist.{json,bin} once (with progress) -> train.load -> train.reset
 * -> train.step(n) again and again, n chosen so one call takes ~STEP_MS, repainting after each;
 * Pause stops calling, Resume calls again, Reset (or any changed setting) drops the run.
 * Colours: weight pictures in the site's palette (static/js/paint.js, as the static figures),
 * the curves in the page's --pos / --neg.
 * Hooks for tests and benchmarks: fig.dataset.{state, epoch, steps, images, acc}, and
 * fig.trainLab = {options(), stepTimes, paintTimes} (durations in ms).
 */
import {pct} from "../../js/format.js";
import {paintImage} from "../../js/paint.js";

const STEP_MS = 60;          // work per worker call: short enough to pause at once, long enough to keep busy
const PAINT_MS = 100;        // repaint at most this often (and at every epoch's end): the main thread stays free
const MAX_EPOCHS = 200;
let shared = null;           // the data fetch, shared by every lab on the page

function fmt(template, values) {
  return template.replace(/\{(\w+)\}/g, (m, k) => (k in values ? values[k] : m));
}

/** Paint one unit's weights w (784 numbers) into a 28x28 canvas with the site's palette (paint.js):
 *  grey, lowest black and highest white (templates, as the static softmax figures), or diverging,
 *  scaled by the largest |w| (hidden filters, as the static PNGs). */
function paintUnit(canvas, w, style) {
  if (style !== "grey") return paintImage(canvas, w, {w: 28, h: 28, style: "diverging"});
  let lo = Infinity, hi = -Infinity;
  for (const v of w) { if (v < lo) lo = v; if (v > hi) hi = v; }
  const span = hi - lo;
  paintImage(canvas, Array.from(w, (v) => (span > 0 ? (v - lo) / span : 0.5)), {w: 28, h: 28, style: "grey"});
}

function paintPixels(canvas, x) {
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = Math.round(255 * (1 - x[i]));       // ink dark on a light ground
    img.data.set([v, v, v, 255], 4 * i);
  }
  ctx.putImageData(img, 0, 0);
}

/** A line chart of per-epoch series [{values, colour, dash}] on a canvas, y from lo to hi. */
function drawChart(canvas, series, {lo, hi, label, colours}) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 320, h = canvas.clientHeight || 180;
  if (canvas.width !== Math.round(w * dpr)) { canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr); }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const pad = {l: 40, r: 8, t: 8, b: 22};
  const n = Math.max(2, ...series.map((s) => s.values.length));
  const X = (i) => pad.l + (w - pad.l - pad.r) * (i / (n - 1));
  const Y = (v) => pad.t + (h - pad.t - pad.b) * (1 - (v - lo) / ((hi - lo) || 1));
  ctx.strokeStyle = colours.border; ctx.fillStyle = colours.muted; ctx.lineWidth = 1;
  ctx.font = "11px system-ui, sans-serif";
  ctx.beginPath(); ctx.moveTo(pad.l, pad.t); ctx.lineTo(pad.l, h - pad.b); ctx.lineTo(w - pad.r, h - pad.b); ctx.stroke();
  ctx.textAlign = "right";
  for (const v of [lo, (lo + hi) / 2, hi]) ctx.fillText(label(v), pad.l - 4, Y(v) + 4);
  ctx.textAlign = "center";
  ctx.fillText(String(n), X(n - 1), h - 6);
  ctx.fillText("1", X(0), h - 6);
  ctx.lineWidth = 2;
  for (const s of series) {
    ctx.strokeStyle = s.colour; ctx.setLineDash(s.dash || []);
    ctx.beginPath();
    s.values.forEach((v, i) => (i ? ctx.lineTo(X(i), Y(v)) : ctx.moveTo(X(i), Y(v))));
    if (s.values.length === 1) ctx.arc(X(0), Y(s.values[0]), 2, 0, 7);
    ctx.stroke();
  }
  ctx.setLineDash([]);
}

async function fetchData(root, onProgress) {
  const manifest = await (await fetch(root + "data/train/mnist.json")).json();
  const response = await fetch(root + "data/train/" + manifest.file);
  if (!response.ok) throw new Error(`data/train/${manifest.file}: HTTP ${response.status}`);
  const bytes = new Uint8Array(manifest.bytes);
  const reader = response.body.getReader();
  let at = 0;
  for (;;) {
    const {done, value} = await reader.read();
    if (done) break;
    if (at + value.length > bytes.length) throw new Error(`data/train/${manifest.file}: more than the manifest's ${manifest.bytes} bytes`);
    bytes.set(value, at);
    at += value.length;
    onProgress(at / manifest.bytes);
  }
  if (at !== manifest.bytes) throw new Error(`data/train/${manifest.file}: ${at} bytes, expected ${manifest.bytes}`);
  return {manifest, bytes};
}

function setup(fig) {
  const S = JSON.parse(fig.dataset.strings || "{}");
  const root = fig.dataset.root || "./";
  const q = (sel) => fig.querySelector(sel);
  const form = q(".train-settings");
  const runBtn = q('[data-action="run"]'), resetBtn = q('[data-action="reset"]');
  const status = q(".train-status"), bar = q(".train-progress");
  const unitsBox = q(".train-units");
  const l2Steps = fig.dataset.l2Steps.split(",").map(Number);
  const lrSteps = fig.dataset.lrSteps.split(",").map(Number);
  const lab = {stepTimes: [], paintTimes: [], options};
  fig.trainLab = lab;
  let loaded = null, hasRun = false, running = false, busy = false, last = null, selected = 0;
  let speed = {images: 0, t: 0};

  function options() {
    const el = form.elements;
    return {hidden: Number(el.hidden.value), size: Number(el.size.value), l2: l2Steps[Number(el.l2.value)],
            lr: lrSteps[Number(el.lr.value)], scramble: el.scramble.checked, seed: 0};
  }
  function say(text) { status.removeAttribute("data-runtime-status"); status.textContent = text; }
  function setState(state) {
    fig.dataset.state = state;
    runBtn.textContent = state === "running" ? S.pause : hasRun && last && last.steps ? S.resume : S.start;
    runBtn.setAttribute("aria-pressed", String(state === "running"));
  }
  let palette = null;          // read from CSS once, again when the colour scheme changes
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => { palette = null; });
  function colours() {
    const css = getComputedStyle(fig), v = (name, d) => css.getPropertyValue(name).trim() || d;
    palette = palette || {posCss: v("--pos", "#c0392b"), negCss: v("--neg", "#1f6fb8"),
                          border: v("--border", "#999"), muted: v("--muted", "#666")};
    return palette;
  }

  function units(n, hidden) {
    if (unitsBox.children.length === n && unitsBox.dataset.hidden === String(hidden)) return;
    unitsBox.replaceChildren();
    unitsBox.dataset.hidden = String(hidden);
    selected = Math.min(selected, n - 1);
    for (let k = 0; k < n; k++) {
      const b = document.createElement("button");          // inspect: click, tap or Enter enlarges it
      b.type = "button";
      b.setAttribute("aria-label", fmt(hidden ? S.unit_h : S.unit_0, {k: hidden ? k + 1 : k}));
      b.title = b.getAttribute("aria-label");
      b.setAttribute("aria-pressed", String(k === selected));
      b.addEventListener("click", () => select(k));
      const c = document.createElement("canvas");
      c.width = c.height = 28;
      c.setAttribute("aria-hidden", "true");               // the button's label names the picture
      b.appendChild(c);
      unitsBox.appendChild(b);
    }
    q(".train-units-title").textContent = hidden ? fmt(S.units_h, {n}) : S.units_0;
    q(".train-legend").textContent = hidden ? S.legend_div : S.legend_grey;
  }

  function select(k) {
    selected = k;
    [...unitsBox.children].forEach((b, j) => b.setAttribute("aria-pressed", String(j === k)));
    if (last) paintBig(last);
  }

  function paintBig(view) {
    const b = unitsBox.children[selected];
    if (!b || !view.w[selected]) return;
    paintUnit(q(".train-big canvas"), view.w[selected], view.options.hidden ? "div" : "grey");
    q(".train-big figcaption").textContent = b.getAttribute("aria-label");
    q(".train-big").hidden = false;
  }

  function paint(view) {
    const t0 = performance.now();
    const hidden = view.options.hidden, col = colours();
    units(view.w.length, hidden);
    view.w.forEach((w, k) => paintUnit(unitsBox.children[k].firstChild, w, hidden ? "div" : "grey"));
    paintBig(view);
    const h = view.history, count = (k, v) => { q(`[data-count="${k}"]`).textContent = v; };
    count("epoch", String(view.epoch));
    count("images", view.images.toLocaleString(document.documentElement.lang || "en"));
    count("acc", h.test_acc.length ? pct(h.test_acc[h.test_acc.length - 1]) : "–");
    const train = col.negCss, test = col.posCss;
    const losses = h.train_loss.concat(h.test_loss);
    drawChart(q('[data-chart="loss"]'), [{values: h.train_loss, colour: train}, {values: h.test_loss, colour: test, dash: [5, 3]}],
              {lo: 0, hi: Math.max(0.5, ...losses), label: (v) => v.toFixed(2), colours: col});
    const accs = h.train_acc.concat(h.test_acc);
    drawChart(q('[data-chart="acc"]'), [{values: h.train_acc, colour: train}, {values: h.test_acc, colour: test, dash: [5, 3]}],
              {lo: Math.min(0.5, ...accs), hi: 1, label: (v) => Math.round(v * 100) + "%", colours: col});
    Object.assign(fig.dataset, {epoch: view.epoch, steps: view.steps, images: view.images,
                                acc: h.test_acc.length ? h.test_acc[h.test_acc.length - 1] : ""});
    lab.paintTimes.push(performance.now() - t0);
  }

  async function ensureData() {
    if (loaded) return loaded;
    bar.hidden = false;
    say(fmt(S.data_loading, {percent: "0%"}));
    const progress = (f) => { bar.value = f; say(fmt(S.data_loading, {percent: Math.round(f * 100) + "%"})); };
    shared = shared || fetchData(root, progress);
    shared.catch(() => { shared = null; });          // a later Start may try again
    const data = await shared;
    bar.hidden = true;
    await nnviz.ready;
    await nnviz.call("train.load", [data.bytes, data.manifest]);
    const ex = await nnviz.call("train.scrambled_example", [0]);
    paintPixels(q('[data-example="plain"]'), ex.plain);
    paintPixels(q('[data-example="scrambled"]'), ex.scrambled);
    loaded = data;
    return data;
  }

  async function loop() {
    let n = 1, painted = 0;
    while (running) {
      const t0 = performance.now();
      const view = await nnviz.call("train.step", [fig.id, n, form.elements.unscramble.checked]);
      const dt = performance.now() - t0;
      lab.stepTimes.push(dt);
      if (!hasRun) return;                     // reset while the call was under way
      last = view;
      const now = performance.now();
      if (speed.t && now > speed.t) {
        const rate = (view.images - speed.images) / ((now - speed.t) / 1000);
        q('[data-count="speed"]').textContent = Math.round(rate).toLocaleString();
      }
      speed = {images: view.images, t: now};
      if (view.epoch_done || !running || now - painted >= PAINT_MS) { paint(view); painted = now; }
      n = Math.max(1, Math.min(view.batches, Math.round(n * STEP_MS / Math.max(dt, 1))));
      if (view.epoch >= MAX_EPOCHS) running = false;
    }
    setState(hasRun ? "paused" : "idle");
    if (hasRun) say(S.paused);
  }

  async function toggle() {
    if (busy) return;
    if (running) { running = false; return; }
    busy = true;
    try {
      await ensureData();
      if (!hasRun) {
        last = await nnviz.call("train.reset", [fig.id, options()]);
        hasRun = true;
        paint(last);
      }
      running = true;
      speed = {images: last.images, t: 0};
      setState("running");
      say(S.running);
    } catch (e) {
      say(fmt(S.failed, {error: e.message}));
      fig.dataset.state = "failed";
      return;
    } finally {
      busy = false;
    }
    loop().catch((e) => { running = false; say(fmt(S.failed, {error: e.message})); fig.dataset.state = "failed"; });
  }

  function reset(message) {
    running = false;
    hasRun = false;
    last = null;
    for (const k of ["epoch", "images"]) q(`[data-count="${k}"]`).textContent = "0";
    for (const k of ["speed", "acc"]) q(`[data-count="${k}"]`).textContent = "–";
    for (const c of unitsBox.querySelectorAll("canvas")) c.getContext("2d").clearRect(0, 0, 28, 28);
    q(".train-big").hidden = true;
    for (const c of fig.querySelectorAll(".train-chart")) c.getContext("2d").clearRect(0, 0, c.width, c.height);
    Object.assign(fig.dataset, {epoch: 0, steps: 0, images: 0, acc: ""});
    setState("idle");
    say(message);
  }

  function showOptions() {
    const el = form.elements, o = options();
    el["l2-out"].value = String(o.l2);
    el["lr-out"].value = String(o.lr);
    q(".train-scrambled").hidden = !o.scramble;
    q(".train-unscramble").hidden = !o.scramble;
    units(o.hidden || 10, o.hidden);
  }

  form.addEventListener("input", (e) => {
    showOptions();
    if (e.target.name === "unscramble") {          // a view choice: the run goes on
      if (hasRun && !running) nnviz.call("train.view", [fig.id, e.target.checked]).then(paint);
      return;
    }
    if (hasRun || running) reset(S.changed);
  });
  runBtn.addEventListener("click", toggle);
  resetBtn.addEventListener("click", () => reset(S.ready));
  showOptions();
  setState("idle");
  nnviz.ready.then(() => { runBtn.disabled = false; resetBtn.disabled = false; say(S.ready); fig.dataset.state = "idle"; },
                   (e) => { say(fmt(S.failed, {error: e.message})); fig.dataset.state = "failed"; });
}

for (const fig of document.querySelectorAll('[data-live-demo="train"]')) setup(fig);
