/* The drawing lab (demos/draw/partial.html): draw a digit, watch every neuron react.
 *
 * JS draws; Python computes. This file keeps the drawing (28x28 ink values in [0, 1]) and paints
 * what demos/draw/adapter.py returns: one worker round trip per repaint,
 *     nnviz.call("draw.repaint", [model, pixels, options]) -> {input, steps, activations, probs, ...}
 * with at most one request in flight; while one is out, only the latest drawing is sent next.
 *
 * The lab is one class made of four parts: this file (runtime, controls, notes, one repaint),
 * pad.js (drawing), network.js (the neurons and their links), painters.js (inspector, "why A and
 * not B", shift map); state.js is the URL codec (#<figure id>=1~<ink>~n<layer>-<unit>~...).
 * For tests and benchmarks the figure element carries
 *     el.nnvizLast  {seq, pixels, options, input, probs, activations, pred, conf}  of the last repaint
 *     el.dataset.pred, el.dataset.repaints, and a "draw:repaint" event after every repaint;
 *     el.drawLab    this controller (seq = version of the drawing, busy = a request is out).
 */

import {cssColour, mix} from "../../js/paint.js";
import {loadSamples} from "../../js/samples.js";
import {fill, flat, sure} from "./dom.js";
import {Network} from "./network.js";
import {Pad} from "./pad.js";
import {Painters} from "./painters.js";
import {N, blankState, decodeState, encodeState, readHash, writeHash} from "./state.js";

class DrawLab extends Painters(Network(Pad(class {}))) {
  constructor(root) {
    super();
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
    root.addEventListener("draw:load", (e) => this.testDigit(Number(e.detail.index)));
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
        this.q(".draw-verdict-conf").textContent = this.S.failed;   // the page's runtime script is missing
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
    const v = (name, fallback) => cssColour(name, fallback, this.root);
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

  /** Load test image `index` (default: a random one). A chosen one (the mistakes gallery's
   *  "draw:load" event) comes as the test set has it, preparation off, so that the lab gives the
   *  answer the gallery shows. */
  async testDigit(index = null) {
    try {
      const samples = await loadSamples(this.root.dataset.dataset || "mnist");
      const asIs = index !== null;
      if (asIs && !samples.has(index)) throw new Error(`test image ${index} is not in the sample sprite`);
      if (asIs) {
        Object.assign(this.options, {centre: false, dx: 0, dy: 0, scale: 1});
        this.syncControls();
      }
      const i = asIs ? index : samples.index[Math.floor(Math.random() * samples.index.length)];
      this.setInk(samples.pixels(i), {kind: "digit", index: i, label: samples.label(i), asIs});
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
        ? fill(this.S.note_noise, {c: this.classes[res.pred], p: sure(res.conf)}) : "";
    } else if (n && n.kind === "blank") {
      text = res && this.last.seq >= n.seq
        ? fill(this.S.note_blank, {c: this.classes[res.pred], p: sure(res.conf)}) : "";
    } else if (n && n.kind === "invert") text = this.S.note_invert;
    else if (n && n.kind === "digit") text = fill(n.asIs ? this.S.note_test : this.S.note_digit, {i: n.index, c: this.classes[n.label]});
    else if (n && n.kind === "restored") text = this.S.note_restored;
    else if (n && n.kind === "error") text = n.text;
    if (p.textContent !== text) p.textContent = text;
  }

  /* ---------------------------------------------------------- network view */









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
        fill(this.S.announce, {c: this.classes[res.pred], p: sure(res.conf)});
    }
    this.repaints++;
    this.root.nnvizLast = {seq: sent.seq, pixels: sent.pixels, options: sent.options, input: res.input,
                           probs: res.probs, activations: res.activations, pred: res.pred, conf: res.conf};
    this.root.dataset.pred = String(res.pred);
    this.root.dataset.repaints = String(this.repaints);
    this.root.dispatchEvent(new CustomEvent("draw:repaint", {detail: {seq: sent.seq}}));
  }







  /* ---------------------------------------------------------- shareable state (state.js) */

  snapshot() {
    return {ink: this.ink, neuron: this.selected, centre: this.options.centre, dx: this.options.dx,
            dy: this.options.dy, scale: this.options.scale, why: this.whyPair,
            shiftMap: this.q(".draw-shift").open};
  }

  writeHash() {
    const text = encodeState(this.snapshot());
    writeHash(this.key, text === encodeState(blankState()) ? null : text);
  }

  /** The state in the URL, if any and readable; an unreadable one is ignored (noted on the console). */
  restore() {
    const text = readHash(this.key);
    const s = text === null ? null : decodeState(text, {layers: this.layers, classes: this.classes.length});
    if (!s) return false;
    this.ink = s.ink;
    this.selected = s.neuron;
    this.whyPair = s.why;
    Object.assign(this.options, {centre: s.centre, dx: s.dx, dy: s.dy, scale: s.scale});
    if (s.shiftMap) this.q(".draw-shift").open = true;
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
