"""An independent oracle for every file the build exports under site/data/ (demos/README.md).

Recomputed here with plain numpy from the real test labels and the predictions of the exported
model files, never through nnviz.analyse or nnviz.export: a transposed confusion matrix, swapped
precision and recall, a cell listing the wrong images, a mistake that is not one, or a comparison
counted the wrong way round fails here even though every page agrees with its own analysis.json.

Runs on the built site ($NNVIZ_SITE or <repo>/site; `make test` builds it first). The analysis was
computed in float32, the oracle predicts in float64: an image whose two most probable classes lie
within AMBIGUOUS of each other may legitimately fall either way, and is allowed to.
"""
from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nnviz import forward

TOL = 2e-5          # listed probabilities: rounded to 6 decimals, computed in float32
AMBIGUOUS = 1e-5    # top-two gap below which float32 and float64 may disagree on the argmax
TOP, LEAST, MISTAKES, COMPARE_LIMIT, RANDOM = 16, 8, 24, 16, 300


def read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def read_png(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im)


class Oracle:
    """Everything about one exported model that the oracle recomputes: probabilities on the test
    set, argmax predictions, and which of them float precision could flip."""

    def __init__(self, site: Path, entry: dict, ds):
        self.entry, self.ds = entry, ds
        self.model = forward.load(site / entry["file"], name=entry["file"])
        self.y = ds.y_test.astype(np.int64)
        self.probs = self.predict(ds.x_test)
        self.pred = self.probs.argmax(1)
        top2 = np.sort(self.probs, 1)[:, -2:]
        self.ambiguous = top2[:, 1] - top2[:, 0] < AMBIGUOUS

    def predict(self, images: np.ndarray) -> np.ndarray:
        x = images.reshape(len(images), -1).astype(np.float64) / 255.0
        return np.concatenate([forward.predict(self.model, x[i:i + 2000]) for i in range(0, len(x), 2000)])

    def confusion(self) -> np.ndarray:
        cm = np.zeros((10, 10), np.int64)
        for t, p in zip(self.y, self.pred):
            cm[t, p] += 1          # row = true class, column = prediction
        return cm

    def may_be(self, t: int, j: int) -> bool:
        """Could test image t have been predicted as class j by the analysis?"""
        if self.pred[t] == j:
            return True
        return bool(self.ambiguous[t]) and abs(self.probs[t, j] - self.probs[t].max()) < AMBIGUOUS


@pytest.fixture(scope="module")
def site_data(site_dir) -> Path:
    data = site_dir / "data"
    if not (data / "models.json").is_file():
        pytest.fail(f"{site_dir} has no data/models.json: the build exports it", pytrace=False)
    return data


@pytest.fixture(scope="module")
def entries(site_data) -> dict:
    return {e["name"]: e for e in read_json(site_data / "models.json")}


@pytest.fixture(scope="module")
def oracle(site_data, entries, real_dataset):
    @lru_cache(maxsize=None)
    def get(name):
        entry = entries[name]
        return Oracle(site_data.parent, entry, real_dataset(entry["dataset"]))
    return get


def model_names():
    """The models to check, read at collection time so that each gets its own test id."""
    site = Path(os.environ.get("NNVIZ_SITE") or Path(__file__).resolve().parents[1] / "site")
    path = site / "data" / "models.json"
    return [e["name"] for e in read_json(path)] if path.is_file() else ["(no built site)"]


MODELS = model_names()


@pytest.fixture(params=MODELS)
def name(request, site_data, entries):
    if request.param not in entries:
        pytest.fail(f"models.json lists no {request.param}", pytrace=False)
    return request.param


# --------------------------------------------------------------------------- models.json

def test_models_json_matches_the_model_files(name, entries, oracle):
    e, o = entries[name], oracle(name)
    layers = [w.shape[0] for w in o.model.weights] + [o.model.weights[-1].shape[1]]
    assert e["layers"] == layers == o.model.layers
    assert e["params"] == sum(w.size + b.size for w, b in zip(o.model.weights, o.model.biases))
    assert e["classes"] == list(o.ds.classes) and e["dataset"] == o.model.spec["dataset"]
    for key in ("activation", "init", "l2", "epochs", "train_subset", "seed", "optimizer"):
        assert e[key] == o.model.spec[key], key
    assert e["file"] == f"data/models/{name}.npz"
    right = (o.pred == o.y).sum()
    assert abs(e["test_accuracy"] - right / len(o.y)) <= o.ambiguous.sum() / len(o.y) + 1e-6


