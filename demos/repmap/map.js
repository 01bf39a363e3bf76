/* The representation map's data and geometry: loading a map, a grid index for cheap hit-tests,
 * and painting its regions and dots. No DOM beyond the canvases it is given.
 *
 *   loadMap(name)   Promise of {meta, n, u, v, x, y, label, pred, regions}: u, v in [0, 1] are the
 *                   dot's position in the view (v up), x, y its values (h1, h2 or the PCA
 *                   coordinates) decoded from data/repmap/<name>.bin; regions: Uint8Array of
 *                   GRID x GRID class indices (row 0 at the top), or null.
 *   new Index(map, visible)   visible: Uint8Array(n), 1 = shown; nearest(u, v, r), step(i, du, dv)
 *   paintBase(ctx, map, visible, colours, size)   regions and dots on a size x size canvas
 */
import {dataURL, loadImage, loadJSON} from "../../js/samples.js";

const CELLS = 64;    // the index is CELLS x CELLS buckets over the unit square

export async function loadMap(name) {
  const meta = await loadJSON(`repmap/${name}.json`);
  const response = await fetch(dataURL(`repmap/${meta.file}`));
  if (!response.ok) throw new Error(`data/repmap/${meta.file}: HTTP ${response.status}`);
  const buf = await response.arrayBuffer();
  const n = meta.n;
  if (buf.byteLength !== 6 * n) throw new Error(`data/repmap/${meta.file}: ${buf.byteLength} bytes, expected ${6 * n}`);
  const q = new Uint16Array(buf, 0, 2 * n);
  const [[x0, x1], [y0, y1]] = meta.range;
  const u = new Float32Array(n), v = new Float32Array(n), x = new Float64Array(n), y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    u[i] = q[i] / meta.levels;
    v[i] = q[n + i] / meta.levels;
    x[i] = x0 + u[i] * (x1 - x0);
    y[i] = y0 + v[i] * (y1 - y0);
  }
  const map = {meta, n, u, v, x, y, label: new Uint8Array(buf, 4 * n, n), pred: new Uint8Array(buf, 5 * n, n), regions: null};
  if (meta.regions) map.regions = await loadRegions(meta.regions);
  return map;
}

async function loadRegions({file, size, step}) {
  const img = await loadImage(`repmap/${file}`);
  const ctx = document.createElement("canvas").getContext("2d", {willReadFrequently: true});
  ctx.canvas.width = ctx.canvas.height = size;
  ctx.drawImage(img, 0, 0);
  const rgba = ctx.getImageData(0, 0, size, size).data;
  return Uint8Array.from({length: size * size}, (_, k) => Math.round(rgba[4 * k] / step));
}

/** The region (class) under view position (u, v), or null without regions. */
export function regionAt(map, u, v) {
  if (!map.regions) return null;
  const size = map.meta.regions.size;
  const col = Math.min(size - 1, Math.max(0, Math.floor(u * size)));
  const row = Math.min(size - 1, Math.max(0, Math.floor((1 - v) * size)));
  return map.regions[row * size + col];
}

/** The value (x, y) -> view position (u, v) of a map; may lie outside [0, 1]. */
export function toView(map, x, y) {
  const [[x0, x1], [y0, y1]] = map.meta.range;
  return {u: (x - x0) / (x1 - x0), v: (y - y0) / (y1 - y0)};
}

/** Visible dots in CELLS x CELLS buckets (compressed rows: start[c] .. start[c + 1] in items). */
export class Index {
  constructor(map, visible) {
    this.map = map;
    const cell = (i) => Math.min(CELLS - 1, Math.floor(map.v[i] * CELLS)) * CELLS + Math.min(CELLS - 1, Math.floor(map.u[i] * CELLS));
    const counts = new Uint32Array(CELLS * CELLS + 1);
    for (let i = 0; i < map.n; i++) if (visible[i]) counts[cell(i) + 1]++;
    for (let c = 0; c < CELLS * CELLS; c++) counts[c + 1] += counts[c];
    this.start = counts.slice();
    this.items = new Uint32Array(counts[CELLS * CELLS]);
    const fill = counts.slice();
    for (let i = 0; i < map.n; i++) if (visible[i]) this.items[fill[cell(i)]++] = i;
    this.visible = visible;
    this.count = this.items.length;
  }

  /** The visible dot nearest to (u, v) within distance r (view units), or -1. */
  nearest(u, v, r) {
    const {u: us, v: vs} = this.map;
    const lo = (t) => Math.max(0, Math.floor((t - r) * CELLS)), hi = (t) => Math.min(CELLS - 1, Math.floor((t + r) * CELLS));
    let best = -1, bestD = r * r;
    for (let row = lo(v); row <= hi(v); row++) {
      for (let col = lo(u); col <= hi(u); col++) {
        const c = row * CELLS + col;
        for (let k = this.start[c]; k < this.start[c + 1]; k++) {
          const i = this.items[k];
          const d = (us[i] - u) ** 2 + (vs[i] - v) ** 2;
          if (d < bestD || (d === bestD && i < best)) { best = i; bestD = d; }
        }
      }
    }
    return best;
  }

  /** From dot i, the nearest visible dot roughly in direction (du, dv) (within 60 degrees of
   *  it, nearer the axis preferred); i itself if there is none. A key press, so a plain scan. */
  step(i, du, dv) {
    const {u, v} = this.map;
    let best = i, bestScore = Infinity;
    for (const j of this.items) {
      if (j === i) continue;
      const a = u[j] - u[i], b = v[j] - v[i];
      const d = Math.hypot(a, b);
      const along = (a * du + b * dv) / (d || 1);
      if (d === 0 || along < 0.5) continue;
      const score = d * (2 - along);
      if (score < bestScore) { best = j; bestScore = score; }
    }
    return best;
  }

  first() {
    for (let i = 0; i < this.map.n; i++) if (this.visible[i]) return i;
    return -1;
  }
}

/** Regions (tinted by colours.tint over colours.bg) and the visible dots, on a canvas `size`
 *  device pixels square; dots are drawn in test order, `dot` pixels from their centre. */
export function paintBase(ctx, map, visible, colours, size, dot) {
  ctx.fillStyle = `rgb(${colours.bg.join(",")})`;
  ctx.fillRect(0, 0, size, size);
  if (map.regions) {
    const g = map.meta.regions.size;
    const tile = document.createElement("canvas");
    tile.width = tile.height = g;
    const tctx = tile.getContext("2d");
    const img = tctx.createImageData(g, g);
    const tint = colours.cat.map((c) => c.map((ch, k) => Math.round(colours.bg[k] + colours.tint * (ch - colours.bg[k]))));
    for (let p = 0; p < g * g; p++) {
      const c = tint[map.regions[p]];
      img.data.set([c[0], c[1], c[2], 255], 4 * p);
    }
    tctx.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(tile, 0, 0, size, size);
  }
  const styles = colours.cat.map((c) => `rgb(${c.join(",")})`);
  for (let i = 0; i < map.n; i++) {      // test order, as the static picture: no class always on top
    if (!visible[i]) continue;
    ctx.fillStyle = styles[map.label[i]];
    ctx.fillRect(map.u[i] * size - dot, (1 - map.v[i]) * size - dot, 2 * dot, 2 * dot);
  }
}
