/* samples.js: test images and data files of the build, for the analysis demos (an ES module).
 *
 *   import {loadSamples, loadJSON, loadImage, cropTile, rovingGrid} from "../../js/samples.js";
 *   (from static/demos/NAME/demo.js; percentages: format.js; paths below are relative to site/data/, found from this file's own
 *   URL, so it works from any page.)
 *
 *   loadSamples(dataset, near, margin)  Promise of the sample sprite data/<dataset>/samples.{png,json};
 *                         with an element `near`, fetched only once that element is within `margin`
 *                         px of the viewport (nearView)
 *       s.has(i)            whether test image i (index in the official test order) is in the sprite
 *       s.label(i)          its true class (int), s.classes its dataset's class names, s.tile its size
 *       s.canvas(i, alt)    a new <canvas class="sample"> holding image i at its own size (tile x tile);
 *                           CSS scales it (pixelated). Missing images give an empty canvas with
 *                           class "missing". `alt` becomes its aria-label (role="img").
 *       s.pixels(i)         image i's first channel as a Float64Array of tile * tile values in [0, 1]
 *       s.index             the test indices in the sprite, in sprite order (s.index[slot])
 *   loadJSON(path)        Promise of data/<path> parsed (fetched once per page)
 *   loadImage(path)       Promise of a decoded <img> of data/<path> (loaded once per page)
 *   cropTile(img, tile, row, col, alt)
 *                         a new <canvas class="sample"> with the tile at (row, col) of a tiled
 *                         picture, e.g. data/<model>/cell-means.png (tile = its width / 10)
 *   loadStrips(model)     Promise of data/<model>/neurons.{json,png} (what each hidden neuron answers to):
 *       st.has(layer, unit)  whether that neuron (layer 1-based) has a strip
 *       st.strip(layer, unit, S)  a new <div class="nv-strip"> with the K test images of highest z
 *                           (each with its activation) and the K of lowest z (each with z), from
 *                           S.strip_top, S.strip_bottom, S.strip_img ("{i}", "{v}"), S.strip_note
 *   stripPanel(box, st, layer, unit, S, picture, name)
 *                         fills box with a copy of the neuron's weight picture, its name and its
 *                         strip (empties it for unit null); redraws only when the neuron changes
 *   pickStrips(fig, selector, grid)
 *                         makes fig's buttons matching selector (data-unit, data-name, an <img> of
 *                         the neuron's weights) show their layer-1 strip in fig's .nv-strip-box on
 *                         hover, focus or tap; a tap or Enter/Space pins one (aria-pressed), again
 *                         releases it. Strings: fig's data-strings; model: fig's data-strips.
 *   nearView(el, margin)  Promise that resolves once el is within margin (300) px of the viewport:
 *                         what a demo needs only for the reader's eyes (sprites, hover strips) waits for
 *                         it, so a first visit neither downloads nor draws what is far away. A demo
 *                         whose panel grows when its pictures come asks from further (ANALYSIS_MARGIN)
 *   setupEach(els, setup) setup(el) for each element, each in a task of its own: the demos' set-up
 *                         ran in the one task that ran every module, ~100 ms while the runtime starts
 *   inSlices(items, fn)   fn(item) for each item, yielding to the event loop every ~10 ms (Promise):
 *                         building many canvases never blocks the page for a long task (> 50 ms)
 *   rovingGrid(root, selector, {onFocus, onActivate})
 *                         keyboard grid over root's cells matching selector, each carrying data-i
 *                         (row) and data-j (column): one cell is in the tab order (tabindex 0),
 *                         arrow keys / Home / End (Ctrl: first / last row) move focus, Enter and
 *                         Space call onActivate(cell); onFocus(cell) runs on every focus, by key,
 *                         click or tap. Returns {current(cell)} to move the tab stop.
 */

import {fixed} from "./format.js";

const DATA = new URL("../../data/", import.meta.url);
const cache = new Map();

function once(key, make) {
  if (!cache.has(key)) cache.set(key, make());
  return cache.get(key);
}

export function dataURL(path) {
  return new URL(path, DATA).href;
}

export function loadJSON(path) {
  return once("json:" + path, async () => {
    const response = await fetch(dataURL(path));
    if (!response.ok) throw new Error(`data/${path}: HTTP ${response.status}`);
    return response.json();
  });
}

export function loadImage(path) {
  return once("img:" + path, async () => {
    const img = new Image();
    img.src = dataURL(path);
    await img.decode();
    return img;
  });
}

