"""Build-time side of the training lab: the data the browser trains on, and the runs the chapter quotes.

* `subset(ds)`: a seeded sample of MNIST's training images (the lab's 100 / 1,000 / 5,000 are its
  first n) and of its test images (the fixed held-out set), as raw uint8 bytes;
  written to site/data/train/mnist.bin with a manifest mnist.json (see demos/README.md).
* `experiments(ds, cache)`: the lab's own runs (lab.Lab, the code the browser runs) for the
  chapter's claims: how fast the 0 becomes a 0, what L2 does, scrambled against unscrambled.
  Cached under <cache>/lab/, keyed by the code and the data, written atomically.
"""
import hashlib
import json
from pathlib import Path

import numpy as np

from . import forward, lab, train
from .common import atomic_write, pct

TRAIN, TEST = 5000, 2000     # images exported for the lab (SIZES' largest; the held-out set)
SUBSET_SEED = 14
EPOCHS = 5                   # the chapter's runs: what a reader reaches in a few seconds
# Where L2 shows within a minute in the browser: few images, random (He) initial weights, 30 epochs.
L2_RUN = {"size": 1000, "hidden": 30, "epochs": 30, "l2": (0.0, 1e-2)}


def subset(ds):
    """(blob bytes, manifest) for the lab: seeded, without repeats, in random order."""
    rng = np.random.default_rng(SUBSET_SEED)
    n, m = min(TRAIN, len(ds.y_train)), min(TEST, len(ds.y_test))
    tr_idx = rng.choice(len(ds.y_train), n, replace=False)
    te_idx = rng.choice(len(ds.y_test), m, replace=False)
    parts = [ds.x_train[tr_idx].reshape(n, -1), ds.y_train[tr_idx], ds.x_test[te_idx].reshape(m, -1), ds.y_test[te_idx]]
    blob = b"".join(np.ascontiguousarray(p, dtype=np.uint8).tobytes() for p in parts)
    manifest = {"dataset": ds.name, "train": int(n), "test": int(m), "pixels": int(parts[0].shape[1]),
                "side": int(ds.x_train.shape[1]), "seed": SUBSET_SEED, "bytes": len(blob),
                "sha256": hashlib.sha256(blob).hexdigest(), "file": "mnist.bin",
                "layout": "uint8: train x (train*pixels) | train y (train) | test x (test*pixels) | test y (test)",
                "train_index": tr_idx.tolist(), "test_index": te_idx.tolist()}
    return blob, manifest


def export(out, blob, manifest):
    """Write data/train/mnist.bin and mnist.json into the site folder `out` (the build's temp
    folder, swapped into place whole, as every other exported file)."""
    folder = Path(out) / "data" / "train"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / manifest["file"]).write_bytes(blob)
    (folder / "mnist.json").write_text(json.dumps(manifest, separators=(",", ":")), encoding="utf-8")


def _run(data, epochs, on_step=None, **opts):
    run = lab.Lab(data, opts)
    while run.run.epoch < epochs:
        run.step(1)
        if on_step:
            on_step(run)
    return run


def _experiments(data):
    """The numbers (floats and ints) behind the lab's chapter text."""
    out = {}
    snaps, early = [], {}
    def watch(run):                           # the templates, and accuracy after the first images
        snaps.append((run.run.seen, run.run.weights[0].copy()))
        if run.run.steps in (2, 10, 20):
            early[run.run.seen] = run.test_accuracy()
    base = _run(data, EPOCHS, watch)
    final = base.run.weights[0]
    # images until each class's template correlates >= 0.9 with its final form
    out["settle"] = [next(seen for seen, w in snaps if lab.correlation(w[:, k], final[:, k]) >= 0.9)
                     for k in range(final.shape[1])]
    out["early"] = {str(k): v for k, v in sorted(early.items())}
    out["base"] = base.history
    scr = _run(data, EPOCHS, scramble=True)
    out["scrambled"] = scr.history
    out["scrambled_roughness"] = {"as_learned": lab.roughness(scr.first_layer(unscramble=False)),
                                  "unscrambled": lab.roughness(scr.first_layer())}
    out["unscrambled_corr"] = lab.correlation(scr.first_layer(), base.first_layer())
    out["h30"] = _run(data, EPOCHS, hidden=30).history
    out["h30_scrambled"] = _run(data, EPOCHS, hidden=30, scramble=True).history
    for l2 in L2_RUN["l2"]:
        r = _run(data, L2_RUN["epochs"], size=L2_RUN["size"], hidden=L2_RUN["hidden"], l2=l2)
        w = r.first_layer()
        out[f"l2_{l2:g}"] = {**{k: r.history[k][-1] for k in ("train_acc", "test_acc", "test_loss")},
                             "roughness": lab.roughness(w), "mean_abs_w": float(np.abs(w).mean())}
    return out


