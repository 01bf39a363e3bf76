"""Write a build's results into the (temporary) site folder: models.json, model files the browser
loads, analysis JSON, weight grids and sample sprites. Only writes; computes nothing new."""
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

from . import forward as fw
from . import palette

SPRITE_COLS = 50
# The demos that show a model's own test images (its confusion cells, top images, mistakes): the
# build exports those images and the cell means for every model a chapter names in one of them.
IMAGE_DEMOS = ("confusion", "mistakes", "templates", "topgrid")


def write_json(path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False))


def save_png(path, img, **options):
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    img.save(buf, "PNG", **options)
    path.write_bytes(buf.getvalue())


def write_png(path, array):
    """array: (H, W) or (H, W, 3) uint8."""
    save_png(path, Image.fromarray(array))


def write_grey_levels_png(path, array, levels):
    """(H, W) uint8 greys as a palette PNG of `levels` (2, 4 or 16) evenly spaced greys."""
    index = np.round(array / (255 / (levels - 1))).astype(np.uint8)
    img = Image.fromarray(index, "P")
    img.putpalette([round(i * 255 / (levels - 1)) for i in range(levels) for _ in range(3)])
    save_png(path, img, optimize=True, bits={2: 1, 4: 2, 16: 4}[levels])


def params_count(layers):
    return sum(a * b + b for a, b in zip(layers[:-1], layers[1:]))


def model_entry(model, meta, analysis, ds):
    s = model.spec
    return {
        "name": model.name, "dataset": s["dataset"], "layers": s["layers"], "activation": s["activation"],
        "init": s["init"], "l2": s["l2"], "optimizer": s["optimizer"], "epochs": s["epochs"],
        "train_subset": s["train_subset"], "note": s["note"], "seed": s["seed"],
        "test_accuracy": round(analysis["test_accuracy"], 6),
        "train_accuracy": round(analysis["train_accuracy"], 6),
        "train_seconds": meta["train_seconds"], "params": params_count(s["layers"]),
        "classes": list(ds.classes), "file": f"data/models/{model.name}.npz",
    }


# ---------------------------------------------------------------- weight pictures

def grayscale(w):
    """Lowest weight black, highest white (ml4a's convention for 1-layer templates)."""
    return palette.grey(w)


def diverging(w, scale=None):
    """Negative blue, zero white, positive red, symmetric around 0 (scale = max |w| by default)."""
    return palette.diverging(w, scale)


def rgb_template(w):
    """CIFAR first-layer weights (3072,) -> (32, 32, 3), all three channels min-max scaled together.
    The inputs are train.flatten of HWC images, so weight 3*(32*row + col) + channel belongs to
    that pixel's red, green or blue value: a pixel looks blue where its blue weight is high."""
    return grayscale(w.reshape(32, 32, 3))


def unit_image(model, unit, style):
    w = model.weights[0][:, unit]
    if model.layers[0] == 3072:
        return rgb_template(w)
    w = w.reshape(28, 28)
    return grayscale(w) if style == "gray" else diverging(w)


def export_weight_grids(out, model):
    """data/<model>/w1/<k>.png for every first-layer unit. Softmax regression: gray templates;
    hidden layers: diverging blue/red. Also one strip of all units: w1/all.png."""
    style = "gray" if len(model.weights) == 1 else "div"
    tiles = [unit_image(model, k, style) for k in range(model.layers[1])]
    for k, img in enumerate(tiles):
        write_png(out / "data" / model.name / "w1" / f"{k}.png", img)


# ---------------------------------------------------------------- samples

def sprite(images):
    """images: (N, h, w[, 3]) uint8 -> one sheet with SPRITE_COLS tiles per row."""
    n, h, w = images.shape[:3]
    rows = -(-n // SPRITE_COLS)
    sheet = np.zeros((rows * h, SPRITE_COLS * w) + images.shape[3:], np.uint8)
    for i, img in enumerate(images):
        r, c = divmod(i, SPRITE_COLS)
        sheet[r * h:(r + 1) * h, c * w:(c + 1) * w] = img
    return sheet


def test_images(ds):
    """The test set as displayable images: (N, 28, 28) gray or (N, 32, 32, 3) RGB."""
    return ds.x_test


def export_samples(out, ds, indices, random=()):
    """data/<dataset>/samples.png (+ .json mapping sprite slot -> test index and label; `random`
    lists the slots of the unbiased random sample, for 'new sample' buttons)."""
    indices = sorted(set(int(i) for i in indices) | set(int(i) for i in random))
    slot = {t: k for k, t in enumerate(indices)}
    imgs = test_images(ds)[indices]
    write_png(out / "data" / ds.name / "samples.png", sprite(imgs))
    write_json(out / "data" / ds.name / "samples.json", {
        "tile": int(imgs.shape[1]), "cols": SPRITE_COLS, "channels": 1 if imgs.ndim == 3 else 3,
        "index": indices, "labels": [int(ds.y_test[i]) for i in indices], "classes": list(ds.classes),
        "random": sorted(slot[int(t)] for t in random)})


def cell_means(ds, pred):
    """The average test image of every confusion cell, tiled 10x10 (row = true, column = predicted)."""
    imgs = test_images(ds).astype(np.float64)
    y = ds.y_test.astype(np.int64)
    h, w = imgs.shape[1:3]
    grid = np.zeros((10 * h, 10 * w) + imgs.shape[3:], np.uint8)
    for i in range(10):
        for j in range(10):
            sel = (y == i) & (pred == j)
            if sel.any():
                grid[i * h:(i + 1) * h, j * w:(j + 1) * w] = np.round(imgs[sel].mean(0)).astype(np.uint8)
    return grid


def export_class_means(out, name, means):
    """data/<dataset>/class-means.png: the average training image of each class (analyse.class_means,
    given by the caller: analyse imports this module), 10 tiles in a row."""
    tiles = np.round(means).astype(np.uint8)
    write_png(out / "data" / name / "class-means.png", np.concatenate(list(tiles), axis=1))


def referenced(analysis):
    """Test indices an analysis shows to the reader."""
    ids = set()
    for cell in analysis["cells"].values():
        ids.update(t for t, _ in cell["top"])
        ids.update(t for t, _ in cell["least"])
    for rows in analysis["mistakes"].values():
        ids.update(r["index"] for r in rows)
    return ids


def export_model(out, model, meta, analysis, pred, ds, showcase=False):
    """The model's browser file, its analysis and its pictures (with `showcase`, one of IMAGE_DEMOS
    shows it: also its cell means). Returns its models.json entry."""
    (out / "data" / "models").mkdir(parents=True, exist_ok=True)
    (out / "data" / "models" / f"{model.name}.npz").write_bytes(fw.to_bytes(model))
    write_json(out / "data" / model.name / "analysis.json", analysis)
    if model.layers[1] <= 300:
        export_weight_grids(out, model)
    if showcase:
        write_png(out / "data" / model.name / "cell-means.png", cell_means(ds, pred))
    return model_entry(model, meta, analysis, ds)
