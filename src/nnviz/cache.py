"""The build's caches of trained models and analyses: a cache is never a source.

An entry's file name is `<name>-<key>.npz`, the key a hash of what made it (spec, dataset digest,
code). Inside, every entry carries the spec it was made from and a digest of its whole content;
both are checked on load. A damaged, edited or foreign entry is recomputed after a one-line
notice; weights holding NaN or inf are an error wherever they come from.
"""
import hashlib
import io
import json
from pathlib import Path

import numpy as np

from . import analyse as an
from . import export  # noqa: F401  (imported before its source is hashed into the analysis key)
from . import forward as fw
from . import train as tr
from .common import NnvizError, atomic_write
from .data import array_digest
from .specs import check_name

HERE = Path(__file__).parent
TRAIN_CODE = ("forward.py", "train.py")                   # what determines trained weights
ANALYSIS_CODE = TRAIN_CODE + ("analyse.py", "export.py")  # ... and what they are measured with


class CacheError(NnvizError):
    """A model that must never be published (NaN/inf weights, malformed training output)."""


class Stale(Exception):
    """A cache entry that cannot be trusted; the message says why, and it is recomputed."""


# Read once, at import, right after the modules themselves were imported: an edit made while a
# build runs cannot give its results the new code's key (and `serve` rebuilds in a fresh process).
SOURCES = {name: (HERE / name).read_bytes() for name in ANALYSIS_CODE}


def code_digest(files=TRAIN_CODE):
    """sha256 of the source files as this process imported them."""
    return hashlib.sha256(b"".join(SOURCES[name] for name in files)).hexdigest()


