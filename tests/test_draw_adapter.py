"""demos/draw/adapter.py in CPython: the arithmetic the drawing lab shows in the browser.

The browser runs this same file in Pyodide (as nnviz.demos.draw); tests/browser/test_draw.py
checks that the page shows exactly these numbers."""
import ast
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from nnviz import forward

REPO = Path(__file__).resolve().parents[1]
ADAPTER = REPO / "demos" / "draw" / "adapter.py"


def load_adapter():
    spec = importlib.util.spec_from_file_location("nnviz_demo_draw", ADAPTER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


draw = load_adapter()


def make_model(layers=(784, 16, 16, 10), seed=0, activation="relu"):
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal((m, n)) / np.sqrt(m) for m, n in zip(layers[:-1], layers[1:])]
    biases = [0.1 * rng.standard_normal(n) for n in layers[1:]]
    mean = np.zeros(layers[0])
    mean.reshape(28, 28)[4:24, 4:24] = rng.uniform(0.0, 0.4, (20, 20))  # blank border, as MNIST
    std = np.full(layers[0], 0.31)
    spec = {"name": "test-" + "x".join(map(str, layers)), "layers": list(layers), "activation": activation}
    return forward.Model(spec, weights, biases, mean, std)


@pytest.fixture(scope="module")
def deep():
    return make_model()


@pytest.fixture(scope="module")
def softmax():
    return make_model((784, 10), seed=1)


def blob(top, left, h, w, value=1.0):
    img = np.zeros((28, 28))
    img[top:top + h, left:left + w] = value
    return img


def ring(cy=14, cx=14, r=7, width=1.6):
    yy, xx = np.mgrid[0:28, 0:28]
    d = np.hypot(yy - cy, xx - cx)
    return np.clip(1 - np.abs(d - r) / width, 0, 1)


# ---------------------------------------------------------------- imports (it ships to the browser)

