/* The lab's network view: the neurons (select by click, tap or arrow keys), the links between
 * them coloured by each input's share (w * a) and the output bars. A mixin of DrawLab (demo.js). */
import {fixed as fmt, pct} from "../../js/format.js";
import {fill, sure} from "./dom.js";

/** Needs of the lab: neurons, net, links, selected, layers, L, S, classes, colours, last. */
export const Network = (Base) => class extends Base {
  bindNetwork() {
    for (const b of this.neurons) {
      b.addEventListener("click", (e) => {
        this.select(Number(b.dataset.layer), Number(b.dataset.unit));
        if (e.detail > 0) this.revealInspector();   // a click or tap (keys keep the focus in view)
      });
      b.addEventListener("keydown", (e) => this.neuronKey(e, b));
    }
  }

  /** Bring the inspector into view if most of the screen would hide it (on a phone it sits far
   *  below the neurons). */
  revealInspector() {
    const box = this.q(".draw-inspect");
    if (box.hidden) return;
    const r = box.getBoundingClientRect();
    if (r.top > window.innerHeight * 0.7 || r.bottom < 0) box.scrollIntoView({block: "start"});
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
    return layer < this.L ? fill(this.S.hidden_n, {l: layer, k: unit + 1})   // h1 … hn, as every figure numbers them
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
      b.querySelector(".draw-out-pct").textContent = pct(p, 0);
      b.classList.toggle("is-pred", k === res.pred);
      b.title = `${this.classes[k]}: ${sure(p)}`;
      // The name holds the visible text in order (class, then the short percent: axe's
      // label-content-name-mismatch); the title keeps the precise value.
      b.setAttribute("aria-label", `${this.S.output} ${this.classes[k]} ${pct(p, 0)}`);
    });
    this.q(".draw-verdict-digit").textContent = this.classes[res.pred];
    this.q(".draw-verdict-conf").textContent = fill(this.S.sure, {p: sure(res.conf)});
    this.drawLinks();
  }
};
