"""forward.py: the one forward pass. Shapes, probabilities, round trips, clear errors, and its imports
(it ships to the browser, so numpy + standard library only)."""
import ast
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
