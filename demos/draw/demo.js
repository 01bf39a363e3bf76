/* The drawing lab (demos/draw/partial.html): draw a digit, watch every neuron react.
 *
 * JS draws; Python computes. This file keeps the drawing (28x28 ink values in [0, 1]) and paints
 * what demos/draw/adapter.py returns: one worker round trip per repaint,
 *     nnviz.call("draw.repaint", [model, pixels, options]) -> {input, steps, activations, probs, ...}
 * with at most one request in flight; while one is out, only the latest drawing is sent next.
 *
 * Shareable state lives in the URL hash, one entry per lab: #<figure id>=1~<ink>~n<layer>-<unit>~...
 * (see encodeState). For tests and benchmarks the figure element carries
 *     el.nnvizLast  {seq, pixels, options, input, probs, activations, pred, conf}  of the last repaint
 *     el.dataset.pred, el.dataset.repaints, and a "draw:repaint" event after every repaint;
 *     el.drawLab    this controller (seq = version of the drawing, busy = a request is out).
 */

const SIDE = 28;
const N = SIDE * SIDE;
const DIV_POS = [202, 0, 32];     // export.diverging's colours: positive red, zero white, negative blue
const DIV_NEG = [5, 113, 176];
const DIV_MID = [255, 255, 255];
const BRUSH_CORE = 0.8;           // grid pixels of full ink around the pen ...
const BRUSH_EDGE = 1.1;           // ... fading to none this much further out (a soft round brush)
const UNDO_LIMIT = 100;
const CODE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const LEVELS = 15;                // the URL keeps 16 ink levels per pixel
const RUN0 = LEVELS;              // code index of "one blank pixel"; up to 64 - 15 = 49 in one char
const MAX_RUN = CODE.length - RUN0;

/* ------------------------------------------------------------ the URL encoding of a drawing */

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
    }
  }
  return i === N ? ink : null;
}

/* ------------------------------------------------------------ small helpers */

function fmt(v, digits = 2) {
  const s = Math.abs(v).toFixed(digits);
  return (v < 0 && Number(s) !== 0 ? "−" : "") + s;
}

function percent(p) {
  if (p >= 0.9995) return ">99.9%";  // a float that rounds to 1 is still not certainty
  if (p > 0 && p < 0.0005) return "<0.1%";
  return (100 * p).toFixed(p >= 0.1 && p < 0.995 ? 0 : 1) + "%";   // 0.996 -> "99.6%", never "100%"
}

/** At most 4 characters, for the narrow columns under the bars (titles keep the precise value). */
function shortPercent(p) {
  if (p >= 0.995) return ">99%";
  if (p < 0.005) return "<1%";
  return Math.round(100 * p) + "%";
}

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, k) => (k in values ? values[k] : `{${k}}`));
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** One labelled number of an arithmetic line: label above, value below. */
function term(label, value, cls) {
  const s = el("span", "draw-term" + (cls ? " " + cls : ""));
  s.append(el("span", "draw-term-label", label), el("span", "draw-term-value", value));
  return s;
}

function op(text) {
  return el("span", "draw-op", text);
}

function flat(values) {
  return Array.isArray(values) && Array.isArray(values[0]) ? values.flat() : values;
}

const colourProbe = document.createElement("canvas").getContext("2d");

/** Any CSS colour -> [r, g, b]. */
function rgb(css, fallback) {
  colourProbe.fillStyle = "#000";
  colourProbe.fillStyle = (css || "").trim() || fallback;
  const c = colourProbe.fillStyle;
  if (c.startsWith("#")) return [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));
  const m = c.match(/[\d.]+/g);
  return m ? m.slice(0, 3).map(Number) : [0, 0, 0];
}

