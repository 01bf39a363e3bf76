"""The representation map (issue 15, part 1): where a hidden layer puts each test image.

Two views, both computed here with the one forward pass (float64, as the browser predicts):
  * "plane": a network with exactly two hidden neurons; each test image is its point (h1, h2), and
    the output layer's decision regions over a grid of that plane come from running the layers
    after the hidden one (forward.layers_forward) on the grid's cell centres;
  * "pca": a wider hidden layer projected to 2-D by PCA of its activations on the test set (numpy
    SVD). No regions: the output depends on all the hidden values, not on two of them.

Exported per map (demos/README.md): data/repmap/<model>.json (ranges, accuracy, PCA mean and
components, the bytes of the rest), <model>.bin (the points, quantised), <model>-regions.png
(class index * REGION_STEP per grid cell, plane only), <model>.png (a static picture of the map:
the page's fallback); and the test images the map shows on hover, in sprites of CHUNK images:
data/repmap/test/<dataset>-<k>.png, posterised to HOVER_LEVELS greys (only the thumbnail: every
point is computed from the full image).
"""
import numpy as np

from . import export, palette
from .common import pct
from . import forward as fw

MAPS = (("mnist-map-h2", "plane"), ("mnist-h30", "pca"))
GRID = 240            # decision regions: GRID x GRID cells; also the static picture's size in pixels
LEVELS = 65535        # coordinates are quantised to uint16 over the map's range
REGION_STEP = 25      # a region cell stores class * REGION_STEP (0, 25, ..., 225): robust to rounding
CHUNK = 500           # test images per hover sprite (fetched when a point in it is first shown)
CHUNK_COLS = 25
HOVER_LEVELS = 4      # grey levels of the hover thumbnails (2-bit PNG): a third of the bytes, the same digit to the eye
MARGIN = 0.04         # PCA view: share of the data's span added on each side


def hidden_and_probs(model, x, batch=5000):
    """(first hidden layer's activations (N, H), probabilities (N, 10)) for x: (N, 784) in [0, 1]."""
    hs, ps = [], []
    for i in range(0, len(x), batch):
        acts = fw.forward(model, x[i:i + batch])
        hs.append(acts[0])
        ps.append(acts[-1])
    return np.concatenate(hs), np.concatenate(ps)


def grid_centres(rng, n=GRID):
    """Cell centres of an n x n grid over rng [[x0, x1], [y0, y1]]: (n*n, 2), row-major with row 0
    at the top (largest y), as an image is stored."""
    (x0, x1), (y0, y1) = rng
    xs = x0 + (np.arange(n) + 0.5) * (x1 - x0) / n
    ys = y1 - (np.arange(n) + 0.5) * (y1 - y0) / n
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


def regions(model, rng, n=GRID):
    """The output layer's answer over the hidden plane: (n, n) class indices, from the layers after
    the hidden one, exactly as forward.forward runs them."""
    _, acts = fw.layers_forward(model.weights[1:], model.biases[1:], model.spec.get("activation", "relu"),
                                grid_centres(rng, n))
    return acts[-1].argmax(axis=1).reshape(n, n)


def plane_range(model, points):
    """A tanh or sigmoid neuron's whole output range; otherwise the data's, with a margin."""
    act = model.spec.get("activation", "relu")
    if act == "tanh":
        return [[-1.0, 1.0], [-1.0, 1.0]]
    if act == "sigmoid":
        return [[0.0, 1.0], [0.0, 1.0]]
    return data_range(points)


def data_range(points):
    lo, hi = points.min(axis=0), points.max(axis=0)
    pad = MARGIN * (hi - lo)
    return [[float(lo[d] - pad[d]), float(hi[d] + pad[d])] for d in range(2)]


def pca(h):
    """h: (N, H) -> (mean (H,), components (2, H), variance share of each of the two).
    Each component's sign is fixed (its largest entry positive) so rebuilds agree."""
    mean = h.mean(axis=0)
    _, s, vt = np.linalg.svd(h - mean, full_matrices=False)
    comps = vt[:2] * np.sign(vt[:2][np.arange(2), np.abs(vt[:2]).argmax(axis=1)])[:, None]
    return mean, comps, (s[:2] ** 2 / (s ** 2).sum())


def compute(model, ds, view):
    """One map: {name, view, points (N, 2), label, pred, range, regions or None, mean, components,
    share, accuracy}."""
    model = model.as_float64()
    x = ds.x_test.reshape(len(ds.x_test), -1).astype(np.float64) / 255.0   # not train.flatten's float32
    h, probs = hidden_and_probs(model, x)
    out = {"name": model.name, "dataset": ds.name, "view": view, "label": ds.y_test.astype(np.int64), "pred": probs.argmax(axis=1),
           "regions": None, "mean": None, "components": None, "share": None, "hidden": int(h.shape[1])}
    if view == "plane":
        if h.shape[1] != 2:
            raise ValueError(f"{model.name}: a plane map needs exactly 2 hidden neurons, not {h.shape[1]}")
        out["points"], out["range"] = h, plane_range(model, h)
        out["regions"] = regions(model, out["range"])
    else:
        mean, comps, share = pca(h)
        out.update(points=(h - mean) @ comps.T, mean=mean, components=comps, share=share)
        out["range"] = data_range(out["points"])
    out["accuracy"] = float((out["pred"] == out["label"]).mean())
    return out


