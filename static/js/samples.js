/* samples.js: test images and data files of the build, for the analysis demos (an ES module).
 *
 *   import {loadSamples, loadJSON, loadImage, cropTile, percent, rovingGrid} from "../../js/samples.js";
 *   (from static/demos/NAME/demo.js; paths below are relative to site/data/, found from this file's own
 *   URL, so it works from any page.)
 *
 *   loadSamples(dataset)  Promise of the sample sprite data/<dataset>/samples.{png,json}:
 *       s.has(i)            whether test image i (index in the official test order) is in the sprite
 *       s.label(i)          its true class (int), s.classes its dataset's class names, s.tile its size
 *       s.canvas(i, alt)    a new <canvas class="sample"> holding image i at its own size (tile x tile);
 *                           CSS scales it (pixelated). Missing images give an empty canvas with
 *                           class "missing". `alt` becomes its aria-label (role="img").
 *   loadJSON(path)        Promise of data/<path> parsed (fetched once per page)
 *   loadImage(path)       Promise of a decoded <img> of data/<path> (loaded once per page)
 *   cropTile(img, tile, row, col, alt)
 *                         a new <canvas class="sample"> with the tile at (row, col) of a tiled
 *                         picture, e.g. data/<model>/cell-means.png (tile = its width / 10)
 *   percent(p, digits=1)  "97.3%"; ">99.9%" / "<0.1%" rather than rounding to 100% or 0%
 *   rovingGrid(root, selector, {onFocus, onActivate})
 *                         keyboard grid over root's cells matching selector, each carrying data-i
 *                         (row) and data-j (column): one cell is in the tab order (tabindex 0),
 *                         arrow keys / Home / End (Ctrl: first / last row) move focus, Enter and
 *                         Space call onActivate(cell); onFocus(cell) runs on every focus, by key,
 *                         click or tap. Returns {current(cell)} to move the tab stop.
 */

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

export function loadSamples(dataset) {
  return once("samples:" + dataset, async () => {
    const [meta, img] = await Promise.all([loadJSON(`${dataset}/samples.json`),
                                           loadImage(`${dataset}/samples.png`)]);
    const slot = new Map(meta.index.map((t, k) => [t, k]));
    const t = meta.tile;
    return {
      tile: t,
      classes: meta.classes,
      has: (i) => slot.has(i),
      label: (i) => (slot.has(i) ? meta.labels[slot.get(i)] : null),
      canvas(i, alt) {
        const k = slot.get(i);
        if (k === undefined) return tileCanvas(null, t, 0, 0, alt);
        return tileCanvas(img, t, (k % meta.cols) * t, Math.floor(k / meta.cols) * t, alt);
      },
    };
  });
}

export function percent(p, digits = 1) {
  const s = (100 * p).toFixed(digits);
  if (p < 1 && Number(s) >= 100) return ">" + (100 - 10 ** -digits).toFixed(digits) + "%";
  if (p > 0 && Number(s) <= 0) return "<" + (10 ** -digits).toFixed(digits) + "%";
  return s + "%";
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
