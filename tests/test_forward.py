"""forward.py: the one forward pass. Shapes, probabilities, round trips, clear errors, and its imports
(it ships to the browser, so numpy + standard library only)."""
import ast
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from nnviz import forward as fw

SRC = Path(fw.__file__)


def tiny(layers=(6, 4, 3), activation="tanh", seed=0):
    rng = np.random.default_rng(seed)
    ws = [rng.standard_normal((a, b)) for a, b in zip(layers[:-1], layers[1:])]
    bs = [rng.standard_normal(b) for b in layers[1:]]
    return fw.Model({"name": "tiny", "layers": list(layers), "activation": activation}, ws, bs,
                    rng.random(layers[0]), rng.random(layers[0]) + 0.5)


def test_imports_only_numpy_and_stdlib():
    tree = ast.parse(SRC.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "forward.py must not import from the package"
            names.add(node.module.split(".")[0])
    allowed = set(sys.stdlib_module_names) | {"numpy"}
    assert names - allowed == set(), f"forward.py imports {names - allowed}"
    assert "numpy" in names


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
def test_forward_matches_hand_computation(activation):
    m = tiny(activation=activation)
    x = np.random.default_rng(1).random((5, 6))
    f = {"relu": lambda z: np.maximum(z, 0), "sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh}[activation]
    h = f(((x - m.mean) / m.std) @ m.weights[0] + m.biases[0])
    z = h @ m.weights[1] + m.biases[1]
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    acts = fw.forward(m, x)
    assert np.allclose(acts[0], h) and np.allclose(acts[1], p)
    assert np.allclose(acts[1].sum(1), 1)


def test_single_image_gives_single_rows():
    m = tiny()
    x = np.random.default_rng(2).random(6)
    single = fw.forward(m, x)
    batch = fw.forward(m, x[None])
    assert [a.shape for a in single] == [(4,), (3,)]
    assert np.allclose(single[-1], batch[-1][0])


def test_softmax_is_stable_for_huge_logits():
    p = fw.softmax(np.array([[1e4, 0.0, -1e4]]))
    assert np.isfinite(p).all() and p[0, 0] == pytest.approx(1.0)


def test_bytes_round_trip_keeps_spec_and_values():
    m = tiny()
    back = fw.load(fw.to_bytes(m, dtype=np.float64), name="t.npz")
    assert back.spec == m.spec
    x = np.random.default_rng(3).random((4, 6))
    assert np.array_equal(fw.predict(back, x), fw.predict(m, x))


def test_shape_mismatch_names_the_file_and_the_array():
    m = tiny()
    m.spec["layers"] = [6, 5, 3]     # spec now disagrees with W1's (6, 4)
    import io, json
    buf = io.BytesIO()
    np.savez(buf, spec=np.array(json.dumps(m.spec)), mean=m.mean, std=m.std,
             W1=m.weights[0], b1=m.biases[0], W2=m.weights[1], b2=m.biases[1])
    with pytest.raises(fw.ModelError, match=r"broken\.npz.*W1 has shape \(6, 4\).*expects \(6, 5\)"):
        fw.load(buf.getvalue(), name="broken.npz")


def test_garbage_file_is_a_clear_error():
    with pytest.raises(fw.ModelError, match="junk.npz: not a valid nnviz model"):
        fw.load(b"not a zip", name="junk.npz")


def test_wrong_input_size_is_a_clear_error():
    with pytest.raises(fw.ModelError, match="expected 6"):
        fw.predict(tiny(), np.zeros(7))


# ---------------------------------------------------------------- an independent oracle

def read_npz_by_hand(path):
    """The model file read without forward.load: zipfile + numpy.lib.format, as nested lists."""
    import json
    import zipfile
    from numpy.lib import format as npy
    with zipfile.ZipFile(path) as z:
        arrays = {name[:-4]: npy.read_array(z.open(name), allow_pickle=False) for name in z.namelist()}
    spec = json.loads(str(arrays.pop("spec")))
    return spec, {k: v.astype(float).tolist() for k, v in arrays.items()}


def forward_by_hand(spec, p, x):
    """Plain Python float64 arithmetic, written from the chapter's notation, not from forward.py:
    a_0 = (x - mean) / std; z_l = sum_j a_j W_jk + b_k; hidden f(z), output softmax."""
    f = {"relu": lambda z: z if z > 0 else 0.0, "sigmoid": lambda z: 1.0 / (1.0 + math.exp(-z)),
         "tanh": math.tanh}[spec["activation"]]
    a = [(xi - m) / s for xi, m, s in zip(x, p["mean"], p["std"])]
    out, n = [], len(spec["layers"]) - 1
    for l in range(1, n + 1):
        w, b = p[f"W{l}"], p[f"b{l}"]
        z = [math.fsum([a[j] * w[j][k] for j in range(len(a))]) + b[k] for k in range(len(b))]
        if l < n:
            a = [f(v) for v in z]
        else:
            top = max(z)
            e = [math.exp(v - top) for v in z]
            a = [v / math.fsum(e) for v in e]
        out.append(a)
    return out


@pytest.mark.parametrize("name", ["mnist-softmax", "mnist-h16x16", "mnist-h30-normal"])
def test_forward_matches_an_independent_oracle_on_real_models(name, site_dir, real_dataset):
    """forward.py on a real exported model (relu, sigmoid, none) and real test digits agrees with
    the hand-written float64 pass to 1e-12 on every layer's activations."""
    path = site_dir / "data" / "models" / f"{name}.npz"
    spec, params = read_npz_by_hand(path)
    model = fw.load(path)
    ds = real_dataset(spec["dataset"])
    x = ds.x_test[:12].reshape(12, -1).astype(np.float64) / 255.0
    acts = fw.forward(model, x)
    for i in range(len(x)):
        for l, want in enumerate(forward_by_hand(spec, params, x[i].tolist())):
            diff = np.max(np.abs(acts[l][i] - np.asarray(want)))
            assert diff <= 1e-12, f"{name} image {i} layer {l + 1}: |forward.py - oracle| = {diff:.3g}"