# --------------------------------------------------------------------------- analysis.json

@pytest.fixture
def analysis(name, site_data):
    return read_json(site_data / name / "analysis.json")


def test_confusion_matrix_rows_are_true_classes(name, analysis, oracle):
    o = oracle(name)
    got, want = np.asarray(analysis["confusion"]), o.confusion()
    assert got.shape == (10, 10) and got.sum() == len(o.y)
    assert got.sum(1).tolist() == np.bincount(o.y, minlength=10).tolist(), "rows must count true classes"
    flips = int(o.ambiguous.sum())
    assert np.abs(got - want).sum() <= 2 * flips, f"confusion differs from the oracle's:\n{got - want}"
    if flips == 0:
        assert got.tolist() == want.tolist()
    assert abs(analysis["test_accuracy"] - np.trace(got) / len(o.y)) < 1e-12


def test_precision_and_recall(name, analysis):
    cm = np.asarray(analysis["confusion"], np.float64)
    right = np.diag(cm)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(cm.sum(0) > 0, right / cm.sum(0), 0.0)   # of the images called c
        recall = np.where(cm.sum(1) > 0, right / cm.sum(1), 0.0)      # of the images that are c
    assert np.allclose(analysis["precision"], precision, rtol=0, atol=1e-12)
    assert np.allclose(analysis["recall"], recall, rtol=0, atol=1e-12)


def test_every_cell_lists_its_own_images(name, analysis, oracle):
    """Cell "i,j": count = confusion[i][j]; each listed image is a test image of class i predicted
    as j, with its real probability of j; top is the most confident, descending; least the least."""
    o, cm = oracle(name), analysis["confusion"]
    cells = analysis["cells"]
    assert set(cells) == {f"{i},{j}" for i in range(10) for j in range(10) if cm[i][j]}
    for key, cell in cells.items():
        i, j = map(int, key.split(","))
        assert cell["count"] == cm[i][j], key
        assert len(cell["top"]) == min(TOP, cm[i][j]) and len(cell["least"]) == min(LEAST, cm[i][j]), key
        for kind in ("top", "least"):
            for t, p in cell[kind]:
                assert o.y[t] == i, f"{key} {kind}: test image {t} is a {o.y[t]}, not a {i}"
                assert o.may_be(t, j), f"{key} {kind}: test image {t} is predicted {o.pred[t]}, not {j}"
                assert abs(p - o.probs[t, j]) < TOL, f"{key} {kind}: p({j}) of image {t} is {o.probs[t, j]}, listed {p}"
        top, least = [p for _, p in cell["top"]], [p for _, p in cell["least"]]
        assert top == sorted(top, reverse=True) and least == sorted(least), key
        members = np.flatnonzero((o.y == i) & (o.pred == j))
        others = lambda listed: o.probs[np.setdiff1d(members, [t for t, _ in listed]), j]
        if len(others(cell["top"])):
            assert min(top) >= others(cell["top"]).max() - TOL, f"{key}: a more confident image is not in top"
            assert max(least) <= others(cell["least"]).min() + TOL, f"{key}: a less confident image is not in least"


