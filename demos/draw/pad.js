/* The lab's drawing pad: pointer (mouse, pen, touch) and keyboard drawing on the 28x28 grid,
 * undo, and the pictures of the preprocessing strip. A mixin of the DrawLab class (demo.js). */
import {paintImage} from "../../js/paint.js";
import {N, SIDE} from "./state.js";

const BRUSH_CORE = 0.8;           // grid pixels of full ink around the pen ...
const BRUSH_EDGE = 1.1;           // ... fading to none this much further out (a soft round brush)
const UNDO_LIMIT = 100;

/** Needs of the lab: ink, grid, steps, colours, inkColour, cursor, changed(), commit(), setNote(). */
export const Pad = (Base) => class extends Base {
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
      this.startStroke();
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
        this.startStroke();
        this.stamp({x: this.cursor.x + 0.5, y: this.cursor.y + 0.5});
        painting = e.key === " ";
        this.changed();
        if (!painting) this.commit();
      } else if (e.key === "Delete" || e.key === "Backspace") {
        e.preventDefault();
        this.startStroke();
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

  /** A stroke (pen, touch, mouse or key) begins: undoable, and it ends any note on an experiment
   *  ("an empty canvas, and still…"), which no longer describes the drawing. */
  startStroke() {
    this.pushUndo();
    this.setNote(null);
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
    paintImage(this.gridImage, this.ink, {style: this.inkColour});
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
    if (c) paintImage(c, values, {style: this.inkColour});
  }

  paintStrip(steps) {
    for (const name of ["cropped", "centred"]) {
      const fig = this.steps[name] && this.steps[name].closest("figure");
      if (fig) fig.classList.toggle("is-off", !this.options.centre);
      if (steps) this.paintStep(name, steps[name]);
      else if (!this.options.centre) this.paintStep(name, new Float32Array(N));
    }
  }
};
