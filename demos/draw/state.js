/* The lab's shareable state in the URL hash: one codec over one property table (TensorFlow
 * Playground's state.ts idea). One entry per lab: #<figure id>=1~<ink>~<flag><value>~...
 * Only values that differ from their default are written. Decoding trusts nothing: any string
 * that is not exactly a state this file could have written gives null (the lab then starts blank).
 */

export const SIDE = 28;
export const N = SIDE * SIDE;
const VERSION = "1";
const CODE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const LEVELS = 15;                // the URL keeps 16 ink levels per pixel
const RUN0 = LEVELS;              // code index of "one blank pixel"; up to 64 - 15 = 49 in one char
const MAX_RUN = CODE.length - RUN0;

/** 784 ink values -> a short URL-safe string: one char per inked pixel (15 levels), one char per
 *  run of up to 49 blank pixels. A blank canvas is 16 chars; a digit ~150-250. */
export function encodeInk(ink) {
  let out = "";
  let run = 0;
  const flush = () => {
    while (run > 0) {
      const n = Math.min(run, MAX_RUN);
      out += CODE[RUN0 + n - 1];
      run -= n;
    }
  };
  for (let i = 0; i < N; i++) {
    const q = Math.round(Math.min(1, Math.max(0, ink[i])) * LEVELS);
    if (q === 0) { run++; continue; }
    flush();
    out += CODE[q - 1];
  }
  flush();
  return out;
}

/** The inverse of encodeInk (quantised values); null if the string is not a drawing. */
export function decodeInk(text) {
  const ink = new Float32Array(N);
  let i = 0;
  for (const ch of text) {
    const c = CODE.indexOf(ch);
    if (c < 0) return null;
    if (c < RUN0) {
      if (i >= N) return null;
      ink[i++] = (c + 1) / LEVELS;
    } else {
      i += c - RUN0 + 1;
      if (i > N) return null;
    }
  }
  return i === N ? ink : null;
}

/* Each property: its flag letter, its kind and default; `ok(value, shape)` says whether a decoded
 * value is one this lab can show (shape = {layers, classes} of the lab's model). */
const INT = /^-?\d{1,3}$/;
const NUMBER = /^\d(\.\d{1,4})?$/;
const PAIR = /^(\d{1,3})-(\d{1,3})$/;
const PROPS = [
  {name: "neuron", flag: "n", kind: "pair", def: [1, 0],
   ok: ([l, k], s) => l >= 1 && l < s.layers.length && k < s.layers[l]},
  {name: "centre", flag: "c", kind: "bool", def: true},
  {name: "dx", flag: "x", kind: "int", def: 0, ok: (v) => Math.abs(v) <= 6},
  {name: "dy", flag: "y", kind: "int", def: 0, ok: (v) => Math.abs(v) <= 6},
  {name: "scale", flag: "s", kind: "number", def: 1, ok: (v) => v >= 0.4 && v <= 1.6},
  {name: "why", flag: "w", kind: "pair", def: null, ok: ([a, b], s) => a < s.classes && b < s.classes},
  {name: "shiftMap", flag: "m", kind: "bool", def: false},
];

const KINDS = {
  bool: {write: (v) => (v ? "1" : "0"), read: (t) => (t === "1" ? true : t === "0" ? false : undefined)},
  int: {write: String, read: (t) => (INT.test(t) ? Number(t) : undefined)},
  number: {write: String, read: (t) => (NUMBER.test(t) ? Number(t) : undefined)},
  pair: {write: (v) => `${v[0]}-${v[1]}`,
         read: (t) => { const m = PAIR.exec(t); return m ? [Number(m[1]), Number(m[2])] : undefined; }},
};

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/** The default state: a blank canvas and every property at its default. */
export function blankState() {
  const state = {ink: new Float32Array(N)};
  for (const p of PROPS) state[p.name] = p.def;
  return state;
}

/** state -> the hash entry's value ("1~<ink>~..."). */
export function encodeState(state) {
  const parts = [VERSION, encodeInk(state.ink)];
  for (const p of PROPS) {
    if (!same(state[p.name], p.def)) parts.push(p.flag + KINDS[p.kind].write(state[p.name]));
  }
  return parts.join("~");
}

/** The hash entry's value -> state; throws an Error saying what is unreadable. */
function decodeStrict(text, shape) {
  const [version, code, ...flags] = decodeURIComponent(text).split("~");
  if (version !== VERSION) throw new Error(`unknown version ${JSON.stringify(version)}`);
  const state = blankState();
  state.ink = decodeInk(code || "");
  if (!state.ink) throw new Error("the drawing is not 784 pixels");
  const seen = new Set();
  for (const f of flags) {
    const p = PROPS.find((q) => q.flag === f[0]);
    if (!p || seen.has(p.flag)) throw new Error(`unknown or repeated entry ${JSON.stringify(f)}`);
    seen.add(p.flag);
    const v = KINDS[p.kind].read(f.slice(1));
    if (v === undefined || (p.ok && !p.ok(v, shape))) throw new Error(`unreadable entry ${JSON.stringify(f)}`);
    state[p.name] = v;
  }
  return state;
}

/** Like decodeStrict, but never throws: an unreadable state is noted on the console, and null. */
export function decodeState(text, shape) {
  try {
    return decodeStrict(String(text), shape);
  } catch (e) {
    console.info(`draw lab: ignoring the unreadable state in the URL (${e.message}); starting blank`);
    return null;
  }
}

/* ------------------------------------------------------------ the hash: entries "key=value" by "&" */

function hashEntries() {
  const hash = location.hash.replace(/^#/, "");
  return hash ? hash.split("&") : [];
}

/** The raw value of this lab's entry, or null. */
export function readHash(key) {
  const entry = hashEntries().find((e) => e.startsWith(key + "="));
  return entry === undefined ? null : entry.slice(key.length + 1);
}

/** Set (or, with value null, drop) this lab's entry without adding a history step. */
export function writeHash(key, value) {
  const entries = hashEntries().filter((e) => !e.startsWith(key + "="));
  if (value !== null) entries.push(`${key}=${value}`);
  const url = location.pathname + location.search + (entries.length ? "#" + entries.join("&") : "");
  if (url !== location.pathname + location.search + location.hash) history.replaceState(history.state, "", url);
}
