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


# ---------------------------------------------------------------- stepping, imports, progress

def test_train_py_imports_only_numpy_stdlib_and_forward():
    """train.py ships to the browser (the training lab runs it in Pyodide)."""
    import ast
    import sys
    from pathlib import Path
    names = set()
    for node in ast.walk(ast.parse(Path(tr.__file__).read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:    # relative: only the forward pass, which ships beside it
                assert node.module is None and [a.name for a in node.names] == ["forward"], ast.dump(node)
            else:
                names.add(node.module.split(".")[0])
    assert names - (set(sys.stdlib_module_names) | {"numpy"}) == set()


@pytest.mark.parametrize("chunks", [[1], [3, 1, 7], [1000]])
def test_stepping_in_any_chunks_gives_train_bit_for_bit(chunks):
    """The lab steps a Trainer a few batches at a time; train() runs whole epochs. Same weights."""
    ds, spec = Toy(), toy_spec(epochs=3, curves=False, lr_decay=0.9)
    model, _ = tr.train(spec, ds)
    run = tr.Trainer(spec.as_dict(), tr.flatten(ds.x_train), ds.y_train)
    i, ends = 0, 0
    while run.epoch < spec.epochs:
        ends += run.step(chunks[i % len(chunks)])
        i += 1
    assert ends == 3 and run.steps == 3 * 10        # 500 images / batch 50
    for a, b in zip(model.weights + model.biases, run.weights + run.biases):
        assert np.array_equal(a, b)


def test_step_stops_at_the_epoch_end_and_keeps_its_losses():
    ds, spec = Toy(), toy_spec(lr_decay=0.5)
    run = tr.Trainer(spec.as_dict(), tr.flatten(ds.x_train), ds.y_train)
    assert run.step(7) is False and run.epoch == 0 and len(run.epoch_loss) == 7
    assert run.step(100) is True and run.epoch == 1 and run.steps == 10 and len(run.epoch_loss) == 10
    assert run.opt.lr == spec.lr * spec.lr_decay


def test_float64_run_keeps_float64():
    ds, spec = Toy(), toy_spec()
    run = tr.Trainer(spec.as_dict(), tr.flatten(ds.x_train), ds.y_train, dtype=np.float64)
    run.step(2)
    assert {a.dtype for a in run.weights + run.biases + [run.mean, run.std, run.a0]} == {np.dtype(np.float64)}


def test_progress_callback_sees_every_epoch():
    seen = []
    tr.train(toy_spec(epochs=4), Toy(), progress=lambda e, n, loss: seen.append((e, n, loss)))
    assert [(e, n) for e, n, _ in seen] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert seen[-1][2] is not None and seen[-1][2] < 2.5


class _Stream:
    def __init__(self, tty):
        self.tty, self.text = tty, ""

    def isatty(self):
        return self.tty

    def write(self, s):
        self.text += s

    def flush(self):
        pass


def test_epoch_bar_plain_lines_off_a_terminal_and_tqdm_on_one():
    from nnviz.progress import epoch_bar
    plain = _Stream(tty=False)
    bar = epoch_bar("toy", 10, plain)
    for e in range(1, 11):
        bar(e, 10, 0.5)
    assert plain.text.splitlines() == [f"  toy epoch {e}/10  loss 0.500" for e in (1, 5, 10)]
    term = _Stream(tty=True)
    bar = epoch_bar("toy", 3, term)
    for e in (1, 2, 3):
        bar(e, 3, 0.25)
    assert "\r" in term.text and "3/3" in term.text and "loss=0.250" in term.text


# ------------------------------------------ standardisation without full-size temporaries (issue 12)

def standardised_as_before(x_uint8):
    """The memory-hungry way train() standardised until issue 12, kept here as the oracle."""
    x = x_uint8.reshape(len(x_uint8), -1).astype(np.float32) / 255.0
    mean, std = x.mean(axis=0).astype(x.dtype), np.full(x.shape[1], x.std(), dtype=x.dtype)
    return x, mean, std, (x - mean) / std


def pictures(shape, seed=0):
    """uint8 pictures with per-pixel structure (bright centre, dark border) plus noise."""
    rng = np.random.default_rng(seed)
    n, d = shape[0], int(np.prod(shape[1:]))
    field = np.clip(255 * np.sin(np.linspace(0, np.pi, d)) ** 2, 0, 255)
    noise = rng.integers(0, 64, (n, d), dtype=np.uint8)
    return (field.astype(np.uint8) // 2 + noise).reshape(shape)


@pytest.mark.parametrize("shape", [(60000, 28, 28), (50000, 32, 32, 3)], ids=["mnist", "cifar10"])
def test_in_place_standardisation_is_bit_identical_on_real_shaped_data(shape):
    images = pictures(shape)
    x_old, mean_old, std_old, a0_old = standardised_as_before(images)
    x = tr.flatten(images)
    assert np.array_equal(x, x_old)
    del x_old
    run = tr.Trainer({**toy_spec().as_dict(), "layers": [x.shape[1], 10]}, x, np.zeros(len(x), int), overwrite=True)
    assert run.a0 is x or np.shares_memory(run.a0, x)                  # no second full-size array
    assert np.array_equal(run.mean, mean_old) and np.array_equal(run.std, std_old)
    assert np.array_equal(run.a0, a0_old)


@pytest.mark.parametrize("n", [1, 7, 8, 9, 1000, 4097, 100_003])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_chunked_global_std_is_numpys_std_to_the_last_bit(n, dtype, monkeypatch):
    """Small chunks make the pairwise halving run many levels deep, odd lengths included."""
    monkeypatch.setattr(tr, "STD_CHUNK", 64)
    x = np.random.default_rng(n).random((n, 3), dtype=dtype) ** 3
    assert tr.global_std(x) == x.std() and tr.global_std(x).dtype == x.dtype


def test_train_accuracy_on_a0_equals_predict_on_raw_pixels():
    ds, spec = Toy(), toy_spec(epochs=2)
    model, _ = tr.train(spec, ds)
    x = tr.flatten(ds.x_train)
    a0 = (x - model.mean) / model.std
    y = ds.y_train.astype(np.int64)
    assert tr.evaluate(model, a0, y, batch=64, standardised=True) == tr.evaluate(model, x, y, batch=64)