def compute_all(results, datasets):
    """{model name: map} for every map in MAPS whose model was trained (results as build.py has them)."""
    models = {m.name: m for m, *_ in results}
    return {name: compute(models[name], datasets[models[name].spec["dataset"]], view)
            for name, view in MAPS if name in models}


# ---------------------------------------------------------------- export

def quantise(points, rng):
    """(N, 2) floats -> (N, 2) uint16 over rng; the browser maps q back to lo + q / LEVELS * (hi - lo)."""
    lo = np.array([r[0] for r in rng])
    span = np.array([r[1] - r[0] for r in rng])
    return np.round(np.clip((points - lo) / span, 0, 1) * LEVELS).astype("<u2")


def pixel(points, rng, n=GRID):
    """(column, row) of each point in an n x n picture of rng (row 0 at the top)."""
    q = quantise(points, rng).astype(np.float64) / LEVELS
    return (np.minimum((q[:, 0] * n).astype(int), n - 1), np.minimum(((1 - q[:, 1]) * n).astype(int), n - 1))


def picture(m):
    """The static picture of a map (light palette): each region tinted, each point a pixel of its
    true class's colour, drawn in test order (a later point covers an earlier one)."""
    cats = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in palette.CATEGORY["light"]], float)
    if m["regions"] is not None:
        img = np.round(255 - palette.REGION_TINT * (255 - cats[m["regions"]])).astype(np.uint8)
    else:
        img = np.full((GRID, GRID, 3), 255, np.uint8)
    col, row = pixel(m["points"], m["range"])
    img[row, col] = cats[m["label"]].astype(np.uint8)
    return img


def export_map(out, m):
    """data/repmap/<model>.{json,bin,png} (+ -regions.png); returns the manifest."""
    folder = out / "data" / "repmap"
    q = quantise(m["points"], m["range"])
    blob = q[:, 0].tobytes() + q[:, 1].tobytes() + m["label"].astype(np.uint8).tobytes() + m["pred"].astype(np.uint8).tobytes()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{m['name']}.bin").write_bytes(blob)
    export.write_png(folder / f"{m['name']}.png", picture(m))
    manifest = {"model": m["name"], "dataset": m["dataset"], "view": m["view"], "n": len(q), "levels": LEVELS, "range": m["range"],
                "file": f"{m['name']}.bin", "layout": "x uint16 (n) | y uint16 (n) | label uint8 (n) | pred uint8 (n), little-endian",
                "accuracy": round(m["accuracy"], 6), "hidden": m["hidden"], "chunk": CHUNK, "chunk_cols": CHUNK_COLS,
                "images": f"test/{m['dataset']}-{{k}}.png",
                "regions": None, "mean": None, "components": None, "share": None}
    if m["regions"] is not None:
        export.write_png(folder / f"{m['name']}-regions.png", (m["regions"] * REGION_STEP).astype(np.uint8))
        manifest["regions"] = {"file": f"{m['name']}-regions.png", "size": GRID, "step": REGION_STEP}
    if m["mean"] is not None:
        manifest.update(mean=np.round(m["mean"], 9).tolist(), components=np.round(m["components"], 9).tolist(),
                        share=[round(float(s), 6) for s in m["share"]])
    export.write_json(folder / f"{m['name']}.json", manifest)
    return manifest


def export_images(out, ds):
    """data/repmap/test/<dataset>-<k>.png (a folder of its own: no model name can clash): test images k*CHUNK .. (k+1)*CHUNK-1, CHUNK_COLS per row."""
    for k in range(0, len(ds.x_test), CHUNK):
        sheet = ds.x_test[k:k + CHUNK]
        rows = -(-len(sheet) // CHUNK_COLS)
        tile = sheet.shape[1]
        img = np.zeros((rows * tile, CHUNK_COLS * tile), np.uint8)
        for i, t in enumerate(sheet):
            r, c = divmod(i, CHUNK_COLS)
            img[r * tile:(r + 1) * tile, c * tile:(c + 1) * tile] = t
        path = out / "data" / "repmap" / "test" / f"{ds.name}-{k // CHUNK}.png"
        export.write_grey_levels_png(path, img, HOVER_LEVELS)


def export_all(out, maps, datasets):
    for m in maps.values():
        export_map(out, m)
    if maps:
        export_images(out, datasets["mnist"])


def chapter_vars(maps):
    """{{ repmap.* }}: the numbers the chapter's text on the map quotes."""
    v = {}
    for name, m in maps.items():
        y, p = m["label"], m["pred"]
        k = name.replace("-", "_")
        v[k] = {"acc": pct(m["accuracy"]), "wrong": f"{int((p != y).sum()):,}", "n": f"{len(y):,}"}
        if m["share"] is not None:
            v[k]["share"] = pct(float(m["share"].sum()), 0)
            v[k]["hidden"] = str(m["hidden"])
            v[k]["rest"] = str(m["hidden"] - 2)       # the directions the flat picture leaves out
        if m["regions"] is not None:
            v[k]["classes_shown"] = str(len(np.unique(m["regions"])))
    return v
