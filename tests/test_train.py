"""train.py: backward pass against a numerical gradient (float64), determinism, optimisers."""
from dataclasses import replace

import numpy as np
import pytest

from nnviz import forward as fw
from nnviz import train as tr
from nnviz.specs import SPECS, Spec


def numeric_grad(f, p, eps=1e-6):
    g = np.zeros_like(p)
    for i in np.ndindex(p.shape):
        old = p[i]
        p[i] = old + eps
        up = f()
        p[i] = old - eps
        down = f()
        p[i] = old
        g[i] = (up - down) / (2 * eps)
    return g


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("layers", [[7, 5], [7, 6, 5], [7, 6, 4, 5]])
def test_backward_matches_numerical_gradient(activation, layers):
    rng = np.random.default_rng(0)
    ws, bs = tr.init_params(layers, "scaled", rng, dtype=np.float64)
    bs = [rng.standard_normal(b.shape) * 0.1 for b in bs]
    x = rng.standard_normal((9, layers[0]))
    y = rng.integers(0, layers[-1], 9)
    loss = lambda: tr.loss_and_grads(ws, bs, activation, x, y, l2=0.05)[0]
    _, dws, dbs = tr.loss_and_grads(ws, bs, activation, x, y, l2=0.05)
    for p, g in zip(ws + bs, dws + dbs):
        num = numeric_grad(loss, p)
        rel = np.abs(num - g).max() / max(np.abs(num).max() + np.abs(g).max(), 1e-12)
        assert rel < 1e-6, f"relative error {rel}"


class Toy:
    """A tiny separable 'dataset' with the Dataset fields train() uses."""
    def __init__(self, n=600, seed=0):
        rng = np.random.default_rng(seed)
        centres = rng.integers(0, 256, (10, 16))
        y = rng.integers(0, 10, n)
        x = np.clip(centres[y] + rng.normal(0, 30, (n, 16)), 0, 255).astype(np.uint8)
        self.x_train, self.y_train = x[:500].reshape(500, 4, 4), y[:500].astype(np.uint8)
        self.x_test, self.y_test = x[500:].reshape(100, 4, 4), y[500:].astype(np.uint8)
        self.digest = "toy"


def toy_spec(**kw):
    from nnviz import specs
    specs.INPUT.setdefault("toy", 16)
    return replace(Spec("toy", "toy", (8,), epochs=20, batch=50, lr=1e-2), **kw)


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_training_learns_and_is_deterministic(optimizer):
    ds = Toy()
    spec = toy_spec(optimizer=optimizer, lr=1e-2 if optimizer == "adam" else 5e-2)
    m1, meta = tr.train(spec, ds)
    m2, _ = tr.train(spec, ds)
    for a, b in zip(m1.weights, m2.weights):
        assert np.array_equal(a, b)
    loss, acc = tr.evaluate(m1, tr.flatten(ds.x_test), ds.y_test.astype(int))
    assert acc > 0.9, acc
    assert meta["history"]["train_loss"][-1] < 0.5


def test_l2_shrinks_weights():
    ds = Toy()
    plain, _ = tr.train(toy_spec(), ds)
    l2, _ = tr.train(toy_spec(l2=0.5), ds)
    assert np.abs(l2.weights[0]).sum() < 0.7 * np.abs(plain.weights[0]).sum()


def test_curves_record_every_epoch():
    _, meta = tr.train(toy_spec(curves=True, epochs=4), Toy())
    h = meta["history"]
    assert h["epoch"] == [1, 2, 3, 4] and len(h["test_acc"]) == 4 and len(h["train_loss"]) == 4


def test_model_table_is_well_formed():
    names = [s.name for s in SPECS]
    assert len(names) == len(set(names))
    for need in ["mnist-softmax", "mnist-h10", "mnist-h16x16", "mnist-h30", "mnist-h300-l2",
                 "fashion-softmax", "fashion-h100", "cifar-softmax", "cifar-h100"]:
        assert need in names
    assert {s.hidden[0] for s in SPECS if s.name.startswith("mnist-sweep")} == {2, 3, 4, 5, 10, 30, 100}