def test_mistakes_are_mistakes(name, analysis, oracle):
    """glaring: the most confident mistakes (p(true) small); near: the true class a close second."""
    o = oracle(name)
    wrong = np.flatnonzero((o.pred != o.y) & ~o.ambiguous)
    m = analysis["mistakes"]
    assert set(m) == {"glaring", "near"}
    second = np.argsort(o.probs, 1)[:, -2]
    n_wrong = {"glaring": int((o.pred != o.y).sum()), "near": int(((o.pred != o.y) & (second == o.y)).sum())}
    for kind, rows in m.items():
        assert len(rows) == min(MISTAKES, n_wrong[kind]), kind
        assert len({r["index"] for r in rows}) == len(rows), f"{kind}: an image is listed twice"
        for r in rows:
            t = r["index"]
            assert r["true"] == o.y[t] != r["pred"], f"{kind}: image {t} is no mistake"
            assert o.may_be(t, r["pred"]), f"{kind}: image {t} is predicted {o.pred[t]}, listed {r['pred']}"
            assert abs(r["p_pred"] - o.probs[t, r["pred"]]) < TOL and abs(r["p_true"] - o.probs[t, r["true"]]) < TOL
    glaring = np.asarray([r["p_pred"] for r in m["glaring"]])
    assert (np.diff(glaring) <= 0).all(), "glaring mistakes must come most confident first"
    unlisted = np.setdiff1d(wrong, [r["index"] for r in m["glaring"]])
    assert glaring.min() >= o.probs[unlisted, o.pred[unlisted]].max() - TOL
    assert all(r["p_true"] <= 1 - r["p_pred"] + TOL for r in m["glaring"])
    for r in m["near"]:
        t = r["index"]
        assert second[t] == r["true"], f"near miss {t}: the second most probable class is {second[t]}, not {r['true']}"
    gaps = np.asarray([r["p_pred"] - r["p_true"] for r in m["near"]])
    assert (np.diff(gaps) >= -TOL).all(), "near misses must come closest first"
    unlisted = np.setdiff1d(wrong[second[wrong] == o.y[wrong]], [r["index"] for r in m["near"]])
    assert gaps.max() <= (o.probs[unlisted, o.pred[unlisted]] - o.probs[unlisted, o.y[unlisted]]).min() + TOL


def test_history_and_train_accuracy(name, analysis, entries, oracle):
    """The final epoch's train accuracy and loss are the exported model's on its training images;
    with curves, the final test accuracy is the model's test accuracy."""
    o, e = oracle(name), entries[name]
    h = analysis["history"]
    n = len(h["epoch"])
    assert h["epoch"] == sorted(h["epoch"]) and h["epoch"][-1] == e["epochs"]
    assert len(h["train_loss"]) == len(h["train_acc"]) == n
    assert len(h["test_loss"]) == len(h["test_acc"]) in (0, n)
    subset = e["train_subset"] or len(o.ds.y_train)
    p = o.predict(o.ds.x_train[:subset])
    y = o.ds.y_train[:subset].astype(np.int64)
    p_true = p[np.arange(len(y)), y]
    acc, loss = (p.argmax(1) == y).mean(), -np.log(np.maximum(p_true, 1e-30)).mean()
    tol = 20 / subset      # float32 training vs float64 oracle: a handful of near-ties may flip
    assert abs(analysis["train_accuracy"] - acc) <= tol and abs(e["train_accuracy"] - acc) <= tol
    assert abs(h["train_acc"][-1] - acc) <= tol
    assert abs(h["train_loss"][-1] - loss) <= 1e-4 * max(1.0, loss)
    if h["test_acc"]:
        assert abs(h["test_acc"][-1] - analysis["test_accuracy"]) < 1e-12
    assert analysis["train_seconds"] == e["train_seconds"] > 0


def test_output_weights_and_lego(name, analysis, oracle):
    """One-hidden-layer models: out_weights is W2 (hidden x class); lego names each class's three
    most positive and three most negative hidden units."""
    o = oracle(name)
    if len(o.model.weights) != 2:
        assert "out_weights" not in analysis and "lego" not in analysis
        return
    w2 = o.model.weights[1]
    assert np.allclose(analysis["out_weights"], w2, rtol=0, atol=6e-6)
    assert sorted(analysis["lego"], key=int) == [str(c) for c in range(10)]
    for c, parts in analysis["lego"].items():
        col = w2[:, int(c)]
        for kind, want in (("pos", np.sort(col)[::-1][:3]), ("neg", np.sort(col)[:3])):
            units = [u for u, _ in parts[kind]]
            assert np.allclose([w for _, w in parts[kind]], want, atol=6e-6), (c, kind)
            assert np.allclose(col[units], want, atol=6e-6), f"class {c} {kind}: units {units} do not carry those weights"


# --------------------------------------------------------------------------- compare/

