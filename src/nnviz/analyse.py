"""What a trained model gets right and wrong, computed from its predictions on the test set.

Everything here is plain data (lists, ints, floats) ready for JSON; test images are referred to by
their index in the dataset's official test order.
"""
import numpy as np

from . import forward as fw
from .train import evaluate, flatten

TOP = 16      # images shown per confusion cell, most confident first
LEAST = 8     # least confident images per cell
MISTAKES = 24


def predictions(model, x_uint8, batch=5000):
    """Probabilities (N, 10) of `model` on uint8 images (N, ...)."""
    x = flatten(x_uint8)
    return np.concatenate([fw.predict(model, x[i:i + batch]) for i in range(0, len(x), batch)])


def confusion(y, pred, k=10):
    """counts[i, j] = number of test images of class i predicted as j."""
    return np.bincount(y * k + pred, minlength=k * k).reshape(k, k)


def analyse(model, ds, meta):
    """Accuracy, confusion matrix with per-cell samples, mistakes and curves for one model."""
    probs = predictions(model, ds.x_test)
    y = ds.y_test.astype(np.int64)
    pred = probs.argmax(1)
    conf = probs[np.arange(len(y)), pred]
    cm = confusion(y, pred)
    n = model.spec.get("train_subset") or len(ds.y_train)   # the images it was actually trained on
    _, train_acc = evaluate(model, flatten(ds.x_train[:n]), ds.y_train[:n].astype(np.int64))
    out = {
        "name": model.name,
        "test_accuracy": float((pred == y).mean()),
        "train_accuracy": float(train_acc),
        "confusion": cm.tolist(),
        "precision": _safe_div(np.diag(cm), cm.sum(0)),
        "recall": _safe_div(np.diag(cm), cm.sum(1)),
        "cells": cells(y, pred, conf),
        "mistakes": mistakes(y, pred, probs),
        "history": meta["history"],
        "train_seconds": meta["train_seconds"],
    }
    if len(model.weights) == 2:       # one hidden layer: how each class weighs each hidden unit
        out["out_weights"] = np.round(model.weights[1], 5).tolist()
        out["lego"] = lego(model.weights[1])
    if len(model.weights) == 1:       # templates: how much each looks like each class's average image
        out["template_match"] = template_match(model, ds)
    if model.layers == [3072, 10]:    # RGB templates: is there sky around the airplanes and ships?
        out["border_blue"] = [border_blue(model.weights[0][:, k]) for k in range(10)]
    if len(model.weights) > 1 and model.layers[0] == 784:    # first-layer neurons drawn as 28x28 pictures
        out["stroke_share"] = [round(float(stroke_share(w)), 4) for w in model.weights[0].T]
    return out, pred


def class_means(x_uint8, y, k=10):
    """The average training image of each class: (k, ...) float64, in the images' own units (0-255)."""
    return np.stack([x_uint8[y == c].mean(0, dtype=np.float64) for c in range(k)])


def template_match(model, ds):
    """corr[k][j]: correlation of template k (W[:, k]) with class j's average training image minus
    the average of all training images (what the standardised input of a typical j looks like).
    A template "looks like its class" when its own class is the best match in its row."""
    means = class_means(ds.x_train, ds.y_train).reshape(10, -1) / 255.0 - model.mean.astype(np.float64)
    w = model.weights[0].T.astype(np.float64)
    w = w - w.mean(1, keepdims=True)
    means = means - means.mean(1, keepdims=True)
    corr = (w @ means.T) / np.outer(np.linalg.norm(w, axis=1), np.linalg.norm(means, axis=1))
    return np.round(corr, 4).tolist()


def border_blue(w, width=4):
    """Blue share of the outer `width`-pixel ring of an RGB template as the reader sees it
    (export.rgb_template of w (3072,)): mean over the ring of B / (R + G + B), 1/3 for grey."""
    from .export import rgb_template    # the very picture on the page, not a re-derivation
    img = rgb_template(w).astype(np.float64)
    ring = np.ones(img.shape[:2], bool)
    ring[width:-width, width:-width] = False
    px = img[ring]
    return round(float((px[:, 2] / np.maximum(px.sum(1), 1.0)).mean()), 4)


