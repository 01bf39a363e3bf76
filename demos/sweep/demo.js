// Hidden-size sweep (demos/sweep): hover/focus tooltips for the server-drawn SVG chart.
// Progressive enhancement only: without this file every point keeps its SVG <title>, its
// aria-label and its row in the visually hidden table. Each point carries its tooltip text in
// data-tip (lines separated by newlines); nothing is computed here.

function placeTip(plot, tip, anchor, text) {
  tip.textContent = text;
  tip.hidden = false;
  const box = plot.getBoundingClientRect();
  const r = anchor.getBoundingClientRect();
  const w = tip.offsetWidth, h = tip.offsetHeight, gap = 10;
  const cx = r.left + r.width / 2 - box.left, cy = r.top + r.height / 2 - box.top;
  // above the point if it fits, else beside it (right, then left), else below
  let x = cx - w / 2, y = r.top - box.top - h - gap;
  if (y < 0) {
    y = cy - h / 2;
    x = r.right - box.left + gap;
    if (x + w > box.width) x = r.left - box.left - gap - w;
    if (x < 0) { x = cx - w / 2; y = r.bottom - box.top + gap; }
  }
  x = Math.max(0, Math.min(x, box.width - w));
  y = Math.max(0, y);
  tip.style.left = `${Math.round(x)}px`;
  tip.style.top = `${Math.round(y)}px`;
}

function enhance(fig) {
  const plot = fig.querySelector(".nnv-plot");
  const tip = plot && plot.querySelector(".nnv-tip");
  if (!tip || fig.dataset.enhanced) return;
  fig.dataset.enhanced = "1";
  tip.setAttribute("aria-hidden", "true");   // the focused point's aria-label already says it all
  let current = null;
  const hide = () => {
    tip.hidden = true;
    if (current) current.classList.remove("nnv-on");
    current = null;
  };
  const show = (pt) => {
    if (current && current !== pt) current.classList.remove("nnv-on");
    current = pt;
    pt.classList.add("nnv-on");
    placeTip(plot, tip, pt.querySelector(".nnv-dot, .nnv-cdot") || pt, pt.dataset.tip);
  };
  for (const pt of fig.querySelectorAll(".nnv-pt, .nnv-cpt")) {   // ours, and a cited sweep's
    const title = pt.querySelector("title");
    if (title) title.remove();               // our tooltip replaces the browser's
    pt.addEventListener("pointerenter", () => show(pt));
    pt.addEventListener("pointerleave", () => {
      if (document.activeElement === pt) show(pt); else if (current === pt) hide();
    });
    pt.addEventListener("focus", () => show(pt));
    pt.addEventListener("blur", () => { if (current === pt) hide(); });
    pt.addEventListener("keydown", (e) => { if (e.key === "Escape") hide(); });
  }
  window.addEventListener("resize", () => { if (current) show(current); });
}

document.querySelectorAll(".nnv-sweep").forEach(enhance);