function tileCanvas(img, tile, sx, sy, alt) {
  const canvas = document.createElement("canvas");
  canvas.className = "sample";
  canvas.width = canvas.height = tile;
  canvas.setAttribute("role", "img");
  if (alt) canvas.setAttribute("aria-label", alt);
  if (img) {
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(img, sx, sy, tile, tile, 0, 0, tile, tile);
  } else {
    canvas.classList.add("missing");
  }
  return canvas;
}

export function cropTile(img, tile, row, col, alt) {
  return tileCanvas(img, tile, col * tile, row * tile, alt);
}

export const ANALYSIS_MARGIN = 1000;   // px: about a screen ahead, so the pictures are in before the reader

export function nearView(el, margin = 300) {
  if (!el || !("IntersectionObserver" in window)) return Promise.resolve();
  return new Promise((resolve) => {
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) { observer.disconnect(); resolve(); }
    }, {rootMargin: `${margin}px 0px`});
    observer.observe(el);
  });
}

export function setupEach(els, setup) {
  for (const el of els) setTimeout(() => setup(el), 0);
}

export async function inSlices(items, fn) {
  let t0 = performance.now();
  for (const item of items) {
    fn(item);
    if (performance.now() - t0 > 10) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      t0 = performance.now();
    }
  }
}

export async function loadSamples(dataset, near, margin) {
  if (near) await nearView(near, margin);
  return once("samples:" + dataset, async () => {
    const [meta, img] = await Promise.all([loadJSON(`${dataset}/samples.json`),
                                           loadImage(`${dataset}/samples.png`)]);
    const slot = new Map(meta.index.map((t, k) => [t, k]));
    const t = meta.tile;
    let scratch = null;
    return {
      tile: t,
      classes: meta.classes,
      index: meta.index,
      has: (i) => slot.has(i),
      label: (i) => (slot.has(i) ? meta.labels[slot.get(i)] : null),
      canvas(i, alt) {
        const k = slot.get(i);
        if (k === undefined) return tileCanvas(null, t, 0, 0, alt);
        return tileCanvas(img, t, (k % meta.cols) * t, Math.floor(k / meta.cols) * t, alt);
      },
      pixels(i) {
        const k = slot.get(i);
        scratch = scratch || document.createElement("canvas").getContext("2d", {willReadFrequently: true});
        scratch.canvas.width = scratch.canvas.height = t;
        if (k !== undefined) scratch.drawImage(img, (k % meta.cols) * t, Math.floor(k / meta.cols) * t, t, t, 0, 0, t, t);
        const rgba = scratch.getImageData(0, 0, t, t).data;
        return Float64Array.from({length: t * t}, (_, p) => rgba[4 * p] / 255);
      },
    };
  });
}

export function loadStrips(model) {
  return once("strips:" + model, async () => {
    const [meta, img] = await Promise.all([loadJSON(`${model}/neurons.json`), loadImage(`${model}/neurons.png`)]);
    const row = new Map(meta.neurons.map((n, r) => [`${n.layer},${n.unit}`, r]));
    const fill = (text, d) => String(text || "").replace(/\{(\w+)\}/g, (m, k) => (k in d ? d[k] : m));
    const list = (r, offset, pairs, S) => {
      const ol = document.createElement("ol");
      ol.className = "nv-strip-row";
      pairs.forEach(([t, v], c) => {
        const li = document.createElement("li");
        const value = fixed(v, Math.abs(v) >= 10 ? 1 : 2);
        const canvas = cropTile(img, meta.tile, r, offset + c, fill(S.strip_img, {i: t, v: value}));
        canvas.dataset.index = String(t);
        const span = document.createElement("span");
        span.textContent = value;
        span.setAttribute("aria-hidden", "true");
        li.append(canvas, span);
        ol.append(li);
      });
      return ol;
    };
    const para = (cls, text) => {
      const p = document.createElement("p");
      p.className = cls;
      p.textContent = text;
      return p;
    };
    return {
      has: (layer, unit) => row.has(`${layer},${unit}`),
      strip(layer, unit, S) {
        const r = row.get(`${layer},${unit}`);
        const n = meta.neurons[r];
        const div = document.createElement("div");
        div.className = "nv-strip";
        div.dataset.layer = String(layer);
        div.dataset.unit = String(unit);
        div.append(para("nv-strip-title", S.strip_top), list(r, 0, n.top, S),
                   para("nv-strip-title", S.strip_bottom), list(r, meta.k, n.bottom, S),
                   para("nv-strip-note", S.strip_note));
        return div;
      },
    };
  });
}