function mix(a, b, t) {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

function diverging(v, scale) {
  const t = Math.max(-1, Math.min(1, scale > 0 ? v / scale : 0));
  return t >= 0 ? mix(DIV_MID, DIV_POS, t) : mix(DIV_MID, DIV_NEG, -t);
}

/** Paint 784 values into a 28x28 canvas with colour(v) -> [r, g, b]. */
function paintImage(canvas, values, colour) {
  if (canvas.width !== SIDE) { canvas.width = SIDE; canvas.height = SIDE; }
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(SIDE, SIDE);
  for (let i = 0; i < N; i++) {
    const [r, g, b] = colour(values[i]);
    img.data[4 * i] = r; img.data[4 * i + 1] = g; img.data[4 * i + 2] = b; img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

function maxAbs(values) {
  let m = 0;
  for (const v of values) m = Math.max(m, Math.abs(v));
  return m;
}

/* ------------------------------------------------------------ test digits from the sample sprite */

const sprites = new Map();

function loadSprite(root, dataset) {
  const base = new URL(`${root}data/${dataset}/`, document.baseURI);
  if (!sprites.has(base.href)) {
    sprites.set(base.href, (async () => {
      const response = await fetch(new URL("samples.json", base));
      if (!response.ok) throw new Error(`data/${dataset}/samples.json: HTTP ${response.status}`);
      const meta = await response.json();
      const image = new Image();
      image.src = new URL("samples.png", base).href;
      await image.decode();
      const t = meta.tile;
      const scratch = document.createElement("canvas");
      scratch.width = scratch.height = t;
      const ctx = scratch.getContext("2d", {willReadFrequently: true});
      return {
        meta,
        count: meta.index.length,
        pixels(slot) {
          ctx.clearRect(0, 0, t, t);
          ctx.drawImage(image, (slot % meta.cols) * t, Math.floor(slot / meta.cols) * t, t, t, 0, 0, t, t);
          const rgba = ctx.getImageData(0, 0, t, t).data;
          return Float32Array.from({length: t * t}, (_, i) => rgba[4 * i] / 255);
        },
      };
    })());
  }
  return sprites.get(base.href);
}

/* ------------------------------------------------------------ the lab */

class DrawLab {
  constructor(root) {
    this.root = root;
    this.S = JSON.parse(root.dataset.strings || "{}");
    this.classes = JSON.parse(root.dataset.classes || "[]");
    this.layers = root.dataset.layers.split(",").map(Number);
    this.L = this.layers.length - 1;
    this.model = root.dataset.model;
    this.key = root.id || "draw";
    this.q = (sel) => root.querySelector(sel);
    this.qa = (sel) => Array.from(root.querySelectorAll(sel));

    this.ink = new Float32Array(N);
    this.undoStack = [];
    this.options = {centre: true, dx: 0, dy: 0, scale: 1};
    this.selected = [1, 0];
    this.whyPair = null;          // null: A = the answer, B = the runner-up
    this.cursor = {x: 14, y: 14};
    this.seq = 0;                 // bumped on every change of drawing or options
    this.busy = false;
    this.dirty = false;
    this.ready = false;
    this.repaints = 0;
    this.last = null;
    this.note = null;             // {kind, seq, ...}: a remark on the current experiment
    this.announceNext = false;

    this.grid = this.q(".draw-grid");
    this.links = this.q(".draw-links");
    this.net = this.q(".draw-net");
    this.neurons = this.qa(".draw-neuron");
    this.steps = Object.fromEntries(this.qa("canvas[data-step]").map((c) => [c.dataset.step, c]));
    this.readColours();
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
      this.readColours();
      this.paintGrid();
      if (this.last) this.render(this.last.result, this.last);
    });

    this.bindDrawing();
    this.bindControls();
    this.bindNetwork();
    this.bindHover();
    const restored = this.restore();
    this.syncControls();
    this.markSelected();
    this.paintGrid();
    this.paintStrip(null);
    new ResizeObserver(() => { this.sizeGrid(); this.layoutLinks(); }).observe(this.root);
    root.drawLab = this;
    root.classList.add("draw-js");
    if (restored) {
      this.setNote({kind: "restored"});
      requestAnimationFrame(() => root.scrollIntoView({block: "start"}));
    }
    this.connect();
  }

  /* ---------------------------------------------------------- runtime */

  connect() {
    const start = () => {
      if (!window.nnviz) {
        this.q(".draw-verdict-conf").textContent = this.S.failed;
        return;
      }
      this.q(".draw-verdict-conf").textContent = this.S.waiting;
      window.nnviz.ready.then(() => {
        this.ready = true;
        this.send();
      }, () => {});
    };
    if (window.nnviz || document.readyState === "complete") start();
    else window.addEventListener("load", start, {once: true});
  }

  requestUpdate() {
    this.seq++;
    if (!this.ready || this.busy) { this.dirty = true; return; }
    this.send();
  }

  requestOptions() {
    const o = {...this.options, neuron: this.selected, shift_map: this.q(".draw-shift").open};
    if (this.L === 1) o.why = this.whyPair || "auto";
    return o;
  }

  send() {
    const seq = this.seq;
    const pixels = Array.from(this.ink);
    const options = this.requestOptions();
    this.busy = true;
    this.dirty = false;
    window.nnviz.call("draw.repaint", [window.nnviz.model(this.model), pixels, options]).then(
      (result) => {
        this.busy = false;
        this.render(result, {seq, pixels, options});
        if (this.dirty) this.send();
      },
      (error) => {
        this.busy = false;
        this.q(".draw-verdict-conf").textContent = String(error.message || error);
        this.root.dataset.error = String(error.message || error);
        if (this.dirty) this.send();
      });
  }

  /* ---------------------------------------------------------- colours */

  readColours() {
    const cs = getComputedStyle(this.root);
    const v = (name, fallback) => rgb(cs.getPropertyValue(name), fallback);
    this.colours = {
      paper: v("--draw-paper", "#ffffff"), ink: v("--draw-ink", "#111111"),
      fg: v("--fg", "#1d1f23"), muted: v("--muted", "#5b6068"), accent: v("--accent", "#1a5fb4"),
      ok: v("--ok", "#1e7d3a"), bad: v("--bad", "#b3261e"), border: v("--border", "#d5d8dc"),
      card: v("--card", "#f3f4f1"), pos: v("--pos", "#c0392b"), neg: v("--neg", "#1f6fb8"),
    };
    const {paper, ink} = this.colours;
    this.inkColour = (x) => mix(paper, ink, Math.max(0, Math.min(1, x)));
  }

  /* ---------------------------------------------------------- drawing */

  bindDrawing() {
    const g = this.grid;
    let stroke = null;
    const point = (e) => {
      const r = g.getBoundingClientRect();
      return {x: ((e.clientX - r.left) / r.width) * SIDE, y: ((e.clientY - r.top) / r.height) * SIDE};
    };
    g.addEventListener("pointerdown", (e) => {
      if (e.pointerType === "mouse" && e.button !== 0) return;
      e.preventDefault();
      try { g.setPointerCapture(e.pointerId); } catch (_) { /* synthetic events have no capture */ }
      this.showCursor = false;
      stroke = {id: e.pointerId, last: point(e), erase: (e.buttons & 32) !== 0};
      this.pushUndo();
      this.stamp(stroke.last, stroke.erase);
      this.changed();
    });
    g.addEventListener("pointermove", (e) => {
      if (!stroke || e.pointerId !== stroke.id) return;
      e.preventDefault();
      const events = (e.getCoalescedEvents && e.getCoalescedEvents().length) ? e.getCoalescedEvents() : [e];
      for (const ev of events) {
        const p = point(ev);
        this.segment(stroke.last, p, stroke.erase);
        stroke.last = p;
      }
      this.changed();
    });
    const end = (e) => {
      if (!stroke || e.pointerId !== stroke.id) return;
      stroke = null;
      this.commit();
    };
    g.addEventListener("pointerup", end);
    g.addEventListener("pointercancel", end);
    g.addEventListener("lostpointercapture", end);
    // no page scroll, zoom or text selection while drawing, whatever the browser's defaults
    g.addEventListener("touchstart", (e) => e.preventDefault(), {passive: false});
    g.addEventListener("touchmove", (e) => e.preventDefault(), {passive: false});
    g.addEventListener("contextmenu", (e) => e.preventDefault());

    let painting = false;
    g.addEventListener("keydown", (e) => {
      const moves = {ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1]};
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "z") {
        e.preventDefault();
        this.undo();
        return;
      }
      if (e.key in moves) {
        e.preventDefault();
        const [dx, dy] = moves[e.key];
        this.cursor.x = Math.max(0, Math.min(SIDE - 1, this.cursor.x + dx));
        this.cursor.y = Math.max(0, Math.min(SIDE - 1, this.cursor.y + dy));
        this.showCursor = true;
        if (painting) { this.stamp({x: this.cursor.x + 0.5, y: this.cursor.y + 0.5}); this.changed(); }
        else this.paintGrid();
      } else if (e.key === " " || e.key === "Enter") {
        e.preventDefault();
        if (e.repeat) return;
        this.showCursor = true;
        this.pushUndo();
        this.stamp({x: this.cursor.x + 0.5, y: this.cursor.y + 0.5});
        painting = e.key === " ";
        this.changed();
        if (!painting) this.commit();
      } else if (e.key === "Delete" || e.key === "Backspace") {
        e.preventDefault();
        this.pushUndo();
        this.stamp({x: this.cursor.x + 0.5, y: this.cursor.y + 0.5}, true);
        this.changed();
        this.commit();
      }
    });
    g.addEventListener("keyup", (e) => {
      if (e.key === " " && painting) { painting = false; this.commit(); }
    });
    g.addEventListener("focus", () => {
      this.showCursor = g.matches(":focus-visible");  // keyboard focus: show where Space paints
      this.paintGrid();
    });
    g.addEventListener("blur", () => { painting = false; this.showCursor = false; this.paintGrid(); });
  }

  /** Soft round brush at p (grid coordinates, pixel (i, j) covers [j, j+1) x [i, i+1)). */
  stamp(p, erase = false) {
    const reach = BRUSH_CORE + BRUSH_EDGE;
    for (let i = Math.max(0, Math.floor(p.y - reach)); i <= Math.min(SIDE - 1, Math.floor(p.y + reach)); i++) {
      for (let j = Math.max(0, Math.floor(p.x - reach)); j <= Math.min(SIDE - 1, Math.floor(p.x + reach)); j++) {
        const d = Math.hypot(j + 0.5 - p.x, i + 0.5 - p.y);
        const a = Math.max(0, Math.min(1, (reach - d) / BRUSH_EDGE));
        const k = i * SIDE + j;
        this.ink[k] = erase ? Math.min(this.ink[k], 1 - a) : Math.max(this.ink[k], a);
      }
    }
  }

  segment(a, b, erase) {
    const steps = Math.max(1, Math.ceil(Math.hypot(b.x - a.x, b.y - a.y) / 0.3));
    for (let s = 1; s <= steps; s++) {
      this.stamp({x: a.x + ((b.x - a.x) * s) / steps, y: a.y + ((b.y - a.y) * s) / steps}, erase);
    }
  }

  pushUndo() {
    this.undoStack.push(Float32Array.from(this.ink));
    if (this.undoStack.length > UNDO_LIMIT) this.undoStack.shift();
    this.q('[data-action="undo"]').disabled = false;
  }

  undo() {
    if (!this.undoStack.length) return;
    this.ink = this.undoStack.pop();
    this.q('[data-action="undo"]').disabled = this.undoStack.length === 0;
    this.setNote(null);
    this.changed();
    this.commit();
  }

  /** Replace the drawing (an experiment); undoable. */
  setInk(values, note = null) {
    this.pushUndo();
    this.ink = Float32Array.from(flat(values), (v) => Math.min(1, Math.max(0, v)));
    this.changed();
    this.setNote(note);
    this.commit();
  }

  changed() {
    if (!this.gridQueued) {
      this.gridQueued = true;
      requestAnimationFrame(() => { this.gridQueued = false; this.paintGrid(); });
    }
    this.paintStep("raw", this.ink);
    this.requestUpdate();
  }

  /** A stroke or an action is finished: update the link, announce the next answer. */
  commit() {
    this.announceNext = true;
    clearTimeout(this.hashTimer);
    this.hashTimer = setTimeout(() => this.writeHash(), 200);
  }

  sizeGrid() {
    const g = this.grid;
    const dpr = window.devicePixelRatio || 1;
    const w = Math.round(g.clientWidth * dpr);
    if (w > 0 && g.width !== w) {
      g.width = w;
      g.height = w;
      this.paintGrid();
    }
  }

  paintGrid() {
    const g = this.grid;
    const ctx = g.getContext("2d");
    if (!this.gridImage) {
      this.gridImage = document.createElement("canvas");
      this.gridImage.width = this.gridImage.height = SIDE;
    }
    paintImage(this.gridImage, this.ink, this.inkColour);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(this.gridImage, 0, 0, g.width, g.height);
    const cell = g.width / SIDE;
    const [r, gg, b] = this.colours.muted;
    ctx.strokeStyle = `rgba(${r},${gg},${b},0.16)`;
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let k = 1; k < SIDE; k++) {
      const p = Math.round(k * cell) + 0.5;
      ctx.moveTo(p, 0); ctx.lineTo(p, g.height);
      ctx.moveTo(0, p); ctx.lineTo(g.width, p);
    }
    ctx.stroke();
    if (this.showCursor && document.activeElement === g) {
      const [ar, ag, ab] = this.colours.accent;
      ctx.strokeStyle = `rgb(${ar},${ag},${ab})`;
      ctx.lineWidth = Math.max(2, cell / 6);
      ctx.strokeRect(this.cursor.x * cell + 1, this.cursor.y * cell + 1, cell - 2, cell - 2);
    }
  }

  paintStep(name, values) {
    const c = this.steps[name];
    if (c) paintImage(c, values, this.inkColour);
  }

  paintStrip(steps) {
    for (const name of ["cropped", "centred"]) {
      const fig = this.steps[name] && this.steps[name].closest("figure");
      if (fig) fig.classList.toggle("is-off", !this.options.centre);
      if (steps) this.paintStep(name, steps[name]);
      else if (!this.options.centre) this.paintStep(name, new Float32Array(N));
    }
  }

  /* ---------------------------------------------------------- controls */

  bindControls() {
    const actions = {
      undo: () => this.undo(),
      clear: () => this.setInk(new Float32Array(N), {kind: "blank"}),
      noise: () => this.experiment("draw.noise", [Math.floor(Math.random() * 2 ** 31)], {kind: "noise"}),
      invert: () => this.experiment("draw.invert", [Array.from(this.ink)], {kind: "invert"}),
      digit: () => this.testDigit(),
      "reset-move": () => {
        Object.assign(this.options, {dx: 0, dy: 0, scale: 1});
        this.syncControls();
        this.optionsChanged();
      },
      "why-auto": () => {
        this.whyPair = null;
        this.syncControls();
        this.optionsChanged();
      },
    };
    for (const b of this.qa("[data-action]")) {
      b.addEventListener("click", () => actions[b.dataset.action] && actions[b.dataset.action]());
    }
    const centre = this.q('[data-control="centre"]');
    centre.addEventListener("change", () => {
      this.options.centre = centre.checked;
      this.optionsChanged();
    });
    for (const name of ["dx", "dy", "scale"]) {
      const input = this.q(`[data-control="${name}"]`);
      input.addEventListener("input", () => {
        this.options[name] = Number(input.value);
        this.syncControls();
        this.optionsChanged(false);
      });
      input.addEventListener("change", () => this.commit());
    }
    for (const side of ["a", "b"]) {
      const sel = this.q(`[data-control="why-${side}"]`);
      if (!sel) continue;
      sel.addEventListener("change", () => {
        this.whyPair = [Number(this.q('[data-control="why-a"]').value), Number(this.q('[data-control="why-b"]').value)];
        this.syncControls();
        this.optionsChanged();
      });
    }
    const details = this.q(".draw-shift");
    details.addEventListener("toggle", () => this.optionsChanged());
  }

  optionsChanged(commit = true) {
    this.paintStrip(null);
    this.requestUpdate();
    if (commit) this.commit();
  }

  syncControls() {
    this.q('[data-control="centre"]').checked = this.options.centre;
    for (const name of ["dx", "dy", "scale"]) {
      const input = this.q(`[data-control="${name}"]`);
      input.value = String(this.options[name]);
      const out = input.parentElement.querySelector("output");
      const v = this.options[name];
      out.textContent = name === "scale" ? `${v.toFixed(2)}×` : (v > 0 ? `+${v}` : `${v}`);
      input.setAttribute("aria-valuetext", out.textContent);
    }
    const auto = this.q('[data-action="why-auto"]');
    if (auto) auto.setAttribute("aria-pressed", String(this.whyPair === null));
  }

  experiment(fn, args, note) {
    window.nnviz.call(fn, args).then((values) => this.setInk(values, note),
      (e) => this.setNote({kind: "error", text: String(e.message || e)}));
  }

  async testDigit() {
    try {
      const sprite = await loadSprite(this.root.dataset.root || "", this.root.dataset.dataset || "mnist");
      const slot = Math.floor(Math.random() * sprite.count);
      this.setInk(sprite.pixels(slot), {kind: "digit", index: sprite.meta.index[slot],
                                       label: sprite.meta.labels[slot]});
    } catch (e) {
      this.setNote({kind: "error", text: String(e.message || e)});
    }
  }

  setNote(note) {
    this.note = note ? {...note, seq: this.seq} : null;
    this.showNote();
  }

  showNote() {
    const p = this.q(".draw-note");
    const n = this.note;
    const res = this.last && this.last.result;
    let text = "";
    if (n && n.kind === "noise") {
      text = res && this.last.seq >= n.seq
        ? fill(this.S.note_noise, {c: this.classes[res.pred], p: percent(res.conf)}) : "";
    } else if (n && n.kind === "blank") {
      text = res && this.last.seq >= n.seq
        ? fill(this.S.note_blank, {c: this.classes[res.pred], p: percent(res.conf)}) : "";
    } else if (n && n.kind === "invert") text = this.S.note_invert;
    else if (n && n.kind === "digit") text = fill(this.S.note_digit, {i: n.index, c: this.classes[n.label]});
    else if (n && n.kind === "restored") text = this.S.note_restored;
    else if (n && n.kind === "error") text = n.text;
    if (p.textContent !== text) p.textContent = text;
  }

  /* ---------------------------------------------------------- network view */

  /** Hovering (or touching) a pixel of the inspector's maps spells out its term of the sum. */
  bindHover() {
    const out = this.q(".draw-hover");
    const show = (e) => {
      const c = e.target.closest("canvas.draw-map-canvas");
      const n = this.last && this.last.result.neuron;
      if (!c || !n || n.inputs !== N) return;
      const r = c.getBoundingClientRect();
      const j = Math.floor(((e.clientX - r.left) / r.width) * SIDE);
      const i = Math.floor(((e.clientY - r.top) / r.height) * SIDE);
      if (i < 0 || j < 0 || i >= SIDE || j >= SIDE) return;
      const k = i * SIDE + j;
      const x = this.last.result.input[k];
      out.textContent = fill(this.S.hover, {r: i, c: j, w: fmt(n.weights[k], 3), x: fmt(x, 2), t: fmt(n.contrib[k], 3)});
    };
    const grids = this.q(".draw-inspect-grids");
    grids.addEventListener("pointermove", show);
    grids.addEventListener("pointerdown", show);
    grids.addEventListener("pointerleave", () => { out.textContent = ""; });
  }

  bindNetwork() {
    for (const b of this.neurons) {
      b.addEventListener("click", () => this.select(Number(b.dataset.layer), Number(b.dataset.unit)));
      b.addEventListener("keydown", (e) => this.neuronKey(e, b));
    }
  }

  neuronKey(e, b) {
    const rows = this.qa(".draw-row").map((r) => Array.from(r.querySelectorAll(".draw-neuron")));
    const r = rows.findIndex((row) => row.includes(b));
    const k = rows[r].indexOf(b);
    let target = null;
    if (e.key === "ArrowRight") target = rows[r][Math.min(k + 1, rows[r].length - 1)];
    else if (e.key === "ArrowLeft") target = rows[r][Math.max(k - 1, 0)];
    else if (e.key === "Home") target = rows[r][0];
    else if (e.key === "End") target = rows[r][rows[r].length - 1];
    else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      const to = rows[r + (e.key === "ArrowDown" ? 1 : -1)];
      if (to) target = to[Math.round((k / Math.max(1, rows[r].length - 1)) * (to.length - 1))];
    }
    if (!target) return;
    e.preventDefault();
    target.focus();
    this.select(Number(target.dataset.layer), Number(target.dataset.unit));
  }

  select(layer, unit) {
    this.selected = [layer, unit];
    this.markSelected();
    this.optionsChanged();
  }

  markSelected() {
    const [l, k] = this.selected;
    for (const b of this.neurons) {
      const on = Number(b.dataset.layer) === l && Number(b.dataset.unit) === k;
      b.classList.toggle("is-selected", on);
      b.setAttribute("aria-pressed", String(on));
      if (on) {  // the selected neuron is its row's tab stop
        for (const other of b.parentElement.children) other.tabIndex = -1;
        b.tabIndex = 0;
      }
    }
    this.drawLinks();
  }

  neuronName(layer, unit) {
    return layer < this.L ? fill(this.S.hidden_n, {l: layer, k: unit})
                          : fill(this.S.output_n, {c: this.classes[unit]});
  }

  /** Neuron centres relative to the network box, cached until the layout changes. */
  layoutLinks() {
    const box = this.net.getBoundingClientRect();
    if (!box.width) return;
    const dpr = window.devicePixelRatio || 1;
    this.links.width = Math.round(box.width * dpr);
    this.links.height = Math.round(box.height * dpr);
    this.links.style.width = box.width + "px";
    this.links.style.height = box.height + "px";
    const centre = (node) => {
      const r = (node.querySelector(".draw-dot") || node).getBoundingClientRect();
      return {x: r.left + r.width / 2 - box.left, top: r.top - box.top, bottom: r.bottom - box.top};
    };
    const rows = this.qa(".draw-row").map((row) => Array.from(row.querySelectorAll(".draw-neuron")).map(centre));
    const input = this.q(".draw-net-input canvas").getBoundingClientRect();
    this.geometry = {rows, dpr, input: {x: input.left + input.width / 2 - box.left, bottom: input.bottom - box.top}};
    this.drawLinks();
  }

  drawLinks() {
    const geo = this.geometry;
    if (!geo) return;
    const ctx = this.links.getContext("2d");
    ctx.setTransform(geo.dpr, 0, 0, geo.dpr, 0, 0);
    ctx.clearRect(0, 0, this.links.width, this.links.height);
    const [sl, su] = this.selected;
    const c = this.colours;
    // the input feeds every neuron of the first row
    ctx.lineWidth = 1;
    for (let k = 0; k < geo.rows[0].length; k++) {
      const on = sl === 1 && su === k;
      ctx.strokeStyle = `rgba(${c.muted.join(",")},${on ? 0.9 : 0.18})`;
      ctx.lineWidth = on ? 2 : 1;
      ctx.beginPath();
      ctx.moveTo(geo.input.x, geo.input.bottom);
      ctx.lineTo(geo.rows[0][k].x, geo.rows[0][k].top);
      ctx.stroke();
    }
    const flows = this.last && this.last.result.flows;
    if (!flows) return;
    for (let l = 0; l < flows.length; l++) {
      const m = flows[l];               // m[j][k] = w_jk * a_j, from row l to row l + 1
      let scale = 0;
      for (const row of m) for (const v of row) scale = Math.max(scale, Math.abs(v));
      if (!scale) continue;
      const from = geo.rows[l], to = geo.rows[l + 1];
      for (let k = 0; k < to.length; k++) {
        const focus = sl === l + 2 && su === k;
        for (let j = 0; j < from.length; j++) {
          const v = m[j][k];
          const t = Math.abs(v) / scale;
          if (t < 0.04 && !focus) continue;
          const col = v >= 0 ? c.pos : c.neg;
          ctx.strokeStyle = `rgba(${col.join(",")},${Math.min(1, (focus ? 0.25 : 0.08) + t * (focus ? 0.9 : 0.6))})`;
          ctx.lineWidth = focus ? 1 + 2.5 * t : 0.6 + 2 * t;
          ctx.beginPath();
          ctx.moveTo(from[j].x, from[j].bottom);
          ctx.lineTo(to[k].x, to[k].top);
          ctx.stroke();
        }
      }
    }
  }

  /* ---------------------------------------------------------- one repaint */

  render(res, sent) {
    this.last = {...sent, result: res};
    this.paintStrip(res.steps);
    this.paintStep("input", res.input);
    this.paintStep("net-input", res.input);
    this.paintNetwork(res);
    this.paintInspector(res.neuron);
    if (res.why) this.paintWhy(res.why);
    this.paintShiftMap(res.shift_map);
    this.showNote();
    if (this.announceNext && sent.seq === this.seq) {
      this.announceNext = false;
      this.q(".draw-announce").textContent =
        fill(this.S.announce, {c: this.classes[res.pred], p: percent(res.conf)});
    }
    this.repaints++;
    this.root.nnvizLast = {seq: sent.seq, pixels: sent.pixels, options: sent.options, input: res.input,
                           probs: res.probs, activations: res.activations, pred: res.pred, conf: res.conf};
    this.root.dataset.pred = String(res.pred);
    this.root.dataset.repaints = String(this.repaints);
    this.root.dispatchEvent(new CustomEvent("draw:repaint", {detail: {seq: sent.seq}}));
  }

  paintNetwork(res) {
    const acts = res.activations;
    for (let l = 1; l < this.L; l++) {
      const a = acts[l - 1];
      const top = Math.max(...a.map(Math.abs)) || 1;
      const row = this.qa(`.draw-neuron[data-layer="${l}"]`);
      row.forEach((b, k) => {
        b.style.setProperty("--a", (Math.abs(a[k]) / top).toFixed(3));
        b.title = `${this.neuronName(l, k)}: ${fmt(a[k])}`;
        b.setAttribute("aria-label", b.title);
      });
    }
    const outs = this.qa(`.draw-neuron[data-layer="${this.L}"]`);
    outs.forEach((b, k) => {
      const p = res.probs[k];
      b.style.setProperty("--a", p.toFixed(4));
      b.querySelector(".draw-bar-fill").style.height = (100 * p).toFixed(2) + "%";
      b.querySelector(".draw-out-pct").textContent = shortPercent(p);
      b.classList.toggle("is-pred", k === res.pred);
      b.title = `${this.classes[k]}: ${percent(p)}`;
      // The name holds the visible text in order (class, then the short percent: axe's
      // label-content-name-mismatch); the title keeps the precise value.
      b.setAttribute("aria-label", `${this.S.output} ${this.classes[k]} ${shortPercent(p)}`);
    });
    this.q(".draw-verdict-digit").textContent = this.classes[res.pred];
    this.q(".draw-verdict-conf").textContent = fill(this.S.sure, {p: percent(res.conf)});
    this.drawLinks();
  }

  paintInspector(n) {
    const box = this.q(".draw-inspect");
    if (!n) { box.hidden = true; return; }
    box.hidden = false;
    this.q(".draw-inspect-name").textContent = this.neuronName(n.layer, n.unit);
    const pixels = n.inputs === N;
    const S = this.S;
    const wScale = maxAbs(n.weights), cScale = maxAbs(n.contrib);
    if (pixels) {
      this.mapCanvas("weights", n.weights, wScale);
      this.mapCanvas("contrib", n.contrib, cScale);
      this.q('[data-caption="weights"]').textContent = S.weights;
      this.q('[data-caption="contrib"]').textContent = S.contrib;
    } else {
      const l = n.layer - 1;
      this.mapCells("weights", n.weights, wScale, l);
      this.mapCells("contrib", n.contrib, cScale, l);
      this.q('[data-caption="weights"]').textContent = fill(S.weights_hidden, {l});
      this.q('[data-caption="contrib"]').textContent = S.contrib_hidden;
    }
    this.q('[data-scale="weights"]').textContent = fill(S.scale_to, {v: fmt(wScale, wScale < 0.1 ? 3 : 2)});
    this.q('[data-scale="contrib"]').textContent = fill(S.scale_to, {v: fmt(cScale, cScale < 0.1 ? 3 : 2)});
    this.q(".draw-legend-text").textContent = pixels ? `${S.legend_w} ${S.legend_c}` : S.legend_h;
    this.q(".draw-folded").hidden = !(pixels);
    const arith = this.q(".draw-arith");
    arith.replaceChildren();
    arith.append(term(pixels ? S.sum_ink : S.sum_act, fmt(n.sum, 3)), op(n.bias < 0 ? "−" : "+"),
                 term(S.bias, fmt(Math.abs(n.bias), 3)), op("="), term(S.z, fmt(n.z, 3), "draw-z"), op("→"));
    if (n.act === "softmax") arith.append(term(S.softmax, percent(n.value), "draw-value"));
    else arith.append(term(S[n.act] || n.act, fmt(n.value, 3), "draw-value"));
  }

  mapCanvas(name, values, scale) {
    const body = this.q(`[data-map="${name}"]`);
    let c = body.querySelector("canvas");
    if (!c) {
      body.replaceChildren();
      c = el("canvas", "draw-map-canvas");
      c.setAttribute("role", "img");
      body.append(c);
    }
    c.setAttribute("aria-label", this.q(`[data-caption="${name}"]`).textContent || this.S[name]);
    paintImage(c, values, (v) => diverging(v, scale));
  }

  mapCells(name, values, scale, layer) {
    const body = this.q(`[data-map="${name}"]`);
    let cells = body.querySelector(".draw-cellmap");
    if (!cells || cells.children.length !== values.length) {
      body.replaceChildren();
      cells = el("div", "draw-cellmap");
      cells.setAttribute("role", "list");
      for (let j = 0; j < values.length; j++) {
        const cell = el("span", "draw-cell");
        cell.setAttribute("role", "listitem");
        cell.append(el("span", "draw-cell-k", String(j)), el("span", "draw-cell-v"));
        cells.append(cell);
      }
      body.append(cells);
    }
    Array.from(cells.children).forEach((cell, j) => {
      const [r, g, b] = diverging(values[j], scale);
      cell.style.background = `rgb(${r | 0},${g | 0},${b | 0})`;
      cell.classList.toggle("is-strong", Math.abs(values[j]) > 0.55 * scale);
      cell.lastChild.textContent = fmt(values[j], Math.abs(values[j]) >= 10 ? 1 : 2);
      cell.setAttribute("aria-label", `${this.neuronName(layer, j)}: ${fmt(values[j], 3)}`);
    });
  }

  paintWhy(w) {
    const A = this.classes[w.a], B = this.classes[w.b];
    this.q(".draw-why-title").textContent = fill(this.S.why, {a: A, b: B});
    this.q('[data-control="why-a"]').value = String(w.a);
    this.q('[data-control="why-b"]').value = String(w.b);
    const scale = maxAbs(w.map);
    const c = this.q('[data-map="why"]');
    paintImage(c, w.map, (v) => diverging(v, scale));
    c.setAttribute("aria-label", fill(this.S.why, {a: A, b: B}));
    this.q('[data-scale="why"]').textContent = fill(this.S.scale_to, {v: fmt(scale, 3)});
    const winner = w.diff >= 0 ? A : B;
    const arith = this.q(".draw-why-arith");
    arith.replaceChildren(
      term(this.S.why_sum, fmt(w.sum, 3)), op(w.bias < 0 ? "−" : "+"), term(this.S.why_bias, fmt(Math.abs(w.bias), 3)),
      op("="), term(this.S.why_diff, fmt(w.diff, 3), "draw-z"), op("→"),
      term("", fill(this.S.why_wins, {w: winner}), "draw-value"));
  }

  paintShiftMap(m) {
    const canvas = this.q(".draw-shift-map");
    if (!m || !this.q(".draw-shift").open) return;
    const dpr = window.devicePixelRatio || 1;
    const css = canvas.clientWidth || 300;
    if (canvas.width !== Math.round(css * dpr)) {
      canvas.width = Math.round(css * dpr);
      canvas.height = Math.round(css * dpr);
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const n = m.pred.length, margin = 20, cell = (css - margin) / n;
    const c = this.colours;
    ctx.clearRect(0, 0, css, css);
    ctx.font = `${Math.max(9, Math.floor(cell * 0.55))}px system-ui, sans-serif`;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillStyle = `rgb(${c.muted.join(",")})`;
    ctx.font = "10px system-ui, sans-serif";
    for (let k = 0; k < n; k += 3) {
      const v = k - m.radius;
      const label = v > 0 ? `+${v}` : String(v);
      ctx.fillText(label, margin + (k + 0.5) * cell, margin / 2);
      ctx.fillText(label, margin / 2, margin + (k + 0.5) * cell);
    }
    ctx.font = `${Math.max(9, Math.floor(cell * 0.55))}px system-ui, sans-serif`;
    let same = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const p = m.pred[i][j], conf = m.conf[i][j];
        const ok = p === m.centre_pred;
        if (ok) same++;
        const col = mix(c.card, ok ? c.ok : c.bad, 0.15 + 0.75 * conf);
        ctx.fillStyle = `rgb(${col.map((v) => v | 0).join(",")})`;
        const x = margin + j * cell, y = margin + i * cell;
        ctx.fillRect(x + 0.5, y + 0.5, cell - 1, cell - 1);
        ctx.fillStyle = conf > 0.55 ? "#fff" : `rgb(${c.fg.join(",")})`;
        ctx.fillText(this.classes[p], x + cell / 2, y + cell / 2 + 1);
      }
    }
    const mid = margin + m.radius * cell;
    ctx.strokeStyle = `rgb(${c.fg.join(",")})`;
    ctx.lineWidth = 2;
    ctx.strokeRect(mid + 1, mid + 1, cell - 2, cell - 2);
    this.q(".draw-shift-sum").textContent = fill(this.S.shiftmap_sum, {n: same, t: n * n});
    canvas.setAttribute("aria-label", `${this.S.shiftmap_label}: ${fill(this.S.shiftmap_sum, {n: same, t: n * n})}`);
  }

  /* ---------------------------------------------------------- shareable state */

  encodeState() {
    const parts = ["1", encodeInk(this.ink)];
    const [l, k] = this.selected;
    if (l !== 1 || k !== 0) parts.push(`n${l}-${k}`);
    if (!this.options.centre) parts.push("c0");
    if (this.options.dx) parts.push(`x${this.options.dx}`);
    if (this.options.dy) parts.push(`y${this.options.dy}`);
    if (this.options.scale !== 1) parts.push(`s${this.options.scale}`);
    if (this.whyPair) parts.push(`w${this.whyPair[0]}-${this.whyPair[1]}`);
    if (this.q(".draw-shift").open) parts.push("m1");
    return parts.join("~");
  }

  hashEntries() {
    const hash = location.hash.replace(/^#/, "");
    return hash ? hash.split("&") : [];
  }

  writeHash() {
    const blank = !this.ink.some((v) => v > 0);
    const state = this.encodeState();
    const entries = this.hashEntries().filter((e) => !e.startsWith(this.key + "="));
    if (!(blank && state === "1~" + encodeInk(this.ink))) entries.push(`${this.key}=${state}`);
    const url = location.pathname + location.search + (entries.length ? "#" + entries.join("&") : "");
    if (url !== location.pathname + location.search + location.hash) history.replaceState(history.state, "", url);
  }

  restore() {
    const entry = this.hashEntries().find((e) => e.startsWith(this.key + "="));
    if (!entry) return false;
    const [version, code, ...flags] = decodeURIComponent(entry.slice(this.key.length + 1)).split("~");
    const ink = version === "1" ? decodeInk(code || "") : null;
    if (!ink) return false;
    this.ink = ink;
    const clampInt = (v, lo, hi) => Math.max(lo, Math.min(hi, Math.round(Number(v) || 0)));
    for (const f of flags) {
      const v = f.slice(1);
      if (f[0] === "n") {
        const [l, k] = v.split("-").map(Number);
        if (l >= 1 && l <= this.L && k >= 0 && k < this.layers[l]) this.selected = [l, k];
      } else if (f === "c0") this.options.centre = false;
      else if (f[0] === "x") this.options.dx = clampInt(v, -6, 6);
      else if (f[0] === "y") this.options.dy = clampInt(v, -6, 6);
      else if (f[0] === "s") this.options.scale = Math.max(0.4, Math.min(1.6, Number(v) || 1));
      else if (f[0] === "w") {
        const [a, b] = v.split("-").map((x) => clampInt(x, 0, this.classes.length - 1));
        this.whyPair = [a, b];
      } else if (f === "m1") this.q(".draw-shift").open = true;
    }
    return true;
  }
}

function init() {
  for (const root of document.querySelectorAll('[data-live-demo="draw"]')) {
    if (!root.drawLab) {
      try {
        new DrawLab(root);
      } catch (e) {
        console.error("draw lab:", e);
        root.classList.add("runtime-failed");
      }
    }
  }
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init, {once: true});
else init();
