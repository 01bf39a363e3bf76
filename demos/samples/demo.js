/* Harder data (demos/samples/partial.html): a random sample of a dataset's test images.
 * The first view is the same on every visit (a seeded shuffle); "New sample" draws another one.
 * Images come from the build's sample sprite (static/js/samples.js); when samples.json lists the
 * sprite slots that were drawn at random ("random"), only those are used, else every slot. */
import {loadJSON, loadSamples, setupEach} from "../../js/samples.js";

/** A small seeded generator (mulberry32): the same first sample for every reader. */
function seeded(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n distinct items of `pool` (partial Fisher-Yates with `rand`). */
function pick(pool, n, rand) {
  const a = pool.slice();
  n = Math.min(n, a.length);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(rand() * (a.length - i));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a.slice(0, n);
}

async function setup(fig) {
  let S = {};
  try { S = JSON.parse(fig.dataset.strings || "{}"); } catch (e) { /* keep defaults */ }
  const dataset = fig.dataset.dataset;
  const cells = [...fig.querySelectorAll(".nv-sample")];
  const button = fig.querySelector(".nv-samples-new");
  const status = fig.querySelector(".nv-samples-status");
  if (!cells.length) return;
  let samples, meta;
  try {
    [samples, meta] = await Promise.all([loadSamples(dataset, fig), loadJSON(`${dataset}/samples.json`)]);   // sprite: once near
  } catch (e) {
    console.warn(`samples demo: ${dataset}:`, e);
    return;
  }
  const pool = Array.isArray(meta.random) && meta.random.length >= cells.length
    ? meta.random.map((slot) => meta.index[slot]) : meta.index.slice();
  const classes = S.classes && S.classes.length ? S.classes : meta.classes;

  function show(indices) {
    indices.forEach((t, k) => {
      const label = classes[samples.label(t)] ?? String(samples.label(t));
      const canvas = samples.canvas(t, S.image_n.replace("{index}", t).replace("{label}", label));
      const li = cells[k];
      li.querySelector(".nv-sample-img").replaceChildren(canvas);
      li.querySelector(".nv-sample-label").textContent = label.replace("/", "/\u200b");
      li.dataset.index = String(t);
    });
    fig.dataset.shown = indices.join(",");
  }

  show(pick(pool, cells.length, seeded(20261123)));
  if (button) {
    button.addEventListener("click", () => {
      const before = fig.dataset.shown;
      let next;
      do next = pick(pool, cells.length, Math.random); while (next.join(",") === before && pool.length > cells.length);
      show(next);
      if (status) status.textContent = S.shown || "";
    });
  }
}

setupEach(document.querySelectorAll('.nv-samples[data-demo="samples"]'), setup);
