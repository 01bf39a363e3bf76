/* paint.js: the palette of src/nnviz/palette.py (read from the CSS variables of
 * static/css/palette.css, so canvases match the exported PNGs and the legends) and one painter.
 *
 *   import {diverging, grey, paintImage} from "../../js/paint.js";
 *   diverging(t)  t in [-1, 1] -> [r, g, b]: --div-0 (negative) ... --div-4 (zero) ... --div-8
 *   grey(t)       t in [0, 1]  -> [r, g, b]: --grey-0 (black) ... --grey-1 (white)
 *   cssColour(name, fallback, element)  a CSS colour variable (as seen by element) -> [r, g, b]
 *   toRGB(css, fallback)        any CSS colour text -> [r, g, b];  mix(a, b, t)  a + (b - a) t
 *   paintImage(canvas, values, {w, h, channels=1, style, scale})
 *       values row-major (h * w * channels); the canvas becomes w x h pixels (CSS scales it).
 *       style "diverging": values / scale in [-1, 1] (scale defaults to max |value|);
 *       "grey": values / scale in [0, 1] (scale defaults to 1); "rgb": channels = 3, values / scale
 *       in [0, 1] per channel; or a function v -> [r, g, b] (e.g. the drawing pad's ink).
 */

const probe = document.createElement("canvas").getContext("2d");
let stops = null;            // read from the CSS once, again when the colour scheme changes
matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => { stops = null; });

/** Any CSS colour -> [r, g, b]. */
export function toRGB(css, fallback = "#000") {
  probe.fillStyle = "#000";
  probe.fillStyle = (css || "").trim() || fallback;
  const c = probe.fillStyle;
  if (c.startsWith("#")) return [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));
  const m = c.match(/[\d.]+/g);
  return m ? m.slice(0, 3).map(Number) : [0, 0, 0];
}

export function cssColour(name, fallback, element = document.documentElement) {
  return toRGB(getComputedStyle(element).getPropertyValue(name), fallback);
}

function palette() {
  if (!stops) {
    const css = getComputedStyle(document.documentElement);
    const read = (prefix) => {
      const out = [];
      for (let k = 0; css.getPropertyValue(`--${prefix}-${k}`).trim(); k++) {
        out.push(toRGB(css.getPropertyValue(`--${prefix}-${k}`)));
      }
      return out;
    };
    stops = {div: read("div"), grey: read("grey")};
    if (stops.div.length < 2) stops.div = [[5, 113, 176], [255, 255, 255], [202, 0, 32]];  // palette.css missing
    if (stops.grey.length < 2) stops.grey = [[0, 0, 0], [255, 255, 255]];
  }
  return stops;
}

export function mix(a, b, t) {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

/** Piecewise-linear colour at t in [0, 1] over evenly spaced stops. */
function ramp(list, t) {
  const x = Math.max(0, Math.min(1, Number.isFinite(t) ? t : 0)) * (list.length - 1);
  const k = Math.min(Math.floor(x), list.length - 2);
  return mix(list[k], list[k + 1], x - k);
}

export function diverging(t) {
  return ramp(palette().div, (t + 1) / 2);
}

export function grey(t) {
  return ramp(palette().grey, t);
}

function maxAbs(values) {
  let m = 0;
  for (const v of values) m = Math.max(m, Math.abs(v));
  return m;
}

export function paintImage(canvas, values, {w, h, channels = 1, style = "grey", scale} = {}) {
  const n = values.length / channels;
  w = w || Math.round(Math.sqrt(n));
  h = h || Math.round(n / w);
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== h) canvas.height = h;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(w, h);
  let colour = style;
  if (style === "diverging") {
    const s = scale || maxAbs(values) || 1;
    colour = (v) => diverging(v / s);
  } else if (style === "grey") {
    const s = scale || 1;
    colour = (v) => grey(v / s);
  }
  const s = scale || 1;
  for (let i = 0; i < w * h; i++) {
    const c = style === "rgb"
      ? [0, 1, 2].map((ch) => 255 * Math.max(0, Math.min(1, values[channels * i + ch] / s)))
      : colour(values[i]);
    img.data[4 * i] = c[0]; img.data[4 * i + 1] = c[1]; img.data[4 * i + 2] = c[2]; img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}
