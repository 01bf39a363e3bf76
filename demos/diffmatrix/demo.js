/* What the hidden layer changed (demos/diffmatrix/partial.html renders the difference matrix).
 *
 * Clicking, tapping or focusing a cell (arrow keys move focus, Enter/Space select) lists the test
 * images the second model fixed or broke there, from data/compare/<a>__<b>.json: cells are keyed
 * "true,wrong prediction", so an off-diagonal cell (i, j) lists cells["i,j"], and a diagonal cell
 * (i, i) gathers every cells["i,*"] (the wrong answer is shown under each image). Items carry
 * data-index and data-kind ("fixed" | "broke").
 */
import {attachLoupe} from "../../js/loupe.js";
import {ANALYSIS_MARGIN, loadJSON, loadSamples, nearView, rovingGrid, setupEach} from "../../js/samples.js";

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (m, key) => (key in values ? values[key] : m));
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
  const [A, B] = [fig.dataset.a, fig.dataset.b];
  const table = fig.querySelector("table.dm");
  const panel = fig.querySelector(".dm-panel");
  const head = panel.querySelector(".dm-heading");
  const status = panel.querySelector(".dm-status");
  const sections = {fixed: panel.querySelector(".dm-fixed"), broke: panel.querySelector(".dm-broke")};
  const hold = steady(fig.querySelector(".dm-layout"));
  const cells = [...table.querySelectorAll("td.dm-cell")];
  let selected = null;
  let assets = null;
  let failed = false;

  const load = nearView(fig, ANALYSIS_MARGIN)     // a screen ahead: the panel grows when they come
    .then(() => Promise.all([loadJSON(`compare/${A}__${B}.json`), loadSamples(fig.dataset.dataset)]))
    .then(([compare, samples]) => { assets = {compare, samples}; });

  /** [[testIndex, wrong prediction], ...] of one kind for cell (i, j). */
  function rows(kind, i, j) {
    const out = [];
    for (const [key, cell] of Object.entries(assets.compare.cells)) {
      const [t, p] = key.split(",").map(Number);
      if (t === i && (i === j || p === j)) out.push(...cell[kind].map((index) => [index, p]));
    }
    return out.sort((x, y) => x[1] - y[1] || x[0] - y[0]);
  }

  /** The exact number of images behind a list, when the export gives it (n_fixed / n_broke). */
  function total(kind, i, j) {
    let n = 0;
    for (const [key, cell] of Object.entries(assets.compare.cells)) {
      const [t, p] = key.split(",").map(Number);
      if (t !== i || (i !== j && p !== j)) continue;
      const exact = cell[`n_${kind}`];
      if (typeof exact !== "number") return null;
      n += exact;
    }
    return n;
  }

  function render(cell) {
    const i = +cell.dataset.i, j = +cell.dataset.j, v = +cell.dataset.diff;
    const diag = i === j;
    const change = v === 0 ? S.same : fill(v < 0 ? S.fewer : S.more, {n: Math.abs(v).toLocaleString(lang)});
    head.textContent = fill(diag ? S.diag : S.cell, {true: labels[i], pred: labels[j], change});
    panel.dataset.cell = `${i},${j}`;
    if (!assets) {
      status.hidden = false;
      status.textContent = failed ? S.failed : S.loading;
      return;
    }
    status.hidden = true;
    for (const kind of ["fixed", "broke"]) {
      const section = sections[kind];
      const list = rows(kind, i, j);
      const n = total(kind, i, j);
      const shown = list.length;
      // Without exact counts the lists may be cut short by the export: say "listed", not a total.
      const count = n === null ? fill(S.listed, {shown})
        : n > shown ? fill(S.count_shown, {n: n.toLocaleString(lang), shown})
          : fill(n === 1 ? S.count_one : S.count, {n: n.toLocaleString(lang)});
      section.querySelector(".dm-count").textContent = `(${count})`;
      section.querySelector(".dm-note").textContent = shown
        ? fill(S[`${kind}_${diag ? "diag" : "off"}`], {a: A, b: B, pred: labels[j]}) : S.none;
      section.querySelector(".dm-gallery").replaceChildren(...list.map(([index, wrong]) => {
        const li = document.createElement("li");
        li.className = "dm-item";
        li.dataset.index = index;
        li.dataset.kind = kind;
        const alt = diag ? fill(S.image_was, {index, pred: labels[wrong]}) : fill(S.image, {index});
        li.title = alt;
        li.append(assets.samples.canvas(index, alt));
        if (diag) {
          const span = document.createElement("span");
          span.className = "dm-was";
          span.textContent = labels[wrong];
          span.setAttribute("aria-hidden", "true");
          li.append(span);
        }
        return li;
      }));
      section.hidden = false;
    }
    hold();
  }

  function select(cell) {
    selected = cell;
    cells.forEach((c) => {
      c.classList.toggle("dm-selected", c === cell);
      c.setAttribute("aria-selected", c === cell ? "true" : "false");
    });
    render(cell);
  }

  const grid = rovingGrid(table, "td.dm-cell", {onFocus: select, onActivate: select});
  attachLoupe(table, "td.dm-cell", {pick: (cell) => { grid.current(cell); select(cell); },
                              heads: {row: (i) => labels[i], col: (j) => labels[j]}});
  table.addEventListener("click", (e) => {
    const cell = e.target.closest("td.dm-cell");
    if (cell) select(cell);
  });
  const [si, sj] = (fig.dataset.start || "0,0").split(",");
  const start = cells.find((c) => c.dataset.i === si && c.dataset.j === sj) || cells[0];
  grid.current(start);
  select(start);
  load.then(() => {
    render(selected);
    fig.classList.add("dm-ready");
  }, (err) => {
    failed = true;
    render(selected);
    fig.classList.add("dm-failed");
    console.error("diffmatrix demo:", err);
  });
}

setupEach(document.querySelectorAll("figure.demo-diffmatrix"), setup);
