"""The training lab in the browser (nnviz.demos.train): the worker's side of demos/train/demo.js.

Runs live here between calls, one per lab on the page (keyed by the lab's element id): JS loads the
exported subset once (`load`), starts a run (`reset`), then calls `step` again and again, a few
mini-batches per call, and repaints from what it returns; pausing is simply not calling. The
training itself is nnviz.lab / nnviz.train, the code the build trained the site's models with.
JS draws; Python computes.
"""
import hashlib

import numpy as np

from nnviz import lab

_data = {}     # "subset": the unpacked arrays, "sha256": of the bytes they came from
_runs = {}     # lab id -> lab.Lab


def load(blob, manifest):
    """blob: the bytes of data/train/mnist.bin, manifest: mnist.json. Checks the bytes against the
    manifest's sha256; loading the same bytes again is free. Returns {train, test, sizes}."""
    if _data.get("sha256") != manifest["sha256"]:
        digest = hashlib.sha256(bytes(blob)).hexdigest()
        if digest != manifest["sha256"]:
            raise ValueError(f"data/train/{manifest['file']}: sha256 {digest[:12]}…, "
                             f"expected {manifest['sha256'][:12]}… from mnist.json")
        _data.update(subset=lab.unpack(blob, manifest), sha256=digest)
    return {"train": int(manifest["train"]), "test": int(manifest["test"]), "sizes": list(lab.SIZES)}


def _subset():
    if "subset" not in _data:
        raise ValueError("no lab data: call train.load(blob, manifest) first")
    return _data["subset"]


def _run(lab_id):
    if lab_id not in _runs:
        raise ValueError(f"no training run {lab_id!r}: call train.reset(id, options) first")
    return _runs[lab_id]


def reset(lab_id, options):
    """Start a fresh run for lab `lab_id` with lab options (lab.DEFAULTS' keys). Returns view()."""
    _runs[lab_id] = lab.Lab(_subset(), dict(options))
    return view(lab_id)


def step(lab_id, n, unscramble=True):
    """Run up to n mini-batches (stopping at an epoch's end). Returns view() plus `epoch_done`."""
    done = _run(lab_id).step(int(n))
    return dict(view(lab_id, unscramble), epoch_done=bool(done))


def view(lab_id, unscramble=True):
    """What the lab draws: {epoch, steps, images, batches (per epoch), w: (units, 784) first-layer
    weights per pixel position, history (per epoch, see lab.Lab), options}."""
    r = _run(lab_id)
    t = r.run
    return {"epoch": t.epoch, "steps": t.steps, "images": t.seen, "batches": -(-len(r.x) // lab.BATCH),
            "w": r.first_layer(unscramble), "history": r.history, "options": r.opts}


def scrambled_example(index=0):
    """One training digit as it is and as the network sees it when scrambled: {plain, scrambled}."""
    x = _subset()[0][index]
    return {"plain": x / 255.0, "scrambled": x[lab.permutation()] / 255.0}


def weights(lab_id):
    """Every parameter of a run, float64 (the parity test compares them with CPython's)."""
    t = _run(lab_id).run
    return {"weights": [np.asarray(w) for w in t.weights], "biases": [np.asarray(b) for b in t.biases]}