def test_adapter_imports_only_numpy_stdlib_and_forward():
    tree = ast.parse(ADAPTER.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            found.add(node.module + ":" + ",".join(a.name for a in node.names))
    allowed_modules = set(sys.stdlib_module_names) | {"numpy"}
    for name in found:
        if ":" in name:
            module, names = name.split(":")
            assert module in allowed_modules or (module == "nnviz" and names == "forward"), name
        else:
            assert name in allowed_modules, name


# ---------------------------------------------------------------- resampling

def test_axis_matrix_keeps_intensity_and_moves_pixels_exactly():
    m = draw.axis_matrix(1.0, 3.0)
    v = np.zeros(28)
    v[5] = 0.7
    assert np.allclose(m @ v, np.roll(v, 3))
    for scale in (0.5, 0.8, 1.0, 1.7, 3.0):
        m = draw.axis_matrix(scale, 14.5 - 14.5 * scale)
        assert np.allclose((m @ np.ones(28))[10:18], 1.0), scale  # a flat image stays flat inside
        assert np.all(m >= 0)
    # shrinking by 2 averages pairs of pixels
    m = draw.axis_matrix(0.5, 0.0)
    v = np.arange(28.0)
    assert np.allclose((m @ v)[:14], (v[0::2] + v[1::2]) / 2)


# ---------------------------------------------------------------- MNIST preprocessing

@pytest.mark.parametrize("top,left,h,w", [(1, 1, 9, 4), (16, 20, 11, 7), (0, 0, 28, 28), (3, 15, 4, 12),
                                          (20, 2, 2, 2), (5, 5, 1, 1)])
def test_preprocess_off_centre_blob_is_boxed_to_20_and_centred(top, left, h, w):
    steps = draw.preprocess(blob(top, left, h, w).ravel())
    assert steps["box"] == [top, left, h, w]
    for key in ("cropped", "centred"):
        _, _, bh, bw = draw.bbox(steps[key])
        assert max(bh, bw) <= 20, (key, bh, bw)
        assert max(bh, bw) >= 19, (key, bh, bw)  # the longer side is scaled to 20 px
    com = draw.centre_of_mass(steps["centred"])
    assert abs(com[0] - 14) <= 0.5 + 1e-9 and abs(com[1] - 14) <= 0.5 + 1e-9, com
    # the aspect ratio is kept (within the pixel grid's rounding)
    _, _, bh, bw = draw.bbox(steps["cropped"])
    assert abs(bh / bw - h / w) <= 0.25 * max(1, h / w), (bh, bw, h, w)
    assert steps["centred"].max() == pytest.approx(1.0)


def test_preprocess_of_a_lopsided_shape_centres_the_mass_not_the_box():
    img = blob(2, 3, 12, 2) + blob(2, 3, 2, 9)  # a "7"-ish corner: mass sits left/top of the box
    steps = draw.preprocess(img)
    com = draw.centre_of_mass(steps["centred"])
    assert abs(com[0] - 14) <= 0.5 + 1e-9 and abs(com[1] - 14) <= 0.5 + 1e-9
    top, left, h, w = draw.bbox(steps["centred"])
    assert (top + h / 2, left + w / 2) != pytest.approx((14, 14), abs=0.5)  # box centre is elsewhere


def test_preprocess_keeps_an_already_mnist_like_digit():
    img = draw.preprocess(ring(cy=10, cx=9, r=9))["centred"]
    again = draw.preprocess(img)["centred"]
    assert np.abs(again - img).max() < 0.35
    assert abs(again.sum() - img.sum()) / img.sum() < 0.05


def test_preprocess_blank_and_faint_specks():
    steps = draw.preprocess(np.zeros(784))
    assert steps["box"] is None and not steps["centred"].any()
    faint = np.zeros((28, 28))
    faint[3, 3] = 0.01  # below the ink threshold: no bounding box
    assert draw.preprocess(faint)["box"] is None


def test_as_image_clips_and_rejects_wrong_sizes():
    img = draw.as_image([2.0] * 392 + [-1.0] * 391 + [float("nan")])
    assert img.shape == (28, 28) and img.min() == 0 and img.max() == 1
    with pytest.raises(ValueError):
        draw.as_image([0.0] * 783)


# ---------------------------------------------------------------- experiment helpers

def test_transform_shift_and_scale():
    img = blob(10, 10, 8, 8)
    assert np.array_equal(draw.transform(img), img)
    moved = draw.transform(img, dx=3, dy=-2)
    assert draw.bbox(moved) == (8, 13, 8, 8)
    assert np.isclose(moved.sum(), img.sum())
    half = draw.transform(img, scale=0.5)
    _, _, h, w = draw.bbox(half)
    assert h == w and h in (4, 5) and np.isclose(half.sum(), img.sum() / 4)  # 8 px -> 4 px, straddling
    double = draw.transform(img, scale=2.0)
    assert draw.bbox(double)[2] in (16, 17)
    with pytest.raises(ValueError):
        draw.transform(img, scale=0)


def test_noise_invert():
    a, b = draw.noise(7), draw.noise(7)
    assert np.array_equal(a, b) and not np.array_equal(a, draw.noise(8))
    assert a.shape == (28, 28) and 0 <= a.min() and a.max() < 1 and 0.4 < a.mean() < 0.6
    img = blob(3, 3, 5, 5, 0.8)
    assert np.allclose(draw.invert(img), 1 - img)
    assert np.allclose(draw.invert(draw.invert(img)), img)


def test_shift_map_is_one_batch_of_every_shift(deep):
    img = draw.preprocess(ring(r=6))["centred"]
    res = draw.shift_map(deep, img)
    n = 2 * draw.SHIFT_RADIUS + 1
    assert res["pred"].shape == res["conf"].shape == res["p_centre"].shape == (n, n)
    p0 = forward.predict(deep, img.ravel())
    assert res["centre_pred"] == int(p0.argmax()) == res["pred"][6, 6]
    for dy, dx in [(-6, -6), (2, -5), (6, 6), (0, 3)]:
        p = forward.predict(deep, draw.shift(img, dy, dx).ravel())
        assert res["pred"][dy + 6, dx + 6] == p.argmax()
        assert res["conf"][dy + 6, dx + 6] == pytest.approx(p.max(), abs=1e-12)
        assert res["p_centre"][dy + 6, dx + 6] == pytest.approx(p[res["centre_pred"]], abs=1e-12)
    assert 0 < res["stable"] <= 1


def test_shifted_batch_matches_integer_transform():
    img = blob(9, 11, 6, 3)
    batch = draw.shifted_batch(img, 2).reshape(5, 5, 28, 28)
    assert np.array_equal(batch[0, 4], draw.transform(img, dx=2, dy=-2))
    assert np.array_equal(batch[2, 2], img)


# ---------------------------------------------------------------- the numbers on screen

def test_repaint_returns_everything_one_repaint_needs(deep):
    raw = blob(2, 17, 12, 4)
    out = draw.repaint(deep, raw.ravel().tolist(), {"neuron": [2, 5], "shift_map": True})
    assert set(out) >= {"input", "steps", "activations", "probs", "pred", "conf", "flows", "neuron", "shift_map"}
    x = out["input"]
    assert x.shape == (784,)
    assert np.array_equal(x, draw.preprocess(raw)["centred"].ravel())
    assert np.array_equal(out["steps"]["centred"], x) and out["steps"]["box"] == [2, 17, 12, 4]
    # every forward pass is forward.py's: the same numbers bit for bit
    acts = forward.forward(deep, x)
    assert len(out["activations"]) == 3
    for a, b in zip(out["activations"], acts):
        assert np.array_equal(a, b)
    assert np.array_equal(out["probs"], forward.predict(deep, x))
    assert out["pred"] == int(np.argmax(out["probs"])) and out["conf"] == pytest.approx(out["probs"].max())
    assert out["second"] != out["pred"]
    assert out["shift_map"]["centre_pred"] == out["pred"]
    assert out["neuron"]["layer"] == 2 and out["neuron"]["unit"] == 5


def test_repaint_options_preprocessing_off_and_shift(deep):
    raw = blob(2, 17, 12, 4)
    off = draw.repaint(deep, raw.ravel(), {"centre": False})
    assert off["steps"] is None and np.array_equal(off["input"], raw.ravel())
    moved = draw.repaint(deep, raw.ravel(), {"dx": 2, "dy": 1, "scale": 1.0})
    assert np.allclose(moved["input"], draw.transform(draw.preprocess(raw)["centred"], 2, 1).ravel())
    blank = draw.repaint(deep, [0.0] * 784)
    assert blank["ink"] == 0 and np.isclose(sum(blank["probs"]), 1)


def test_repaint_result_is_plain_data_after_the_workers_conversion(deep, softmax):
    def plain(v):  # what static/js/worker.js does before handing a result to JS
        if isinstance(v, np.ndarray):
            return v.astype(np.float64).tolist() if v.dtype.kind == "f" else v.tolist()
        if isinstance(v, np.generic):
            return v.item()
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        return v
    for model, opts in [(deep, {"neuron": [1, 0], "shift_map": True}),
                        (softmax, {"neuron": [1, 3], "why": [3, 8]})]:
        json.dumps(plain(draw.repaint(model, ring().ravel(), opts)), allow_nan=False)


@pytest.mark.parametrize("layer", [1, 2, 3])
def test_neuron_arithmetic_adds_up_to_forward_z(deep, layer):
    x = draw.preprocess(ring(r=6)).get("centred").ravel()
    acts = forward.forward(deep, x)
    zs, _ = forward.layers_forward(deep.weights, deep.biases, "relu", forward.standardise(deep, x[None]))
    for unit in range(deep.layers[layer]):
        n = draw.neuron(deep, x, acts, layer, unit)
        assert n["inputs"] == deep.layers[layer - 1] == len(n["weights"]) == len(n["contrib"])
        assert np.allclose(n["contrib"], n["weights"] * (x if layer == 1 else acts[layer - 2]))
        assert n["sum"] == pytest.approx(float(np.sum(n["contrib"])))
        assert n["z"] == pytest.approx(zs[layer - 1][0, unit], abs=1e-9)
        assert n["value"] == pytest.approx(acts[layer - 1][unit], abs=1e-12)
        if layer < 3:
            assert n["act"] == "relu" and n["value"] == pytest.approx(max(0.0, n["z"]), abs=1e-9)
        else:
            assert n["act"] == "softmax"
    if layer == 1:
        assert np.all(n["contrib"][x == 0] == 0)  # blank pixels add nothing: the ink reveals the weights
        assert n["bias_raw"] == deep.biases[0][unit]


def test_neuron_of_blank_canvas_is_its_folded_bias(deep):
    x = np.zeros(784)
    n = draw.neuron(deep, x, forward.forward(deep, x), 1, 4)
    assert n["sum"] == 0 and n["z"] == pytest.approx(n["bias"])


def test_neuron_rejects_bad_indices(deep):
    x = np.zeros(784)
    acts = forward.forward(deep, x)
    with pytest.raises(ValueError, match="layers 1..3"):
        draw.neuron(deep, x, acts, 4, 0)
    with pytest.raises(ValueError, match="units 0..15"):
        draw.neuron(deep, x, acts, 1, 16)


def test_why_a_not_b_sums_to_the_logit_difference(softmax):
    x = draw.preprocess(ring()).get("centred").ravel()
    zs, _ = forward.layers_forward(softmax.weights, softmax.biases, "relu", forward.standardise(softmax, x[None]))
    w = draw.why(softmax, x, 0, 6)
    assert w["map"].shape == (784,)
    assert w["diff"] == pytest.approx(zs[0][0, 0] - zs[0][0, 6], abs=1e-9)
    assert w["sum"] == pytest.approx(w["map"].sum())
    s = (x - softmax.mean) / softmax.std
    assert np.allclose(w["map"], (softmax.weights[0][:, 0] - softmax.weights[0][:, 6]) * s)
    assert draw.why(softmax, x, 6, 0)["diff"] == pytest.approx(-w["diff"])
    assert draw.repaint(softmax, ring().ravel(), {"why": [0, 6]})["why"]["diff"] == pytest.approx(w["diff"])
    auto = draw.repaint(softmax, ring().ravel(), {"why": "auto"})
    assert (auto["why"]["a"], auto["why"]["b"]) == (auto["pred"], auto["second"])
    assert auto["why"]["diff"] >= 0  # the prediction beats the runner-up


def test_why_needs_a_model_without_hidden_layers(deep):
    with pytest.raises(ValueError, match="without hidden layers"):
        draw.why(deep, np.zeros(784), 1, 7)
    assert draw.repaint(deep, np.zeros(784), {"why": [1, 7]})["why"] is None


def test_flows_are_the_terms_of_each_weighted_sum(deep):
    x = draw.preprocess(ring()).get("centred").ravel()
    acts = forward.forward(deep, x)
    f = draw.flows(deep, acts)
    assert [m.shape for m in f] == [(16, 16), (16, 10)]
    zs, _ = forward.layers_forward(deep.weights, deep.biases, "relu", forward.standardise(deep, x[None]))
    assert np.allclose(f[0].sum(axis=0) + deep.biases[1], zs[1][0])
    assert np.allclose(f[1].sum(axis=0) + deep.biases[2], zs[2][0])


def test_centring_a_symmetric_stroke_is_stable_under_float_noise():
    """Centre of mass exactly between two pixels: tiny float differences (numpy builds sum in
    different orders) must not move the digit by a whole pixel one way or the other."""
    img = blob(3, 3, 10, 4)  # com at (7.5, 4.5): halfway
    base = draw.centre(img)[1]
    for eps in (1e-15, -1e-15, 1e-12, -1e-12):
        noisy = img * (1 + eps)
        noisy[3, 3] *= 1 + eps  # break the symmetry by a hair
        assert draw.centre(noisy)[1] == base


# ---------------------------------------------------------------- on real MNIST digits

def test_preprocessing_keeps_real_mnist_digits_as_mnist_made_them(real_dataset, site_dir):
    """MNIST test digits are already centred and size-normalised, so the lab's preprocessing must
    leave them so: the centre of mass at (14, 14) (every digit within the half pixel a whole-pixel
    move allows, the test set's mean within 0.3 px), the box's longer side 20 px, and the trained
    16-16 network's accuracy on the preprocessed digits within 0.5 points of the raw ones."""
    ds = real_dataset("mnist")
    model = forward.load(site_dir / "data" / "models" / "mnist-h16x16.npz")
    raw = ds.x_test.astype(np.float64) / 255.0
    steps = [draw.preprocess(img) for img in raw]
    centred = np.stack([s["centred"] for s in steps])
    com = np.array([draw.centre_of_mass(img) for img in centred])
    assert np.abs(com - 14).max() <= 0.5 + 1e-7, f"worst centre of mass {com[np.abs(com - 14).max(1).argmax()]}"
    assert np.abs(com.mean(0) - 14).max() <= 0.3, f"mean centre of mass {com.mean(0)}"
    longest = np.array([max(draw.bbox(img)[2:]) for img in centred])
    assert np.abs(longest - 20).max() <= 1, "the longer side of the ink's box is not MNIST's 20 px"
    y = ds.y_test
    acc_raw = (forward.predict(model, raw.reshape(len(raw), -1)).argmax(1) == y).mean()
    acc_pre = (forward.predict(model, centred.reshape(len(raw), -1)).argmax(1) == y).mean()
    assert abs(acc_pre - acc_raw) <= 0.005, f"accuracy raw {acc_raw:.4f}, preprocessed {acc_pre:.4f}"