# ---------------------------------------------------------------- the update rules, by hand

def two_steps(kind, lr, momentum=0.9):
    rng = np.random.default_rng(3)
    p0, g1, g2 = rng.standard_normal((3, 5, 4))
    params = [p0.copy()]
    opt = tr.Optimizer(params, kind, lr, momentum)
    after = []
    for g in (g1, g2):
        opt.step([g.copy()])
        after.append(params[0].copy())
    return p0, g1, g2, after


def test_adam_steps_follow_the_formula():
    """Kingma & Ba: m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2, p -= lr m^ / (sqrt(v^) + eps) with
    m^ = m / (1 - b1^t), v^ = v / (1 - b2^t); b1 = 0.9, b2 = 0.999, eps = 1e-8."""
    lr, b1, b2, eps = 3e-3, 0.9, 0.999, 1e-8
    p, g1, g2, after = two_steps("adam", lr)
    m, v = np.zeros_like(p), np.zeros_like(p)
    for t, (g, got) in enumerate(zip((g1, g2), after), start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        assert np.allclose(got, p, rtol=1e-12, atol=1e-15), f"Adam step {t}"
    assert np.abs(after[0] - two_steps("adam", lr)[0]).max() == pytest.approx(lr, rel=1e-4), \
        "Adam's first step moves every weight by about lr"


def test_sgd_momentum_steps_follow_the_formula():
    """Momentum: u = mu u - lr g, p += u (u starts at 0)."""
    lr, mu = 5e-2, 0.9
    p, g1, g2, after = two_steps("sgd", lr, mu)
    u = np.zeros_like(p)
    for t, (g, got) in enumerate(zip((g1, g2), after), start=1):
        u = mu * u - lr * g
        p = p + u
        assert np.allclose(got, p, rtol=1e-12, atol=1e-15), f"SGD step {t}"
    assert np.allclose(after[1] - after[0], -lr * (mu * g1 + g2)), "the second step carries mu of the first"


# ---------------------------------------------------------------- cold determinism, real data

COLD_TRAIN = """
import itertools, sys, time
tick = itertools.count()
time.perf_counter = lambda: next(tick) * 0.25     # train_seconds is measured: pin the clock
from nnviz import data, specs
try:
    from nnviz.cache import train_cached
except ImportError:
    from nnviz.train import train_cached
ds = data.load("mnist", progress=lambda *a: None)
train_cached(specs.BY_NAME["mnist-softmax"], ds, sys.argv[1])
"""


def test_cold_training_of_a_real_model_is_byte_identical(tmp_path, real_dataset):
    """mnist-softmax (a real spec on real MNIST) trained from a cold cache in two processes with
    different hash seeds writes byte-identical cache files."""
    import os
    import subprocess
    import sys
    real_dataset("mnist")                                   # present in the data cache (or skip)
    snapshots = []
    for seed in ("1", "2"):
        cache = tmp_path / f"cache-{seed}"
        env = dict(os.environ, PYTHONHASHSEED=seed, OPENBLAS_NUM_THREADS="1")
        r = subprocess.run([sys.executable, "-c", COLD_TRAIN, str(cache)], env=env, capture_output=True,
                           text=True, timeout=600, check=False)
        assert r.returncode == 0, r.stderr[-2000:]
        files = sorted(p for p in cache.rglob("*") if p.is_file())
        snapshots.append({p.relative_to(cache).as_posix(): p.read_bytes() for p in files})
    a, b = snapshots
    assert a and any(name.endswith(".npz") for name in a), f"no cache entry written: {sorted(a)}"
    assert sorted(a) == sorted(b)
    assert [name for name in a if a[name] != b[name]] == []
