/* Small DOM and string helpers of the drawing lab's modules. */
import {pct} from "../../js/format.js";


/** "{c} is {p}" filled from values; unknown keys stay as they are. */
export function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, k) => (k in values ? values[k] : `{${k}}`));
}

export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** An array of rows, or a flat array, as a flat array. */
export function flat(values) {
  return Array.isArray(values) && Array.isArray(values[0]) ? values.flat() : values;
}

/** A confidence as the lab prints it: whole percents between 10% and 99.5%, else one decimal. */
export function sure(p) {
  return pct(p, p >= 0.1 && p < 0.995 ? 0 : 1);
}
