"""cache.py: model and analysis entries are keyed, carry their spec and a content digest, and
anything damaged, edited or foreign is recomputed with one notice (issue 16 items 1-3, 11)."""
import ast
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from nnviz import cache as ch
from nnviz import forward as fw
from nnviz.specs import NAME_RE, Spec, SpecError, check_name
from test_train import Toy, toy_spec


@pytest.fixture
def notices():
    lines = []
    return lines.append, lines


def entry(tmp_path, spec=None, ds=None):
    """Train once into tmp_path; returns (spec, ds, path of the model entry)."""
    spec, ds = spec or toy_spec(epochs=2), ds or Toy()
    ch.train_cached(spec, ds, tmp_path, progress=lambda s: None)
    return spec, ds, ch.model_path(tmp_path, spec, ds.digest)


def rewrite(path, digest=True, **changes):
    """Edit an entry's arrays; digest=True recomputes its digest as an honest writer would."""
    with np.load(path) as z:
        arrays = {**dict(z), **changes}
    if digest:
        arrays["digest"] = np.array(ch.content_digest(arrays))
    np.savez(path, **arrays)


def counting_train(calls):
    def train(spec, ds):
        calls.append(spec.name)
        from nnviz.train import train as real
        return real(spec, ds)
    return train


def test_train_py_is_pure_numpy_training():
    """The cache moved here so that train.py can ship to the browser: it may import numpy, the
    standard library and, from the package, only forward.py; and it touches no files."""
    tree = ast.parse((Path(ch.__file__).parent / "train.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names |= {f".{a.name}" for a in node.names} if node.level else {node.module.split(".")[0]}
    assert names - set(sys.stdlib_module_names) - {"numpy", ".forward"} == set()
    assert names & {"os", "io", "pathlib", "tempfile", "shutil", "hashlib"} == set()


def test_code_digest_is_of_the_code_as_imported(monkeypatch):
    """An edit during a build must not key old code's results as new (issue 16.5)."""
    before = ch.code_digest(), ch.code_digest(ch.ANALYSIS_CODE)
    monkeypatch.setattr(Path, "read_bytes", lambda self: b"edited on disk since")
    assert (ch.code_digest(), ch.code_digest(ch.ANALYSIS_CODE)) == before
    assert before[0] != before[1]


# ---------------------------------------------------------------- names (16.1)

@pytest.mark.parametrize("bad", ["../evil", "a/b", "Mnist", "-a", "", "a\n", "a b", "a.b", None])
def test_bad_model_names_are_refused(bad):
    with pytest.raises(SpecError, match="not a model name"):
        check_name(bad)
    with pytest.raises(SpecError, match="specs.py"):
        Spec(bad, "mnist")


def test_name_pattern_is_the_shared_contract():
    assert NAME_RE.pattern == "^[a-z0-9][a-z0-9-]*$"
    assert check_name("mnist-h16x16") == "mnist-h16x16"


def test_unknown_dataset_is_refused():
    with pytest.raises(SpecError, match="unknown dataset 'imagenet'"):
        Spec("x", "imagenet")


def test_cache_entry_whose_own_name_is_a_path_is_retrained(tmp_path, notices):
    spec, ds, path = entry(tmp_path)
    rewrite(path, spec=np.array(json.dumps({**spec.as_dict(), "name": "../../evil"}, sort_keys=True)))
    model, _ = ch.train_cached(spec, ds, tmp_path, progress=notices[0])
    assert model.name == spec.name
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [path.name]
    assert len(notices[1]) == 1 and "another spec" in notices[1][0] and str(path) in notices[1][0]


# ---------------------------------------------------------------- model entries (16.2, 11)

def test_cache_hits_and_is_keyed_by_spec(tmp_path):
    ds, calls = Toy(), []
    m1, meta1 = ch.train_cached(toy_spec(epochs=3), ds, tmp_path, train=counting_train(calls))
    files = list((tmp_path / "models").iterdir())
    assert len(files) == 1 and files[0].name.startswith("toy-")
    m2, meta2 = ch.train_cached(toy_spec(epochs=3), ds, tmp_path, train=counting_train(calls))
    assert calls == ["toy"]                                   # hit: not trained again
    assert meta1 == meta2 and np.array_equal(m1.weights[0], m2.weights[0])
    ch.train_cached(toy_spec(epochs=4), ds, tmp_path)         # new spec, new entry
    assert len(list((tmp_path / "models").iterdir())) == 2


def test_crashed_training_leaves_no_cache_entry(tmp_path, monkeypatch):
    real = np.savez
    def half_then_crash(f, **arrays):     # the cache write dies after writing some bytes
        if not hasattr(f, "name"):
            return real(f, **arrays)      # in-memory serialisation
        f.write(b"PK partial")
        raise KeyboardInterrupt
    monkeypatch.setattr(ch.np, "savez", half_then_crash)
    with pytest.raises(KeyboardInterrupt):
        ch.train_cached(toy_spec(epochs=2), Toy(), tmp_path)
    assert list((tmp_path / "models").iterdir()) == []


@pytest.mark.parametrize("damage", ["zeros", "truncated", "no digest", "foreign"])
def test_damaged_or_edited_model_entry_is_retrained_with_one_notice(tmp_path, notices, damage):
    spec, ds, path = entry(tmp_path)
    good = fw.load(path)
    if damage == "zeros":           # well-formed, right shapes, digest left as it was
        rewrite(path, digest=False, W1=np.zeros_like(good.weights[0], dtype=np.float32))
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:300])
    elif damage == "no digest":     # an entry from before digests (or a plain model file)
        path.write_bytes(fw.to_bytes(good))
    else:
        path.write_bytes(b"not a zip at all")
    calls = []
    model, meta = ch.train_cached(spec, ds, tmp_path, progress=notices[0], train=counting_train(calls))
    assert calls == ["toy"] and len(notices[1]) == 1
    assert notices[1][0].startswith(f"NOTICE: {path}: ") and notices[1][0].endswith("retraining toy")
    assert np.array_equal(model.weights[0], good.weights[0])
    ch.load_model(path, spec)       # and the entry is sound again