def test_compare_counts_fixed_and_broke_images(site_data, entries, oracle):
    """diff = confusion(B) - confusion(A); fixed = A wrong and B right, broke = A right and B
    wrong, each filed under (true class, the wrong model's prediction), lowest test index first."""
    files = sorted((site_data / "compare").glob("*.json"))
    assert files, "the build exports one comparison (compare/<a>__<b>.json)"
    for path in files:
        c = read_json(path)
        a, b = oracle(c["a"]), oracle(c["b"])
        assert path.stem == f"{c['a']}__{c['b']}"
        y = a.y
        doubt = a.ambiguous | b.ambiguous
        diff = np.asarray(c["diff"])
        assert (diff.sum(1) == 0).all(), "rows are true classes: each row of the diff sums to 0"
        assert np.abs(diff - (b.confusion() - a.confusion())).sum() <= 4 * doubt.sum(), "diff = B - A"
        fixed, broke = (a.pred != y) & (b.pred == y), (a.pred == y) & (b.pred != y)
        assert abs(c["fixed"] - fixed.sum()) <= doubt.sum() and abs(c["broke"] - broke.sum()) <= doubt.sum()
        assert c["fixed"] - c["broke"] == np.trace(c["diff"]), "B's gain on the diagonal is fixed - broke"
        assert sum(v["n_fixed"] for v in c["cells"].values()) == c["fixed"]
        assert sum(v["n_broke"] for v in c["cells"].values()) == c["broke"]
        for key, cell in c["cells"].items():
            i, w = map(int, key.split(","))
            assert i != w, key
            for kind, wrong, other in (("fixed", a, b), ("broke", b, a)):
                ids = cell[kind]
                assert ids == sorted(ids) and len(ids) == min(COMPARE_LIMIT, cell["n_" + kind]), (key, kind)
                for t in ids:
                    assert y[t] == i, f"{key} {kind}: image {t} is a {y[t]}"
                    assert wrong.may_be(t, w), f"{key} {kind}: the wrong model predicts {wrong.pred[t]} for {t}, not {w}"
                    assert other.may_be(t, i), f"{key} {kind}: the right model predicts {other.pred[t]} for {t}, not {i}"
                want = np.flatnonzero((y == i) & (wrong.pred == w) & (other.pred == i) & ~doubt)
                assert set(want[:len(ids)]) <= set(ids) | set(np.flatnonzero(doubt)), (key, kind)
                if not doubt.any():
                    assert cell["n_" + kind] == len(want) and ids == want[:COMPARE_LIMIT].tolist(), (key, kind)


# --------------------------------------------------------------------------- <dataset>/samples

