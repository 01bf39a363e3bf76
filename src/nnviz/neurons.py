"""What a hidden neuron answers to: for every hidden neuron the chapter shows, the K test images
that excite it most and the K that excite it least, computed with forward.py's own pass.

"Least" is ranked by the pre-activation z (most negative first): under ReLU thousands of images
give exactly 0, and only z tells them apart. "Most" is ranked by z too (the same order as the
activation wherever it is positive). Ties go to the lower test index, so the result is the same
every build. Exported as data/<model>/neurons.png (row r = neurons[r]: K top tiles, then K bottom
tiles) and data/<model>/neurons.json (see demos/README.md).
"""
import numpy as np

from . import forward as fw
from .export import test_images, write_json, write_png
from .strings import neuron
from .train import flatten

K = 8
# Models whose hidden neurons the chapter draws (hidden, filters, lego and the drawing lab).
MODELS = ("mnist-h10", "mnist-h16x16", "mnist-h30", "cifar-h100")
WIDE = 20   # a wider layer: only its WIDE neurons of largest total |output weight| (the hidden figure's units=)


def ranked(z, k=K):
    """z: (N,) -> (top k indices, z descending; bottom k indices, z ascending), ties by index."""
    idx = np.arange(len(z))
    down, up = np.lexsort((idx, -z)), np.lexsort((idx, z))
    return down[:k], up[:k]


def shown_units(model, layer):
    """The units of hidden `layer` (1-based) that get strips: all, or for a wide single hidden
    layer the WIDE strongest by sum over classes of |output weight| (ties by unit number)."""
    n = model.layers[layer]
    if n <= 2 * WIDE or len(model.weights) != 2:
        return list(range(n))
    strength = np.abs(model.weights[1]).sum(1)
    return sorted(np.lexsort((np.arange(n), -strength))[:WIDE].tolist())


def answers(model, ds, k=K):
    """[{layer, unit, top: [[test index, activation]...k], bottom: [[test index, z]...k]}] for
    every shown hidden neuron, computed in float64 on the model as the site ships it."""
    shipped = fw.load(fw.to_bytes(model), name=model.name)     # float32 file -> float64, as the browser has it
    x = flatten(ds.x_test).astype(np.float64)
    zs, acts = fw.layers_forward(shipped.weights, shipped.biases, shipped.spec.get("activation", "relu"),
                                 fw.standardise(shipped, x))
    out = []
    for layer in range(1, len(model.layers) - 1):
        z, a = zs[layer - 1], acts[layer - 1]
        for u in shown_units(model, layer):
            top, bottom = ranked(z[:, u], k)
            out.append({"layer": layer, "unit": int(u),
                        "top": [[int(t), round(float(a[t, u]), 4)] for t in top],
                        "bottom": [[int(t), round(float(z[t, u]), 4)] for t in bottom],
                        "silent": round(float((a[:, u] == 0).mean()), 4),
                        "labels": [int(ds.y_test[t]) for t in top]})
    return out


def export(out, model, ds, strips):
    """data/<model>/neurons.png + neurons.json."""
    imgs = test_images(ds)
    tile = imgs.shape[1]
    rows = [np.concatenate(list(imgs[[t for t, _ in n["top"] + n["bottom"]]]), axis=1) for n in strips]
    sheet = np.concatenate(rows)      # row r: neuron r's K top tiles, then its K bottom tiles
    write_png(out / "data" / model.name / "neurons.png", sheet)
    write_json(out / "data" / model.name / "neurons.json", {
        "model": model.name, "tile": int(tile), "channels": 1 if imgs.ndim == 3 else 3, "k": K,
        "activation": model.spec.get("activation", "relu"),
        "neurons": [{key: n[key] for key in ("layer", "unit", "top", "bottom", "silent")} for n in strips]})


def chapter_vars(strips_by_model, classes):
    """{{ neurons.<model>.* }}: how many shown neurons have top images all of one class, the best
    such neuron and its class, and the typical share of test images that leave a neuron at 0."""
    v = {}
    for name, strips in strips_by_model.items():
        for layer in sorted({n["layer"] for n in strips}):
            ns = [n for n in strips if n["layer"] == layer]
            counts = [np.bincount(n["labels"], minlength=len(classes[name])) for n in ns]
            best = max(range(len(ns)), key=lambda i: (counts[i].max(), -i))
            key = name.replace("-", "_") + ("" if layer == 1 else f"_l{layer}")
            v[key] = {"pure": str(sum(c.max() == K for c in counts)), "of": str(len(ns)), "k": str(K),
                      "best": neuron(ns[best]["unit"], plain=True), "best_class": classes[name][int(counts[best].argmax())],
                      "best_count": str(int(counts[best].max())),
                      "silent": f"{100 * float(np.median([n['silent'] for n in ns])):.0f}%"}
    return v