def test_consistently_reshaped_model_is_retrained(tmp_path, notices):
    """A 16-9-10 net with its own spec and an honest digest, under the 16-8-10 spec's key."""
    spec, ds, path = entry(tmp_path)
    other, _ = ch.train_cached(replace(spec, hidden=(9,)), ds, tmp_path / "other")
    wrong = ch._model_arrays(other)
    path.unlink()
    np.savez(path, **{**wrong, "meta": np.array(json.dumps({"train_seconds": 1, "history": {}}))})
    rewrite(path)
    model, _ = ch.train_cached(spec, ds, tmp_path, progress=notices[0])
    assert model.layers == [16, 8, 10] and "another spec" in notices[1][0]


@pytest.mark.parametrize("meta", [[], "fast", {"train_seconds": "1.0", "history": {}},
                                  {"train_seconds": 1.0, "history": {"epoch": 3}}, "{not json"])
def test_meta_of_the_wrong_type_is_retrained(tmp_path, notices, meta):
    spec, ds, path = entry(tmp_path)
    rewrite(path, meta=np.array(meta if meta == "{not json" else json.dumps(meta)))
    _, got = ch.train_cached(spec, ds, tmp_path, progress=notices[0])
    assert isinstance(got["train_seconds"], float) and len(notices[1]) == 1
    assert "training meta must be" in notices[1][0] or "no readable 'meta'" in notices[1][0]


def test_training_that_returns_bad_meta_is_an_error(tmp_path):
    def bad(spec, ds):
        from nnviz.train import train
        return train(spec, ds)[0], ["not", "a", "dict"]
    with pytest.raises(ch.CacheError, match="training toy: training meta must be a dict"):
        ch.train_cached(toy_spec(epochs=1), Toy(), tmp_path, train=bad)
    assert not (tmp_path / "models").exists() or not list((tmp_path / "models").iterdir())


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_nan_or_inf_weights_are_always_an_error(tmp_path, value):
    spec, ds, path = entry(tmp_path)
    w = fw.load(path).weights[1].astype(np.float32)
    w[3, 4] = value
    rewrite(path, W2=w)                 # even with an honest digest
    with pytest.raises(ch.CacheError, match=r"W2 of model toy holds NaN or inf"):
        ch.train_cached(spec, ds, tmp_path)

    def diverged(spec, ds):
        from nnviz.train import train
        model, meta = train(spec, ds)
        model.biases[0][0] = value
        return model, meta
    with pytest.raises(ch.CacheError, match=r"training toy: b1 of model toy holds NaN or inf"):
        ch.train_cached(toy_spec(epochs=1), ds, tmp_path / "fresh", train=diverged)
    assert not list((tmp_path / "fresh").rglob("*.npz"))


# ---------------------------------------------------------------- analysis entries (16.2, 16.3)

@pytest.fixture
def analysed(tmp_path):
    spec, ds, _ = entry(tmp_path)
    ds.classes = tuple("0123456789")
    model, meta = ch.train_cached(spec, ds, tmp_path)
    analysis, pred = ch.analyse_cached(model, meta, ds, tmp_path)
    return model, meta, ds, analysis, pred, ch.analysis_path(tmp_path, model, meta)


def test_analysis_is_cached(tmp_path, analysed, monkeypatch):
    model, meta, ds, analysis, pred, path = analysed
    monkeypatch.setattr(ch.an, "analyse", lambda *a: pytest.fail("analysed again on a warm cache"))
    again, pred2 = ch.analyse_cached(model, meta, ds, tmp_path)
    assert again == analysis and np.array_equal(pred, pred2) and path.is_file()


@pytest.mark.parametrize("damage", ["edited json", "truncated", "object array", "wrong length", "other model",
                                    "no pred"])
def test_damaged_analysis_entry_is_recomputed_with_one_notice(tmp_path, analysed, notices, damage):
    model, meta, ds, analysis, pred, path = analysed
    if damage == "edited json":         # "mnist-h16x16 at 9.7%": content no longer matches digest
        rewrite(path, digest=False, analysis=np.array(json.dumps({**analysis, "test_accuracy": 0.097})))
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:200])
    elif damage == "object array":      # loading it would need pickle
        np.savez(path, analysis=np.array([{"x": 1}], dtype=object), pred=pred)
    elif damage == "wrong length":
        rewrite(path, pred=pred[:-1])
    elif damage == "no pred":
        with np.load(path) as z:
            arrays = {k: z[k] for k in z.files if k != "pred"}
        np.savez(path, **{**arrays, "digest": np.array(ch.content_digest(arrays))})
    else:
        rewrite(path, spec=np.array(json.dumps({**model.spec, "name": "toy-other"})))
    got, got_pred = ch.analyse_cached(model, meta, ds, tmp_path, progress=notices[0])
    assert got == analysis and np.array_equal(got_pred, pred)
    assert len(notices[1]) == 1 and notices[1][0].startswith(f"NOTICE: {path}: ")
    assert notices[1][0].endswith("re-analysing toy")
