/* The representation map (demos/repmap/partial.html): every test image as a dot where the hidden
 * layer puts it, and the reader's drawing as one more point that moves while they draw.
 *
 * JS draws; Python computes. The dots, regions and PCA come from the build (src/nnviz/repmap.py,
 * loaded by map.js); the drawing is placed by demos/repmap/adapter.py in the runtime, one worker
 * round trip per change, at most one in flight (the latest drawing is sent next):
 *     nnviz.call("repmap.locate", [plane model, pca model, mean, components, pixels])
 * The pad and its MNIST preprocessing are the drawing lab's (demos/draw/pad.js, adapter.py).
 *
 * Two stacked canvases: .repmap-map holds regions and dots (repainted when the view, a filter, the
 * size or the colour scheme changes), .repmap-overlay the focus ring and the reader's point
 * (repainted on every hover and drawing). For tests and benchmarks the figure carries
 *     el.repmap          this controller (maps, index, focus, you = the last placed drawing or null
 *                        when it was blank, placedSeq = its drawing's version, seq = the current one)
 *     el.dataset.ready = "1" once the maps are loaded; data-focus, data-located (count), data-view
 *     a "repmap:located" event after each placed drawing, "repmap:focus" after each focus change.
 */
import {fixed, num, pct} from "../../js/format.js";
import {cssColour, mix} from "../../js/paint.js";
import {loadImage, nearView} from "../../js/samples.js";
import {fill} from "../draw/dom.js";
import {Pad} from "../draw/pad.js";
import {N} from "../draw/state.js";
import {Index, loadMap, paintBase, regionAt, toView} from "./map.js";

const HIT = 10;          // CSS pixels: a pointer this close to a dot picks it
const MARK = 7;          // CSS pixels: radius of the reader's point