export function stripPanel(box, st, layer, unit, S, picture, name) {
  const key = unit === null || !st.has(layer, unit) ? "" : `${layer},${unit}`;
  if (box.dataset.shown === key) return;
  box.dataset.shown = key;
  box.replaceChildren();
  if (!key) return;
  if (picture || name) box.append(stripHead(picture, name));
  box.append(st.strip(layer, unit, S));
}

function stripHead(picture, name) {
  const head = document.createElement("p");
  head.className = "nv-strip-head";
  if (picture) {
    const copy = picture.cloneNode();
    copy.className = "nv-strip-pic";
    copy.alt = "";
    head.append(copy);
  }
  head.append(document.createTextNode(name || ""));
  return head;
}

export function pickStrips(fig, selector, grid) {
  const S = JSON.parse(fig.dataset.strings || "{}");
  const picks = [...fig.querySelectorAll(selector)];
  const box = fig.querySelector(".nv-strip-box");
  const strips = nearView(fig).then(() => loadStrips(fig.dataset.strips));   // a hover brings it near
  let pinned = null, active = null;
  const show = (b) => {
    active = b;
    fig.dataset.active = b ? b.dataset.unit : "";
    strips.then((st) => {
      if (active !== b) return;                        // the reader moved on meanwhile
      stripPanel(box, st, 1, b ? Number(b.dataset.unit) : null, S, b && b.querySelector("img"), b ? b.dataset.name : "");
    }, (e) => console.error(`${fig.id}: neuron strips:`, e));
  };
  const pick = (t) => (t && t.closest && fig.contains(t) && t.closest(selector)) || null;
  fig.addEventListener("pointerover", (e) => { if (pick(e.target) && e.pointerType !== "touch") show(pick(e.target)); });
  grid.addEventListener("pointerleave", () => { if (!pick(document.activeElement)) show(pinned); });
  fig.addEventListener("focusin", (e) => { if (pick(e.target)) show(pick(e.target)); });
  fig.addEventListener("focusout", (e) => { if (!pick(e.relatedTarget)) show(pinned); });
  fig.addEventListener("click", (e) => {
    const b = pick(e.target);
    if (!b) return;
    pinned = pinned === b ? null : b;
    picks.forEach((p) => p.setAttribute("aria-pressed", String(p === pinned)));
    show(pinned || b);
  });
}

export function rovingGrid(root, selector, {onFocus, onActivate} = {}) {
  const cells = [...root.querySelectorAll(selector)];
  const at = new Map(cells.map((c) => [`${c.dataset.i},${c.dataset.j}`, c]));
  const rows = Math.max(...cells.map((c) => +c.dataset.i)) + 1;
  const cols = Math.max(...cells.map((c) => +c.dataset.j)) + 1;
  const current = (cell) => cells.forEach((c) => { c.tabIndex = c === cell ? 0 : -1; });
  if (!cells.some((c) => c.tabIndex === 0) && cells.length) current(cells[0]);

  root.addEventListener("keydown", (e) => {
    const cell = e.target.closest && e.target.closest(selector);
    if (!cell || !at.has(`${cell.dataset.i},${cell.dataset.j}`)) return;
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      if (onActivate) onActivate(cell);
      return;
    }
    let i = +cell.dataset.i, j = +cell.dataset.j;
    switch (e.key) {
      case "ArrowUp": i -= 1; break;
      case "ArrowDown": i += 1; break;
      case "ArrowLeft": j -= 1; break;
      case "ArrowRight": j += 1; break;
      case "Home": j = 0; if (e.ctrlKey) i = 0; break;
      case "End": j = cols - 1; if (e.ctrlKey) i = rows - 1; break;
      default: return;
    }
    e.preventDefault();
    const next = at.get(`${Math.min(rows - 1, Math.max(0, i))},${Math.min(cols - 1, Math.max(0, j))}`);
    if (next && next !== cell) next.focus();
  });
  root.addEventListener("focusin", (e) => {
    const cell = e.target.closest && e.target.closest(selector);
    if (!cell || !at.has(`${cell.dataset.i},${cell.dataset.j}`)) return;
    current(cell);
    if (onFocus) onFocus(cell);
  });
  return {current};
}