def cache_key(spec, ds_digest):
    blob = json.dumps([spec.as_dict(), ds_digest, code_digest()], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def content_digest(arrays):
    """sha256 over every array of an entry (names, dtypes, shapes, bytes), "digest" excluded."""
    keys = sorted(k for k in arrays if k != "digest")
    return hashlib.sha256((json.dumps(keys) + array_digest(*(arrays[k] for k in keys))).encode()).hexdigest()


def model_digest(model):
    """Content digest of a model's numbers and spec: the analysis cache is keyed by it."""
    return content_digest(_model_arrays(model))


def _model_arrays(model):
    with np.load(io.BytesIO(fw.to_bytes(model))) as z:
        return dict(z)


def _json(value):
    return np.array(json.dumps(value, sort_keys=True))


def _read(path):
    """All arrays of an entry whose digest matches its content; Stale otherwise."""
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as e:   # truncated zip, object arrays (need pickle), not an npz at all
        raise Stale(f"unreadable ({type(e).__name__}: {str(e)[:80]})") from None
    if "digest" not in arrays:
        raise Stale("it carries no content digest")
    if str(arrays["digest"]) != content_digest(arrays):
        raise Stale("its content does not match its digest (edited or damaged)")
    return arrays


def _json_of(arrays, key):
    try:
        return json.loads(str(arrays[key]))
    except (KeyError, ValueError):
        raise Stale(f"it has no readable '{key}'") from None


def _spec_of(arrays, want):
    """The entry's own spec, which must be the spec it is looked up for."""
    spec = _json_of(arrays, "spec")
    if spec != json.loads(json.dumps(want)):
        raise Stale(f"it was made from another spec (name {spec.get('name') if isinstance(spec, dict) else spec!r})")
    return spec


def check_finite(model, where):
    """CacheError naming the first array of `model` that holds NaN or inf."""
    for label, a in [*((f"W{l}", w) for l, w in enumerate(model.weights, 1)),
                     *((f"b{l}", b) for l, b in enumerate(model.biases, 1)), ("mean", model.mean), ("std", model.std)]:
        if not np.isfinite(a).all():
            raise CacheError(f"{where}: {label} of model {model.name} holds NaN or inf; such a model "
                             "is never published (if training diverged, lower lr in specs.py)")


def check_meta(meta, where):
    """Training meta as export reads it: {"train_seconds": number, "history": {key: list}}."""
    ok = (isinstance(meta, dict) and isinstance(meta.get("train_seconds"), (int, float))
          and isinstance(meta.get("history"), dict)
          and all(isinstance(v, list) for v in meta["history"].values()))
    if not ok:
        raise Stale(f"{where}: training meta must be a dict with a number 'train_seconds' and a "
                    f"'history' dict of lists, got {type(meta).__name__} {str(meta)[:60]}")
    return meta


# ---------------------------------------------------------------- models

def model_path(cache_dir, spec, ds_digest):
    return Path(cache_dir) / "models" / f"{check_name(spec.name)}-{cache_key(spec, ds_digest)}.npz"


def load_model(path, spec):
    """(Model (float64), meta) from a model entry made from `spec`; Stale or CacheError."""
    arrays = _read(path)
    _spec_of(arrays, spec.as_dict())
    meta = check_meta(_json_of(arrays, "meta"), "meta")
    try:
        model = fw.load(_npz(arrays), name=str(path))
    except fw.ModelError as e:
        raise Stale(str(e)) from None
    check_finite(model, str(path))
    return model, meta


def _npz(arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    buf.seek(0)
    return buf


def train_cached(spec, ds, cache_dir, progress=print, train=None):
    """Load `spec`'s model from cache_dir/models/<name>-<key>.npz, or train it and store it
    atomically (with `train`, default train.train). Returns (Model (float64), meta): the same
    numbers whether cold or warm."""
    path = model_path(cache_dir, spec, ds.digest)
    if path.exists():
        try:
            return load_model(path, spec)
        except Stale as e:
            progress(f"NOTICE: {path}: {e}; retraining {spec.name}")
    model, meta = (train or tr.train)(spec, ds)
    check_finite(model, f"training {spec.name}")
    try:
        check_meta(meta, f"training {spec.name}")
    except Stale as e:
        raise CacheError(str(e)) from None
    arrays = {**_model_arrays(model), "meta": _json(meta)}
    arrays["digest"] = np.array(content_digest(arrays))
    atomic_write(path, lambda f: np.savez(f, **arrays))
    return load_model(path, spec)


# ---------------------------------------------------------------- analyses

def analysis_path(cache_dir, model, meta):
    blob = json.dumps([model_digest(model), meta, code_digest(ANALYSIS_CODE)], sort_keys=True)
    return Path(cache_dir) / "analysis" / f"{check_name(model.name)}-{hashlib.sha256(blob.encode()).hexdigest()[:16]}.npz"


def load_analysis(path, model, n_test):
    """(analysis dict, pred (n_test,) ints) from an entry made for `model`; Stale otherwise."""
    arrays = _read(path)
    _spec_of(arrays, model.spec)
    analysis, pred = _json_of(arrays, "analysis"), arrays.get("pred", np.array(None))
    if not isinstance(analysis, dict) or pred.shape != (n_test,) or pred.dtype.kind not in "iu":
        raise Stale(f"expected an analysis dict and {n_test} integer predictions, "
                    f"got {type(analysis).__name__} and {pred.dtype} {pred.shape}")
    return analysis, pred


def analyse_cached(model, meta, ds, cache_dir, progress=print):
    """(analysis, pred) for a trained model, cached like the models: a warm rebuild skips the
    test-set passes."""
    path = analysis_path(cache_dir, model, meta)
    if path.exists():
        try:
            return load_analysis(path, model, len(ds.y_test))
        except Stale as e:
            progress(f"NOTICE: {path}: {e}; re-analysing {model.name}")
    analysis, pred = an.analyse(model, ds, meta)
    arrays = {"analysis": _json(analysis), "pred": np.asarray(pred), "spec": _json(model.spec)}
    arrays["digest"] = np.array(content_digest(arrays))
    atomic_write(path, lambda f: np.savez(f, **arrays))
    return analysis, pred
