/* format.js: the site's one number formatter for the browser (the Jinja side has the pct macro
 * in demos/confusion/common.html).
 *
 *   import {pct, num, fixed} from "../../js/format.js";
 *   pct(p, digits=1)  0.973 -> "97.3%"; never rounds p < 1 up to 100% nor p > 0 down to 0%:
 *                     0.9996 -> ">99.9%", 0.00001 -> "<0.1%" (digits=0: ">99%", "<1%")
 *   num(n)            1234567 -> "1,234,567"
 *   fixed(v, digits=2)   -0.5 -> "−0.50" (a true minus sign; "-0.00" prints as "0.00")
 */

export function pct(p, digits = 1) {
  const s = (100 * p).toFixed(digits);
  if (p < 1 && Number(s) >= 100) return ">" + (100 - 10 ** -digits).toFixed(digits) + "%";
  if (p > 0 && Number(s) <= 0) return "<" + (10 ** -digits).toFixed(digits) + "%";
  return s + "%";
}

export function num(n) {
  return Number(n).toLocaleString("en-US");
}

export function fixed(v, digits = 2) {
  const s = Math.abs(v).toFixed(digits);
  return (v < 0 && Number(s) !== 0 ? "−" : "") + s;
}