def stroke_share(w, side=28, frac=0.4):
    """How much of a first-layer neuron's weight (w: (side*side,)) lies in one stroke: the share
    of sum(w**2) inside its largest 8-connected patch of same-sign pixels with |w| >= frac * max|w|.
    Near 0 for speckle (many small islands), about 0.3 or more for a clean bar or stroke."""
    img = np.asarray(w, dtype=np.float64).reshape(side, side)
    energy, best = img ** 2, 0.0
    for sign in (1, -1):
        mask = sign * img >= frac * np.abs(img).max()
        seen = np.zeros_like(mask)
        for start in zip(*np.nonzero(mask)):
            if seen[start]:
                continue
            seen[start], stack, total = True, [start], 0.0
            while stack:
                y, x = stack.pop()
                total += energy[y, x]
                for ny in range(max(y - 1, 0), min(y + 2, side)):
                    for nx in range(max(x - 1, 0), min(x + 2, side)):
                        if mask[ny, nx] and not seen[ny, nx]:
                            seen[ny, nx] = True
                            stack.append((ny, nx))
            best = max(best, total)
    return best / energy.sum() if energy.sum() else 0.0


def _safe_div(a, b):
    return [float(x / d) if d else 0.0 for x, d in zip(a, b)]


def cells(y, pred, conf):
    """For each non-empty cell "i,j": the TOP most confident and LEAST least confident test images
    as [[index, probability of the predicted class], ...], plus its count."""
    out = {}
    order = np.lexsort((np.arange(len(y)), -conf))      # descending confidence, ties by index
    for i in range(10):
        for j in range(10):
            idx = order[(y[order] == i) & (pred[order] == j)]
            if len(idx):
                pick = lambda ids: [[int(t), round(float(conf[t]), 6)] for t in ids]
                out[f"{i},{j}"] = {"count": int(len(idx)), "top": pick(idx[:TOP]),
                                   "least": pick(idx[::-1][:LEAST])}
    return out


def mistakes(y, pred, probs):
    """Glaring mistakes (wrong with the highest confidence) and near-misses (wrong, but the true
    class was second, and close: smallest gap between predicted and true probability)."""
    wrong = np.flatnonzero(pred != y)
    p_pred = probs[wrong, pred[wrong]]
    p_true = probs[wrong, y[wrong]]
    row = lambda t: {"index": int(t), "true": int(y[t]), "pred": int(pred[t]),
                     "p_pred": round(float(probs[t, pred[t]]), 6), "p_true": round(float(probs[t, y[t]]), 6)}
    glaring = wrong[np.lexsort((wrong, -p_pred))][:MISTAKES]
    # A near miss needs the true class second: a small gap alone can hide a third class between.
    second = np.argsort(probs[wrong], axis=1, kind="stable")[:, -2] == y[wrong]
    close = np.lexsort((wrong, p_pred - p_true))
    near = wrong[close[second[close]]][:MISTAKES]
    return {"glaring": [row(t) for t in glaring], "near": [row(t) for t in near]}


def lego(w_out, k=3):
    """For each class, the k hidden units with the most positive and most negative output weight.
    w_out: (H, 10). Returns {class: {"pos": [[unit, w], ...], "neg": [...]}}."""
    res = {}
    for c in range(w_out.shape[1]):
        col = w_out[:, c]
        order = np.argsort(-col, kind="stable")
        res[str(c)] = {"pos": [[int(u), round(float(col[u]), 5)] for u in order[:k]],
                       "neg": [[int(u), round(float(col[u]), 5)] for u in order[::-1][:k]]}
    return res


def compare(pred_a, pred_b, y, limit=TOP):
    """Cell-by-cell change from model A to model B (same test set).
    diff[i][j] = count_B - count_A; fixed = A wrong, B right; broke = A right, B wrong.
    Per true class: lists of test indices (up to `limit`) with A's and B's predictions."""
    y = np.asarray(y, np.int64)
    diff = (confusion(y, pred_b) - confusion(y, pred_a)).tolist()
    fixed = np.flatnonzero((pred_a != y) & (pred_b == y))
    broke = np.flatnonzero((pred_a == y) & (pred_b != y))
    cell = {}
    for kind, ids in (("fixed", fixed), ("broke", broke)):
        for t in ids:                  # cells keyed by (true, prediction of the wrong model)
            wrong_pred = pred_a[t] if kind == "fixed" else pred_b[t]
            key = f"{y[t]},{wrong_pred}"
            c = cell.setdefault(key, {"fixed": [], "broke": [], "n_fixed": 0, "n_broke": 0})
            c["n_" + kind] += 1
            if len(c[kind]) < limit:
                c[kind].append(int(t))
    return {"diff": diff, "fixed": int(len(fixed)), "broke": int(len(broke)), "cells": cell}


def sample_indices(n_total, n, seed=0):
    """A fixed random sample of test indices (for 'new sample' buttons), the same every build."""
    return sorted(np.random.default_rng(seed).choice(n_total, size=min(n, n_total), replace=False).tolist())
