/* Top sample per cell (demos/topgrid/partial.html renders the grid and every cell's description).
 * Draws each cell's most confident test image (data-index) from the sample sprite; hovering or
 * focusing a cell (arrow keys move focus) shows its description (probability, count) below. */
import {attachLoupe} from "../../js/loupe.js";
import {inSlices, loadSamples, rovingGrid, setupEach} from "../../js/samples.js";

function setup(fig) {
  const table = fig.querySelector("table.tg");
  const readout = fig.querySelector(".tg-readout");
  const cells = [...table.querySelectorAll("td.tg-cell")];
  let focused = null;

  const say = (cell) => {
    cells.forEach((c) => c.classList.toggle("tg-shown", c === cell));
    readout.textContent = cell ? cell.getAttribute("aria-label") : readout.dataset.hint;
  };
  const grid = rovingGrid(table, "td.tg-cell", {onFocus: (cell) => { focused = cell; say(cell); }});
  const labels = [...table.querySelectorAll("th.tg-row")].map((th) => th.textContent.trim());
  attachLoupe(table, "td.tg-cell", {pick: (cell) => { grid.current(cell); focused = cell; say(cell); },
                              heads: {row: (i) => labels[i], col: (j) => labels[j]}});
  table.addEventListener("focusout", (e) => {
    if (!table.contains(e.relatedTarget)) { focused = null; say(null); }
  });
  table.addEventListener("pointerover", (e) => {
    const cell = e.target.closest("td.tg-cell");
    if (cell) say(cell);
  });
  table.addEventListener("pointerleave", () => say(focused));
  table.addEventListener("click", (e) => {
    const cell = e.target.closest("td.tg-cell");
    if (cell) cell.focus();
  });

  loadSamples(fig.dataset.dataset, fig).then((samples) => inSlices(cells, (cell) => {   // no long task
    if (cell.dataset.index === undefined) return;
    const canvas = samples.canvas(+cell.dataset.index);
    canvas.setAttribute("aria-hidden", "true");
    canvas.removeAttribute("role");
    cell.append(canvas);
  })).then(() => fig.classList.add("tg-ready"), (err) => {
    fig.classList.add("tg-failed");
    console.error("topgrid demo:", err);
  });
}

setupEach(document.querySelectorAll("figure.demo-topgrid"), setup);