def experiments(blob, manifest, cache, progress=print):
    """_experiments on the exported subset, cached by code and data (they take ~10 s)."""
    code = b"".join(Path(m.__file__).read_bytes() for m in (forward, train, lab)) + Path(__file__).read_bytes()
    key = hashlib.sha256(code + manifest["sha256"].encode()).hexdigest()[:16]
    path = Path(cache) / "lab" / f"experiments-{key}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        pass
    progress("training lab: running the chapter's lab experiments")
    result = _experiments(lab.unpack(blob, manifest))
    atomic_write(path, json.dumps(result, sort_keys=True).encode())
    return result


def chapter_vars(result, manifest):
    """{{ lab.* }}: pre-formatted numbers for the chapter (see the lab's text in chapters/)."""
    b, s = result["base"], result["scrambled"]
    h, hs = result["h30"], result["h30_scrambled"]
    l0, l2 = result["l2_0"], result["l2_0.01"]
    early = sorted((int(k), v) for k, v in result["early"].items())    # after 2, 10, 20 batches
    return {
        "train": f"{manifest['train']:,}", "test": f"{manifest['test']:,}", "epochs": str(EPOCHS),
        "zero_images": f"{result['settle'][0]:,}",
        "early_a_images": f"{early[0][0]:,}", "early_a": pct(early[0][1]),
        "early_c_images": f"{early[-1][0]:,}", "early_c": pct(early[-1][1]),
        "first_digit": str(int(np.argmin(result["settle"]))), "first_images": f"{min(result['settle']):,}",
        "last_digit": str(int(np.argmax(result["settle"]))), "last_images": f"{max(result['settle']):,}",
        "acc_epoch1": pct(b["test_acc"][0]), "acc": pct(b["test_acc"][-1]),
        "acc_scrambled": pct(s["test_acc"][-1]),
        "scramble_diff": f"{100 * abs(b['test_acc'][-1] - s['test_acc'][-1]):.2f}",
        "h30_acc": pct(h["test_acc"][-1]), "h30_acc_scrambled": pct(hs["test_acc"][-1]),
        "h30_scramble_diff": f"{100 * abs(h['test_acc'][-1] - hs['test_acc'][-1]):.2f}",
        "rough_scrambled": f"{result['scrambled_roughness']['as_learned']:.2f}",
        "rough_unscrambled": f"{result['scrambled_roughness']['unscrambled']:.2f}",
        "unscrambled_corr": f"{result['unscrambled_corr']:.4f}",
        "l2_size": f"{L2_RUN['size']:,}", "l2_epochs": str(L2_RUN["epochs"]), "l2_hidden": str(L2_RUN["hidden"]),
        "l2_none_train": pct(l0["train_acc"]), "l2_none_test": pct(l0["test_acc"]),
        "l2_strong_train": pct(l2["train_acc"]), "l2_strong_test": pct(l2["test_acc"]),
        "l2_none_loss": f"{l0['test_loss']:.3f}", "l2_strong_loss": f"{l2['test_loss']:.3f}",
        "l2_none_rough": f"{l0['roughness']:.2f}", "l2_strong_rough": f"{l2['roughness']:.2f}",
        "l2_shrink": f"{l0['mean_abs_w'] / l2['mean_abs_w']:.1f}",
    }
