/* Confusion matrix panel (demos/confusion/partial.html renders the table).
 *
 * Hovering a cell previews it in the panel; focusing it (arrow keys, click, tap) selects it, and
 * the panel returns to the selection when the pointer leaves the table. The panel shows the cell's
 * most confident test images (data/<model>/analysis.json cells["i,j"].top, descending), the least
 * confident ones not already shown (.least), and the cell's average image (cell-means.png).
 * Items carry data-index (test index) and data-prob (the network's probability for its answer).
 */
import {attachLoupe} from "../../js/loupe.js";
import {ANALYSIS_MARGIN, cropTile, loadImage, loadJSON, loadSamples, nearView, rovingGrid, setupEach} from "../../js/samples.js";
import {pct} from "../../js/format.js";

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (m, key) => (key in values ? values[key] : m));
}

/** Put `template` into `el`, with {n} as <span class="cm-n" data-count> and {true}/{pred} as <b>. */
function heading(el, template, values) {
  el.replaceChildren();
  for (const part of template.split(/(\{\w+\})/)) {
    const key = part.slice(1, -1);
    if (part.startsWith("{") && key in values) {
      const span = document.createElement(key === "n" ? "span" : "b");
      if (key === "n") {
        span.className = "cm-n";
        span.dataset.count = values.n;
        span.textContent = values.n.toLocaleString(el.closest("[data-lang]").dataset.lang);
      } else {
        span.textContent = values[key];
      }
      el.append(span);
    } else if (part) {
      el.append(part);
    }
  }
}

/** Keep `el` at the tallest height it has had at this width, so the page below does not jump
 *  while the reader moves from cell to cell. */
function steady(el) {
  let width = 0, tallest = 0;
  return () => {
    const w = el.clientWidth;
    if (w !== width) { width = w; tallest = 0; el.style.minHeight = ""; }
    tallest = Math.max(tallest, el.offsetHeight);
    el.style.minHeight = `${tallest}px`;
  };
}

function setup(fig) {
  const S = JSON.parse(fig.dataset.strings);
  const labels = JSON.parse(fig.dataset.labels);
  const lang = fig.dataset.lang;
  const model = fig.dataset.model;
  const table = fig.querySelector("table.cm");
  const panel = fig.querySelector(".cm-panel");
  const head = panel.querySelector(".cm-heading");
  const status = panel.querySelector(".cm-status");
  const top = panel.querySelector(".cm-top");
  const least = panel.querySelector(".cm-least");
  const mean = panel.querySelector(".cm-mean");
  const hold = steady(fig.querySelector(".cm-layout"));
  const cells = [...table.querySelectorAll("td.cm-cell")];
  let selected = null;
  let shown = null;
  let assets = null;          // {analysis, samples, means|null} once loaded
  let failed = false;

  // a screen ahead of the reader: the panel grows when its pictures come, and should be full by then
  const load = nearView(fig, ANALYSIS_MARGIN).then(() => Promise.all([
    loadJSON(`${model}/analysis.json`),
    loadSamples(fig.dataset.dataset),
    loadImage(`${model}/cell-means.png`).catch(() => null),
  ])).then(([analysis, samples, means]) => { assets = {analysis, samples, means}; });

  function gallery(section, rows, note) {
    section.querySelector(".cm-note").textContent = note;
    const list = section.querySelector(".cm-gallery");
    list.replaceChildren(...rows.map(([index, p]) => {
      const li = document.createElement("li");
      li.className = "cm-item";
      li.dataset.index = index;
      li.dataset.prob = p;
      const text = pct(p);
      li.append(assets.samples.canvas(index, fill(S.image, {index, p: text})));
      const span = document.createElement("span");
      span.className = "cm-p";
      span.textContent = text;
      span.setAttribute("aria-hidden", "true");
      li.append(span);
      li.title = fill(S.image, {index, p: text});
      return li;
    }));
    section.hidden = rows.length === 0;
  }

  function show(cell) {
    if (!cell || cell === shown) return;
    shown = cell;
    cells.forEach((c) => c.classList.toggle("cm-shown", c === cell));
    const i = +cell.dataset.i, j = +cell.dataset.j, n = +cell.dataset.count;
    panel.dataset.cell = `${i},${j}`;
    head.dataset.count = n;
    heading(head, n === 0 ? S.cell_none : i === j && n > 1 ? S.cell_diag : n === 1 ? S.cell_one : S.cell,
            {n, true: labels[i], pred: labels[j]});
    if (!assets) {
      status.hidden = false;
      status.textContent = failed ? S.failed : S.loading;
      return;
    }
    status.hidden = true;
    const data = assets.analysis.cells[`${i},${j}`] || {count: 0, top: [], least: []};
    const nfmt = n.toLocaleString(lang);
    gallery(top, data.top, fill(data.top.length < n ? S.top_of : S.top_all,
                                {n: nfmt, shown: data.top.length}));
    const inTop = new Set(data.top.map(([t]) => t));
    const rest = data.least.filter(([t]) => !inTop.has(t));
    gallery(least, rest, fill(S.least_note, {shown: rest.length}));
    const box = mean.querySelector(".cm-mean-box");
    box.querySelector("canvas")?.remove();
    if (assets.means && n > 0) {
      const tile = assets.means.naturalWidth / labels.length;
      box.prepend(cropTile(assets.means, tile, i, j, fill(S.mean_note, {n: nfmt})));
      box.querySelector(".cm-note").textContent = fill(S.mean_note, {n: nfmt});
      mean.hidden = false;
    } else {
      mean.hidden = true;
    }
    hold();
  }

  function select(cell) {
    selected = cell;
    cells.forEach((c) => {
      c.classList.toggle("cm-selected", c === cell);
      c.setAttribute("aria-selected", c === cell ? "true" : "false");
    });
    show(cell);
  }

  const grid = rovingGrid(table, "td.cm-cell", {onFocus: select, onActivate: select});
  attachLoupe(table, "td.cm-cell", {pick: (cell) => { grid.current(cell); select(cell); },
                              heads: {row: (i) => labels[i], col: (j) => labels[j]}});
  table.addEventListener("pointerover", (e) => {
    const cell = e.target.closest("td.cm-cell");
    if (cell && e.pointerType === "mouse") show(cell);
  });
  table.addEventListener("pointerleave", (e) => {
    if (e.pointerType === "mouse" && selected) show(selected);
  });
  table.addEventListener("click", (e) => {
    const cell = e.target.closest("td.cm-cell");
    if (cell) select(cell);
  });

  const [si, sj] = (fig.dataset.start || "0,0").split(",");
  const start = cells.find((c) => c.dataset.i === si && c.dataset.j === sj) || cells[0];
  grid.current(start);
  select(start);
  load.then(() => {
    const again = shown;
    shown = null;
    show(again);
    fig.classList.add("cm-ready");
  }, (err) => {
    failed = true;
    status.hidden = false;
    status.textContent = S.failed;
    fig.classList.add("cm-failed");
    console.error("confusion demo:", err);
  });
}

setupEach(document.querySelectorAll("figure.demo-confusion"), setup);
