/* The lab's explanations: the neuron inspector (weights, contribution, the sum written out, the
 * test images a hidden neuron answers to), "why A and not B" and the shift map. A mixin of
 * DrawLab (demo.js). */
import {fixed as fmt} from "../../js/format.js";
import {diverging, mix, paintImage} from "../../js/paint.js";
import {loadStrips, stripPanel} from "../../js/samples.js";
import {el, fill, sure} from "./dom.js";
import {N, SIDE} from "./state.js";

/** One labelled number of an arithmetic line: label above, value below. */
function term(label, value, cls) {
  const s = el("span", "draw-term" + (cls ? " " + cls : ""));
  s.append(el("span", "draw-term-label", label), el("span", "draw-term-value", value));
  return s;
}

function op(text) {
  return el("span", "draw-op", text);
}

function maxAbs(values) {
  let m = 0;
  for (const v of values) m = Math.max(m, Math.abs(v));
  return m;
}

/** Needs of the lab: S, classes, colours, last, options. */
export const Painters = (Base) => class extends Base {
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

  paintInspector(n) {
    const box = this.q(".draw-inspect");
    if (!n) { box.hidden = true; return; }
    box.hidden = false;
    this.q(".draw-inspect-name").textContent = this.neuronName(n.layer, n.unit);
    const pixels = n.inputs === N;
    const S = this.S;
    const wScale = maxAbs(n.weights), cScale = maxAbs(n.contrib);
    // captions first: the maps take their accessible names from them (in the page's language)
    if (pixels) {
      this.q('[data-caption="weights"]').textContent = S.weights;
      this.q('[data-caption="contrib"]').textContent = S.contrib;
      this.mapCanvas("weights", n.weights, wScale);
      this.mapCanvas("contrib", n.contrib, cScale);
    } else {
      const l = n.layer - 1;
      this.q('[data-caption="weights"]').textContent = fill(S.weights_hidden, {l});
      this.q('[data-caption="contrib"]').textContent = S.contrib_hidden;
      this.mapCells("weights", n.weights, wScale, l);
      this.mapCells("contrib", n.contrib, cScale, l);
    }
    this.q('[data-scale="weights"]').textContent = fill(S.scale_to, {v: fmt(wScale, wScale < 0.1 ? 3 : 2)});
    this.q('[data-scale="contrib"]').textContent = fill(S.scale_to, {v: fmt(cScale, cScale < 0.1 ? 3 : 2)});
    this.q(".draw-legend-text").textContent = pixels ? `${S.legend_w} ${S.legend_c}` : S.legend_h;
    this.q(".draw-folded").hidden = !(pixels);
    const arith = this.q(".draw-arith");
    arith.replaceChildren();
    arith.append(term(pixels ? S.sum_ink : S.sum_act, fmt(n.sum, 3)), op(n.bias < 0 ? "−" : "+"),
                 term(S.bias, fmt(Math.abs(n.bias), 3)), op("="), term(S.z, fmt(n.z, 3), "draw-z"), op("→"));
    if (n.act === "softmax") arith.append(term(S.softmax, sure(n.value), "draw-value"));
    else arith.append(term(S[n.act] || n.act, fmt(n.value, 3), "draw-value"));
    this.paintStrips(n.layer, n.layer < this.L ? n.unit : null);
  }

  /** The selected hidden neuron's top and bottom test images (data/<model>/neurons.*). */
  paintStrips(layer, unit) {
    const box = this.q(".draw-strips");
    if (!box) return;
    this.strips = this.strips || loadStrips(this.root.dataset.strips);
    this.strips.then((st) => {
      const [l, u] = this.selected;
      if (l === layer && (u === unit || unit === null)) stripPanel(box, st, layer, unit, this.S);
    }, (e) => console.error("draw: neuron strips:", e));
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
    c.setAttribute("aria-label", this.q(`[data-caption="${name}"]`).textContent);
    paintImage(c, values, {style: "diverging", scale});
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
      const [r, g, b] = diverging(scale > 0 ? values[j] / scale : 0);
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
    paintImage(c, w.map, {style: "diverging", scale});
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
};