def test_samples_sprite_holds_every_image_a_demo_shows(site_data, entries, real_dataset):
    for name in sorted({e["dataset"] for e in entries.values()}):
        ds, folder = real_dataset(name), site_data / name
        meta, sheet = read_json(folder / "samples.json"), read_png(folder / "samples.png")
        index, tile, cols = meta["index"], meta["tile"], meta["cols"]
        assert index == sorted(set(index)) and meta["classes"] == list(ds.classes)
        assert meta["labels"] == ds.y_test[index].tolist()
        assert tile == ds.x_test.shape[1] and meta["channels"] == (1 if ds.x_test.ndim == 3 else 3)
        assert len(meta["random"]) == RANDOM == len(set(meta["random"])) and max(meta["random"]) < len(index)
        assert sheet.shape[:2] == (-(-len(index) // cols) * tile, cols * tile)
        for slot, t in enumerate(index):
            r, c = divmod(slot, cols)
            got = sheet[r * tile:(r + 1) * tile, c * tile:(c + 1) * tile]
            assert np.array_equal(got, ds.x_test[t]), f"{name} sprite slot {slot} is not test image {t}"
        shown = set()
        for model, e in entries.items():
            a = site_data / model / "cell-means.png"
            if e["dataset"] == name and a.is_file():        # a showcase model: its demos show these
                an = read_json(site_data / model / "analysis.json")
                shown |= {t for cell in an["cells"].values() for t, _ in cell["top"] + cell["least"]}
                shown |= {r["index"] for rows in an["mistakes"].values() for r in rows}
        for path in (site_data / "compare").glob("*.json"):
            if entries[read_json(path)["a"]]["dataset"] == name:
                shown |= {t for cell in read_json(path)["cells"].values() for t in cell["fixed"] + cell["broke"]}
        assert shown <= set(index), f"{name}: test images shown but not in the sprite: {sorted(shown - set(index))[:10]}"


# --------------------------------------------------------------------------- <model>/*.png

def test_cell_means_are_the_average_image_of_each_cell(name, site_data, oracle):
    path = site_data / name / "cell-means.png"
    if not path.is_file():
        return                                  # only showcase models have one
    o = oracle(name)
    grid = read_png(path).astype(np.int64)
    h, w = o.ds.x_test.shape[1:3]
    assert grid.shape[:2] == (10 * h, 10 * w)
    for i in range(10):
        for j in range(10):
            sel = (o.y == i) & (o.pred == j)
            if (o.ambiguous & ((o.y == i) | (o.pred == j))).any():
                continue                        # float precision may move an image between cells
            tile = grid[i * h:(i + 1) * h, j * w:(j + 1) * w]
            want = np.rint(o.ds.x_test[sel].astype(np.float64).mean(0)) if sel.any() else np.zeros_like(tile)
            assert np.abs(tile - want).max() <= 1, f"{name} cell-means tile ({i},{j}) (row = true, column = predicted)"


def test_class_means_are_each_class_average_training_image(site_data, entries, real_dataset):
    """<dataset>/class-means.png: ten tiles in a row, tile c the mean of every training image of
    class c (summed here in integers, not through nnviz.analyse)."""
    for name in sorted({e["dataset"] for e in entries.values()}):
        ds = real_dataset(name)
        strip = read_png(site_data / name / "class-means.png").astype(np.int64)
        h, w = ds.x_train.shape[1:3]
        assert strip.shape == (h, 10 * w) + ds.x_train.shape[3:]
        for c in range(10):
            imgs = ds.x_train[ds.y_train == c].astype(np.int64)
            want = imgs.sum(0) / len(imgs)
            assert np.abs(strip[:, c * w:(c + 1) * w] - want).max() <= 0.5 + 1e-9, f"{name} class {c}"


def test_template_match_correlates_templates_with_class_averages(name, site_data, entries, oracle):
    """analysis.template_match[k][j] (models without hidden layers): Pearson correlation of template
    k with class j's average training image minus the average of every training image."""
    a = read_json(site_data / name / "analysis.json")
    if len(entries[name]["layers"]) != 2:
        assert "template_match" not in a
        return
    o = oracle(name)
    x = o.ds.x_train.reshape(len(o.ds.x_train), -1).astype(np.float64) / 255.0
    y = o.ds.y_train
    overall = x.mean(0)
    for k in range(10):
        for j in range(10):
            got = a["template_match"][k][j]
            want = np.corrcoef(o.model.weights[0][:, k], x[y == j].mean(0) - overall)[0, 1]
            assert abs(got - want) < 2e-4, f"{name} template {k} vs class {j}: {got} != {want:.5f}"


def test_first_layer_pictures_show_the_weights(name, site_data, entries, oracle):
    """w1/<k>.png for every first-layer unit (models with at most 300): softmax regression grey
    (lowest weight black, highest white, in weight order); hidden units diverging around zero
    (the sign picks the side, a larger |w| a darker colour), scaled by the unit's max |w|."""
    o = oracle(name)
    units = o.model.layers[1]
    folder = site_data / name / "w1"
    if units > 300:
        assert not folder.exists()
        return
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{k}.png" for k in range(units))
    grey = len(o.model.weights) == 1
    for k in range(units):
        w, img = o.model.weights[0][:, k], read_png(folder / f"{k}.png").astype(np.int64)
        if w.size == 3072:                                       # CIFAR: RGB, CHW order
            w = w.reshape(3, 32, 32).transpose(1, 2, 0)
            assert img.shape == (32, 32, 3)
        else:
            w = w.reshape(28, 28)
        if grey or w.ndim == 3:
            check_rank_order(w.ravel(), img.reshape(-1) if w.ndim == 3 else img.ravel(), f"{name} w1/{k}")
        else:
            check_diverging(w, img, f"{name} w1/{k}")


def check_rank_order(w, px, what):
    if w.max() == w.min():
        return
    assert px[w.argmin()] == px.min() == 0 and px[w.argmax()] == px.max() == 255, what
    assert (np.diff(px[np.argsort(w, kind="stable")]) >= 0).all(), f"{what}: brighter must mean larger"


def check_diverging(w, img, what):
    assert img.shape == w.shape + (3,), what
    scale = np.abs(w).max()
    if scale == 0:
        return
    light = img @ np.array([299, 587, 114]) / 1000.0
    t = w / scale
    for side in (t > 0, t < 0):
        order = np.argsort(np.abs(t[side]), kind="stable")
        assert (np.diff(light[side][order]) <= 2).all(), f"{what}: larger |w| must not be lighter"
    strong_pos, strong_neg = img[t > 0.5], img[t < -0.5]
    if len(strong_pos) and len(strong_neg):
        assert (strong_pos[:, 0] > strong_pos[:, 2]).all() and (strong_neg[:, 2] > strong_neg[:, 0]).all(), \
            f"{what}: positive weights are drawn warm (red side), negative cool (blue side)"
    extreme = np.unravel_index(np.abs(w).argmax(), w.shape)
    side = np.sign(w) == np.sign(w[extreme])
    assert light[extreme] == light[side].min(), f"{what}: the largest |w| gets its side's darkest colour"


# --------------------------------------------------------------------------- <model>/neurons.*

def hidden_z(npz: Path, images: np.ndarray) -> list:
    """Every hidden layer's pre-activation z_l (N, n_l), straight from the .npz with plain numpy
    (no nnviz.forward): a_0 = (x/255 - mean) / std, z_l = a_{l-1} W_l + b_l, a_l = f(z_l)."""
    with np.load(npz, allow_pickle=False) as f:
        spec = json.loads(str(f["spec"]))
        arr = {k: f[k].astype(np.float64) for k in f.files if k != "spec"}
    f = {"relu": lambda z: np.maximum(z, 0), "tanh": np.tanh,
         "sigmoid": lambda z: 1 / (1 + np.exp(-z))}[spec["activation"]]
    a = (images.reshape(len(images), -1) / 255.0 - arr["mean"]) / arr["std"]
    zs = []
    for l in range(1, len(spec["layers"]) - 1):
        zs.append(a @ arr[f"W{l}"] + arr[f"b{l}"])
        a = f(zs[-1])
    return zs, f


def test_neuron_strips_are_the_true_top_and_bottom_images(site_data, entries, real_dataset):
    """neurons.json: for each listed hidden neuron the K test images of highest z (with their
    activation f(z)) and of lowest z (with z), in that order; neurons.png row r holds them."""
    files = sorted(site_data.glob("*/neurons.json"))
    assert {p.parent.name for p in files} >= {"mnist-h10", "mnist-h16x16", "mnist-h30"}
    for path in files:
        meta, sheet = read_json(path), read_png(path.with_suffix(".png"))
        e = entries[meta["model"]]
        ds = real_dataset(e["dataset"])
        zs, f = hidden_z(site_data.parent / e["file"], ds.x_test)
        k, tile = meta["k"], meta["tile"]
        assert sheet.shape[:2] == (len(meta["neurons"]) * tile, 2 * k * tile)
        for r, n in enumerate(meta["neurons"]):
            z = zs[n["layer"] - 1][:, n["unit"]]
            what = f"{meta['model']} layer {n['layer']} unit {n['unit']}"
            top, bottom = [t for t, _ in n["top"]], [t for t, _ in n["bottom"]]
            assert len(top) == len(bottom) == k and len(set(top)) == len(set(bottom)) == k, what
            assert np.allclose([v for _, v in n["top"]], f(z[top]), atol=1e-3), f"{what}: top values are f(z)"
            assert np.allclose([v for _, v in n["bottom"]], z[bottom], atol=1e-3), f"{what}: bottom values are z"
            assert (np.diff(z[top]) <= 1e-9).all() and (np.diff(z[bottom]) >= -1e-9).all(), what
            rest = np.delete(z, top + bottom)
            assert z[top].min() >= rest.max() - 1e-9, f"{what}: an unlisted image excites it more"
            assert z[bottom].max() <= rest.min() + 1e-9, f"{what}: an unlisted image has a lower z"
            assert n["silent"] == pytest.approx((f(z) == 0).mean(), abs=1e-4), what
            for c, t in enumerate(top + bottom):
                got = sheet[r * tile:(r + 1) * tile, c * tile:(c + 1) * tile]
                assert np.array_equal(got, ds.x_test[t]), f"{what}: tile {c} is not test image {t}"


# --------------------------------------------------------------------------- nothing unchecked

EXPORTS = ("models.json", "models/{model}.npz", "{model}/analysis.json", "{model}/cell-means.png", "{dataset}/class-means.png",
           "{model}/w1/{k}.png", "{dataset}/samples.json", "{dataset}/samples.png", "compare/{a}__{b}.json",
           "train/mnist.json", "train/mnist.bin", "repmap/{model}.json", "repmap/{model}.bin",
           "repmap/{model}.png", "repmap/{model}-regions.png", "repmap/test/{dataset}-{k}.png",
           "{model}/neurons.json", "{model}/neurons.png")


def test_representation_maps_put_each_test_image_where_its_hidden_layer_does(site_data, oracle):
    """data/repmap/<model>.*: every test image's hidden point (quantised), true label and the
    model's answer; a plane's decision regions are the output layer's argmax over the grid; a PCA
    view's components are the top two eigenvectors of the hidden values' covariance (numpy eigh
    here, SVD in the build). Hidden values recomputed by hand from the exported weights."""
    manifests = sorted((site_data / "repmap").glob("*.json"))
    assert {read_json(p)["view"] for p in manifests} == {"plane", "pca"}, "the build exports both views"
    for path in manifests:
        man = read_json(path)
        o = oracle(man["model"])
        m, n = o.model, len(o.y)
        x = o.ds.x_test.reshape(n, -1).astype(np.float64) / 255.0
        z = (x - m.mean) / m.std @ m.weights[0] + m.biases[0]
        h = {"tanh": np.tanh, "relu": lambda v: np.maximum(v, 0), "sigmoid": lambda v: 1 / (1 + np.exp(-v))}[m.spec["activation"]](z)
        raw = (site_data / "repmap" / man["file"]).read_bytes()
        assert man["n"] == n and len(raw) == 6 * n
        q = np.frombuffer(raw[:4 * n], "<u2").reshape(2, n).T.astype(np.float64) / man["levels"]
        lo, span = np.array([r[0] for r in man["range"]]), np.array([r[1] - r[0] for r in man["range"]])
        got = lo + q * span
        if man["view"] == "plane":
            want = h
            assert man["mean"] is None and h.shape[1] == 2
        else:
            centred = h - h.mean(0)
            vals, vecs = np.linalg.eigh(centred.T @ centred)
            comps = np.asarray(man["components"])
            for k in range(2):
                assert abs(abs(comps[k] @ vecs[:, -1 - k]) - 1) < 1e-6, f"{path.name}: component {k}"
            assert np.allclose(man["mean"], h.mean(0), atol=1e-8)
            assert np.allclose(man["share"], vals[::-1][:2] / vals.sum(), atol=1e-5)
            want = centred @ comps.T
        assert (np.abs(got - want) <= span / man["levels"] / 2 + 1e-6).all(), f"{path.name}: a point is misplaced"
        assert (np.frombuffer(raw[4 * n:5 * n], np.uint8) == o.y).all(), f"{path.name}: labels"
        pred = np.frombuffer(raw[5 * n:], np.uint8)
        assert all(o.may_be(t, int(pred[t])) for t in np.flatnonzero(pred != o.pred)), f"{path.name}: answers"
        assert abs(man["accuracy"] - (pred == o.y).mean()) < 1e-6
        if man["regions"]:
            g = man["regions"]["size"]
            cells = read_png(site_data / "repmap" / man["regions"]["file"]).astype(np.int64)
            assert cells.shape == (g, g) and (cells % man["regions"]["step"] == 0).all()
            (x0, x1), (y0, y1) = man["range"]
            cx = x0 + (np.arange(g) + 0.5) * (x1 - x0) / g
            cy = y1 - (np.arange(g) + 0.5) * (y1 - y0) / g        # row 0 at the top
            grid = np.stack(np.meshgrid(cx, cy), -1).reshape(-1, 2)
            logits = grid @ m.weights[1] + m.biases[1]
            top2 = np.sort(logits, 1)[:, -2:]
            sure = top2[:, 1] - top2[:, 0] > 1e-9
            assert (cells.ravel()[sure] // man["regions"]["step"] == logits.argmax(1)[sure]).all(), f"{path.name}: regions"
        pic = read_png(site_data / "repmap" / f"{man['model']}.png")
        assert pic.shape[2] == 3 and pic.shape[0] == pic.shape[1]
        side = pic.shape[0]
        col = np.minimum((q[:, 0] * side).astype(int), side - 1)
        row = np.minimum(((1 - q[:, 1]) * side).astype(int), side - 1)
        last = {}
        for t in range(n):
            last[(row[t], col[t])] = t                  # a later dot covers an earlier one
        colours = {tuple(pic[r, c]) for r, c in last}
        assert all(tuple(pic[r, c]) == tuple(pic[row[t], col[t]]) for (r, c), t in last.items())
        by_class = {}
        for (r, c), t in last.items():
            by_class.setdefault(int(o.y[t]), set()).add(tuple(pic[r, c]))
        assert all(len(v) == 1 for v in by_class.values()) and len({next(iter(v)) for v in by_class.values()}) == 10, \
            f"{man['model']}.png: each class's dots in one colour of their own"
        assert colours


def test_repmap_sprites_hold_every_test_image(site_data, real_dataset):
    """data/repmap/test/<dataset>-<k>.png: test images k*chunk ... in tiles, in the manifests' layout, each pixel
    posterised to the nearest of four greys (hover thumbnails only; the points come from the full image)."""
    mans = [read_json(p) for p in sorted((site_data / "repmap").glob("*.json"))]
    assert mans
    chunk, cols, dataset = mans[0]["chunk"], mans[0]["chunk_cols"], mans[0]["dataset"]
    ds = real_dataset(dataset)
    files = sorted((site_data / "repmap" / "test").glob(f"{dataset}-*.png"))
    assert len(files) == -(-len(ds.y_test) // chunk)
    greys = np.array([0, 85, 170, 255])     # hover thumbnails: each pixel the nearest of four greys
    for k in range(len(files)):
        with Image.open(site_data / "repmap" / mans[0]["images"].replace("{k}", str(k))) as im:
            sheet = np.asarray(im.convert("L"))
        for i in range(k * chunk, min(len(ds.y_test), (k + 1) * chunk)):
            r, c = divmod(i - k * chunk, cols)
            want = greys[np.abs(ds.x_test[i][..., None].astype(int) - greys).argmin(-1)]
            assert np.array_equal(sheet[r * 28:(r + 1) * 28, c * 28:(c + 1) * 28], want), f"sprite {k}: image {i}"


def test_training_lab_data_is_the_listed_mnist_images(site_data, real_dataset):
    """data/train/mnist.bin holds, in the layout its manifest states, exactly the real MNIST
    training and test images (and labels) at the manifest's indices; its sha256 is the manifest's."""
    import hashlib
    m = read_json(site_data / "train" / "mnist.json")
    blob = (site_data / "train" / m["file"]).read_bytes()
    assert len(blob) == m["bytes"] and hashlib.sha256(blob).hexdigest() == m["sha256"]
    ds, px = real_dataset("mnist"), m["pixels"]
    tr, te = np.asarray(m["train_index"]), np.asarray(m["test_index"])
    assert len(tr) == m["train"] and len(te) == m["test"] and px == 784
    assert len(set(tr.tolist())) == len(tr) and len(set(te.tolist())) == len(te)
    buf = np.frombuffer(blob, np.uint8)
    cut = np.cumsum([len(tr) * px, len(tr), len(te) * px, len(te)])
    assert cut[-1] == len(buf)
    x_tr, y_tr, x_te, y_te = np.split(buf, cut[:-1])
    np.testing.assert_array_equal(x_tr.reshape(-1, px), ds.x_train.reshape(len(ds.x_train), -1)[tr])
    np.testing.assert_array_equal(y_tr, ds.y_train[tr])
    np.testing.assert_array_equal(x_te.reshape(-1, px), ds.x_test.reshape(len(ds.x_test), -1)[te])
    np.testing.assert_array_equal(y_te, ds.y_test[te])


def test_every_exported_file_has_an_oracle(site_data, entries):
    """A new kind of file under site/data/ needs its oracle here (and a line in demos/README.md)."""
    import re
    names = "|".join(re.escape(n) for n in entries)
    datasets = "|".join(re.escape(e["dataset"]) for e in entries.values())
    pattern = "|".join(p.replace(".", r"\.").replace("{model}", f"(?:{names})").replace("{k}", r"\d+")
                       .replace("{dataset}", f"(?:{datasets})").replace("{a}__{b}", f"(?:{names})__(?:{names})")
                       for p in EXPORTS)
    files = [p.relative_to(site_data).as_posix() for p in site_data.rglob("*") if p.is_file()]
    unchecked = [f for f in files if not re.fullmatch(pattern, f) and not re.search(r"\.(gz|br)$", f)]
    assert not unchecked, f"exported without an oracle in {Path(__file__).name}: {unchecked[:10]}"