class RepMap extends Pad(class {}) {
  constructor(root) {
    super();
    this.root = root;
    this.S = JSON.parse(root.dataset.strings || "{}");
    this.classes = JSON.parse(root.dataset.classes || "[]");
    this.q = (sel) => root.querySelector(sel);
    this.qa = (sel) => Array.from(root.querySelectorAll(sel));
    // what the drawing lab's pad needs (pad.js)
    this.ink = new Float32Array(N);
    this.undoStack = [];
    this.cursor = {x: 14, y: 14};
    this.steps = {};
    this.options = {centre: true};
    this.grid = this.q(".repmap-grid");

    this.base = this.q(".repmap-map");
    this.overlay = this.q(".repmap-overlay");
    this.view = "plane";
    this.filter = {cls: null, mistakes: false};
    this.focus = -1;
    this.you = null;
    this.seq = 0;
    this.busy = this.dirty = this.ready = false;
    this.located = 0;
    this.maps = null;

    this.readColours();
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
      this.readColours();
      this.paintGrid();
      this.paintAll();
    });
    this.bindDrawing();
    this.bindControls();
    this.bindMap();
    new ResizeObserver(() => { this.sizeGrid(); this.size(); }).observe(root);
    root.repmap = this;
    nearView(root).then(() => this.load());    // ~140 kB and ~100 ms of painting: only for a reader near it
    this.connect();
  }

  setNote() {}                      // the pad clears notes on a new stroke; this demo has none
  commit() {}

  readColours() {
    const v = (name, fallback) => cssColour(name, fallback, this.root);
    const tint = parseFloat(getComputedStyle(this.root).getPropertyValue("--region-tint"));
    this.colours = {
      bg: v("--bg", "#fdfdfb"), fg: v("--fg", "#1d1f23"), muted: v("--muted", "#5b6068"),
      accent: v("--accent", "#1a5fb4"), paper: v("--repmap-paper", "#ffffff"), inkc: v("--repmap-ink", "#111111"),
      cat: Array.from({length: 10}, (_, k) => v(`--cat-${k}`, "#888888")), tint: Number.isFinite(tint) ? tint : 0.3,
    };
    const {paper, inkc} = this.colours;
    this.inkColour = (x) => mix(paper, inkc, Math.max(0, Math.min(1, x)));
  }

  async load() {
    try {
      const [plane, pca] = await Promise.all([loadMap(this.root.dataset.model), loadMap(this.root.dataset.pca)]);
      this.maps = {plane, pca};
      this.refilter();
      this.root.dataset.ready = "1";
      if (this.dirty) this.requestUpdate();
    } catch (e) {
      this.q(".repmap-count").textContent = String(e.message || e);
      this.root.dataset.error = String(e.message || e);
    }
  }

  get map() { return this.maps && this.maps[this.view]; }

  /* ---------------------------------------------------------- runtime and the reader's point */

  connect() {
    const you = this.q(".repmap-you");
    const start = () => {
      if (!window.nnviz) { you.textContent = this.S.failed; return; }
      window.nnviz.ready.then(() => {
        this.ready = true;
        you.textContent = this.S.you_none;
        this.requestUpdate();
      }, () => { you.textContent = this.S.failed; });
    };
    if (window.nnviz || document.readyState === "complete") start();
    else window.addEventListener("load", start, {once: true});
  }

  changed() {
    if (!this.gridQueued) {
      this.gridQueued = true;
      requestAnimationFrame(() => { this.gridQueued = false; this.paintGrid(); });
    }
    this.requestUpdate();
  }

  requestUpdate() {
    this.seq++;
    if (!this.ready || this.busy || !this.maps) { this.dirty = true; return; }
    this.send();
  }

  send() {
    const seq = this.seq, pixels = Float64Array.from(this.ink), pca = this.maps.pca.meta;
    const nn = window.nnviz;
    this.busy = true;
    this.dirty = false;
    nn.call("repmap.locate", [nn.model(this.root.dataset.model), nn.model(this.root.dataset.pca), pca.mean, pca.components, pixels])
      .then((result) => { this.busy = false; this.placed(result, seq, pixels); },
            (error) => { this.busy = false; this.q(".repmap-you").textContent = String(error.message || error); })
      .then(() => { if (this.dirty) this.send(); });
  }

  placed(result, seq, pixels) {
    this.placedSeq = seq;
    this.you = result.ink > 0 ? {seq, pixels: Array.from(pixels), ...result} : null;
    this.paintOverlay();
    this.describeYou();
    this.located++;
    this.root.dataset.located = String(this.located);
    this.root.dispatchEvent(new CustomEvent("repmap:located", {detail: {seq}}));
  }

  /** The reader's point in the current view: {x, y, u, v, pred, conf} (u, v may leave [0, 1]). */
  youHere() {
    if (!this.you || !this.map) return null;
    const [x, y] = this.view === "plane" ? this.you.plane : this.you.pca;
    const probs = this.view === "plane" ? this.you.plane_probs : this.you.pca_probs;
    const pred = this.view === "plane" ? this.you.plane_pred : this.you.pca_pred;
    return {x, y, ...toView(this.map, x, y), pred, conf: probs[pred]};
  }

  describeYou() {
    const p = this.youHere();
    const el = this.q(".repmap-you");
    if (!this.ready) return;
    if (!p) { el.textContent = this.S.you_none; return; }
    const out = p.u < 0 || p.u > 1 || p.v < 0 || p.v > 1;
    el.textContent = fill(this.S.you_at, {x: fixed(p.x), y: fixed(p.y), p: this.classes[p.pred], conf: pct(p.conf, 0)})
      + (out ? " " + this.S.you_out : "");
  }

  /* ---------------------------------------------------------- controls and filters */

  bindControls() {
    const actions = {undo: () => this.undo(), clear: () => { this.pushUndo(); this.ink = new Float32Array(N); this.changed(); }};
    for (const b of this.qa("[data-action]")) b.addEventListener("click", () => actions[b.dataset.action]());
    for (const b of this.qa("[data-view]")) b.addEventListener("click", () => this.setView(b.dataset.view));
    const cls = this.q('[data-control="class"]'), wrong = this.q('[data-control="mistakes"]');
    cls.addEventListener("change", () => { this.filter.cls = cls.value === "" ? null : Number(cls.value); this.refilter(); });
    wrong.addEventListener("change", () => { this.filter.mistakes = wrong.checked; this.refilter(); });
  }

  setView(view) {
    this.view = view;
    for (const b of this.qa("[data-view]")) b.setAttribute("aria-pressed", String(b.dataset.view === view));
    this.root.dataset.view = view;
    this.q(".repmap-axis-x").textContent = this.S[`axis_${view}_x`];
    this.q(".repmap-axis-y").textContent = this.S[`axis_${view}_y`];
    const pca = this.maps && this.maps.pca.meta;
    this.q(".repmap-note").textContent = view === "plane" ? this.S.note_plane
      : fill(this.S.note_pca, {hidden: pca ? pca.hidden : "", share: pca ? pct(pca.share[0] + pca.share[1], 0) : ""});
    this.refilter();
    this.describeYou();
  }

  refilter() {
    const m = this.map;
    if (!m) return;
    const {cls, mistakes} = this.filter;
    const visible = new Uint8Array(m.n);
    for (let i = 0; i < m.n; i++) visible[i] = (cls === null || m.label[i] === cls) && (!mistakes || m.label[i] !== m.pred[i]) ? 1 : 0;
    this.index = new Index(m, visible);
    this.q(".repmap-count").textContent = fill(this.S.shown, {n: num(this.index.count)});
    if (this.focus >= 0 && !visible[this.focus]) this.setFocus(-1);
    this.paintAll();
    if (this.focus >= 0) this.describeFocus();
  }

  /* ---------------------------------------------------------- the map: size, paint, hit-test */

  size() {
    const dpr = window.devicePixelRatio || 1;
    const w = Math.round(this.overlay.clientWidth * dpr);
    if (w > 0 && this.base.width !== w) {
      for (const c of [this.base, this.overlay]) c.width = c.height = w;
      this.paintAll();
    }
  }

  paintAll() {
    if (!this.map || !this.base.width) return;
    const dpr = window.devicePixelRatio || 1;
    paintBase(this.base.getContext("2d"), this.map, this.index.visible, this.colours, this.base.width, Math.max(1, 1.2 * dpr));
    this.paintOverlay();
  }

  paintOverlay() {
    const c = this.overlay, ctx = c.getContext("2d"), s = c.width, dpr = window.devicePixelRatio || 1;
    ctx.clearRect(0, 0, s, s);
    if (!this.map) return;
    const fg = `rgb(${this.colours.fg.join(",")})`, bg = `rgb(${this.colours.bg.join(",")})`;
    if (this.focus >= 0) {
      const x = this.map.u[this.focus] * s, y = (1 - this.map.v[this.focus]) * s;
      ctx.lineWidth = 2 * dpr;
      for (const [colour, r] of [[bg, 7], [fg, 5]]) {
        ctx.strokeStyle = colour;
        ctx.beginPath(); ctx.arc(x, y, r * dpr, 0, 2 * Math.PI); ctx.stroke();
      }
    }
    const p = this.youHere();
    if (p) {
      const x = Math.min(1, Math.max(0, p.u)) * s, y = (1 - Math.min(1, Math.max(0, p.v))) * s;
      ctx.fillStyle = `rgb(${this.colours.cat[p.pred].join(",")})`;
      ctx.lineWidth = 3 * dpr;
      ctx.strokeStyle = fg;
      ctx.beginPath(); ctx.arc(x, y, MARK * dpr, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
      ctx.lineWidth = 1.5 * dpr;
      ctx.strokeStyle = bg;
      ctx.beginPath(); ctx.arc(x, y, (MARK + 2.5) * dpr, 0, 2 * Math.PI); ctx.stroke();
    }
  }

  /** Client (screen) coordinates of dot i in the current view (tests and benchmarks). */
  screenOf(i) {
    const r = this.overlay.getBoundingClientRect();
    return {x: r.left + this.map.u[i] * r.width, y: r.top + (1 - this.map.v[i]) * r.height};
  }

  pick(clientX, clientY) {
    if (!this.index) return -1;
    const r = this.overlay.getBoundingClientRect();
    return this.index.nearest((clientX - r.left) / r.width, 1 - (clientY - r.top) / r.height, HIT / r.width);
  }

  bindMap() {
    const o = this.overlay;
    const at = (e) => {
      const t0 = performance.now();
      const i = this.pick(e.clientX, e.clientY);
      if (i >= 0 && i !== this.focus) this.setFocus(i);
      this.lastHoverMs = performance.now() - t0;
    };
    o.addEventListener("pointermove", (e) => { if (e.pointerType !== "touch") at(e); });
    o.addEventListener("pointerdown", at);      // a tap (touch) or a click picks; a swipe still scrolls
    o.addEventListener("keydown", (e) => {
      const dirs = {ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1]};
      if (!this.index) return;
      if (e.key in dirs) {
        e.preventDefault();
        this.setFocus(this.focus < 0 || !this.index.visible[this.focus] ? this.index.first() : this.index.step(this.focus, ...dirs[e.key]));
      } else if (e.key === "Home") {
        e.preventDefault();
        this.setFocus(this.index.first());
      } else if (e.key === "Escape") {
        this.setFocus(-1);
      }
    });
  }

  setFocus(i) {
    this.focus = i;
    this.root.dataset.focus = String(i);
    this.paintOverlay();
    this.describeFocus();
    this.root.dispatchEvent(new CustomEvent("repmap:focus", {detail: {index: i}}));
  }

  describeFocus() {
    const i = this.focus, m = this.map, text = this.q(".repmap-card-text"), img = this.q(".repmap-card-img");
    if (i < 0 || !m) {
      text.textContent = this.S.card_empty;
      img.getContext("2d").clearRect(0, 0, 28, 28);
      return;
    }
    const t = m.label[i], p = m.pred[i], region = regionAt(m, m.u[i], m.v[i]);
    text.textContent = fill(this.S.card, {i: num(i), t: this.classes[t], p: this.classes[p]})
      + " " + (t === p ? this.S.card_right : this.S.card_wrong)
      + (region === null ? "" : " " + fill(this.S.card_region, {r: this.classes[region]}));
    text.dataset.region = region === null ? "" : String(region);
    this.showImage(i, img);
  }

  /** Test image i from its sprite data/repmap/test/<dataset>-<k>.png (fetched on first use). */
  async showImage(i, canvas) {
    const {chunk, chunk_cols: cols, images} = this.map.meta;
    const sheet = await loadImage("repmap/" + images.replace("{k}", Math.floor(i / chunk)));
    if (this.focus !== i) return;               // the reader has moved on
    const k = i % chunk, ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(sheet, (k % cols) * 28, Math.floor(k / cols) * 28, 28, 28, 0, 0, 28, 28);
    canvas.dataset.index = String(i);
  }
}

function init() {
  for (const root of document.querySelectorAll('[data-live-demo="repmap"]')) {
    if (root.repmap) continue;
    try {
      new RepMap(root);
    } catch (e) {
      console.error("repmap:", e);
      root.classList.add("runtime-failed");
    }
  }
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init, {once: true});
else init();
