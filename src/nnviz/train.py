"""Training in numpy: softmax cross-entropy, backprop, SGD+momentum or Adam, L2, seeded.

Every forward computation goes through forward.layers_forward, so the gradients here are the
gradients of exactly the function the site runs. Shapes follow cs231n: x: (N, D), W_l: (n_{l-1}, n_l).
"""
import sys
import time

import numpy as np

from . import forward as fw


def init_params(layers, init, rng, dtype=np.float32):
    """Weights per `init` (he | scaled | normal | zeros), zero biases. Returns (weights, biases).
    zeros suits softmax regression only (convex, no symmetry to break): pixels that are blank in
    every training image get no gradient, so their weights stay at exactly 0 instead of noise."""
    weights, biases = [], []
    for n_in, n_out in zip(layers[:-1], layers[1:]):
        scale = {"normal": 1.0, "scaled": 1.0 / np.sqrt(n_in), "he": np.sqrt(2.0 / n_in), "zeros": 0.0}[init]
        weights.append((rng.standard_normal((n_in, n_out)) * scale).astype(dtype))
        biases.append(np.zeros(n_out, dtype))
    return weights, biases


def loss_and_grads(weights, biases, activation, a0, y, l2=0.0):
    """a0: (N, D) standardised input, y: (N,) int labels.
    Returns (loss, dW list, db list) for mean cross-entropy + (l2/2) * sum of squared weights."""
    zs, acts = fw.layers_forward(weights, biases, activation, a0)
    n = len(y)
    p = acts[-1]
    loss = -np.log(np.maximum(p[np.arange(n), y], 1e-30)).mean()
    loss += 0.5 * l2 * sum(float((w * w).sum()) for w in weights)
    dz = p.copy()
    dz[np.arange(n), y] -= 1.0
    dz /= n                                   # d loss / d z_L for softmax + cross-entropy
    dws, dbs = [None] * len(weights), [None] * len(weights)
    for l in range(len(weights) - 1, -1, -1):
        a_prev = a0 if l == 0 else acts[l - 1]
        dws[l] = a_prev.T @ dz + l2 * weights[l]
        dbs[l] = dz.sum(axis=0)
        if l:
            da = dz @ weights[l].T
            dz = da * _act_grad(activation, zs[l - 1], acts[l - 1])
    return float(loss), dws, dbs


def _act_grad(activation, z, a):
    """f'(z) expressed with the cached z and a = f(z)."""
    if activation == "relu":
        return (z > 0).astype(z.dtype)
    if activation == "sigmoid":
        return a * (1.0 - a)
    return 1.0 - a * a  # tanh


class Optimizer:
    """Adam (Kingma & Ba defaults) or SGD with momentum, updating parameter arrays in place."""

    def __init__(self, params, kind, lr, momentum=0.9):
        self.params, self.kind, self.lr, self.mu, self.t = params, kind, lr, momentum, 0
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]

    def step(self, grads):
        self.t += 1
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            if self.kind == "sgd":
                m *= self.mu
                m -= self.lr * g
                p += m
                continue
            m *= 0.9
            m += 0.1 * g
            v *= 0.999
            v += 0.001 * g * g
            mhat = m / (1 - 0.9 ** self.t)
            vhat = v / (1 - 0.999 ** self.t)
            p -= self.lr * mhat / (np.sqrt(vhat) + 1e-8)


def flatten(x):
    """uint8 images (N, ...) -> float32 (N, D) in [0, 1], the input every model takes."""
    return x.reshape(len(x), -1).astype(np.float32) / 255.0


def standardisation(x):
    """Per-pixel mean but one global std: pixels that are always 0 in training (MNIST's border)
    would otherwise be divided by ~0 and blow up on a drawn stroke or noise there."""
    mean = x.mean(axis=0)
    std = np.full(x.shape[1], x.std(), dtype=np.float32)
    return mean.astype(np.float32), std


def evaluate(model, x, y, batch=5000):
    """Mean cross-entropy loss and accuracy of `model` on x: (N, D) in [0,1], y: (N,)."""
    losses, correct = 0.0, 0
    for i in range(0, len(x), batch):
        p = fw.predict(model, x[i:i + batch])
        yb = y[i:i + batch]
        losses += -np.log(np.maximum(p[np.arange(len(yb)), yb], 1e-30)).sum()
        correct += int((p.argmax(1) == yb).sum())
    return float(losses / len(x)), correct / len(x)


def train(spec, ds, progress=None):
    """Train `spec` (specs.Spec) on dataset `ds` (data.Dataset). Returns (Model, meta) where meta has
    train_seconds and per-epoch history (train loss; test loss/acc too when spec.curves)."""
    rng = np.random.default_rng(spec.seed)
    x, y = flatten(ds.x_train), ds.y_train.astype(np.int64)
    if spec.train_subset:
        x, y = x[:spec.train_subset], y[:spec.train_subset]
    xt, yt = flatten(ds.x_test), ds.y_test.astype(np.int64)
    mean, std = standardisation(x)
    a0 = (x - mean) / std
    weights, biases = init_params(spec.layers, spec.init, rng)
    opt = Optimizer(weights + biases, spec.optimizer, spec.lr, spec.momentum)
    nw = len(weights)
    history = {"epoch": [], "train_loss": [], "train_acc": [], "test_loss": [], "test_acc": []}
    bar = progress or ProgressBar(spec.name, spec.epochs)
    t0 = time.perf_counter()
    for epoch in range(1, spec.epochs + 1):
        order = rng.permutation(len(a0))
        for i in range(0, len(order), spec.batch):
            idx = order[i:i + spec.batch]
            _, dws, dbs = loss_and_grads(weights, biases, spec.activation, a0[idx], y[idx], spec.l2)
            opt.step(dws + dbs)
        opt.lr *= spec.lr_decay
        model = fw.Model(spec.as_dict(), weights, biases, mean, std)
        if spec.curves or epoch == spec.epochs:
            tl, ta = evaluate(model, x, y)
            history["epoch"].append(epoch)
            history["train_loss"].append(tl)
            history["train_acc"].append(ta)
            if spec.curves:
                vl, va = evaluate(model, xt, yt)
                history["test_loss"].append(vl)
                history["test_acc"].append(va)
        bar.update(epoch, history["train_loss"][-1] if history["train_loss"] else None)
    seconds = time.perf_counter() - t0
    bar.done(seconds)
    model = fw.Model(spec.as_dict(), [w.copy() for w in weights], [b.copy() for b in biases], mean, std)
    assert nw == len(model.weights)
    return model, {"train_seconds": round(seconds, 2), "history": history}


class ProgressBar:
    """One line per model: a bar on a terminal, a plain line per epoch elsewhere (CI logs)."""

    def __init__(self, name, total, stream=sys.stderr):
        self.name, self.total, self.stream = name, total, stream
        self.tty = stream.isatty()

    def update(self, i, loss=None):
        if not self.tty and i not in (1, self.total) and i % 5:
            return
        filled = int(24 * i / self.total)
        msg = f"  {self.name:<22} [{'#' * filled}{'.' * (24 - filled)}] epoch {i}/{self.total}"
        if loss is not None:
            msg += f"  loss {loss:.3f}"
        self.stream.write(("\r" + msg) if self.tty else msg + "\n")
        self.stream.flush()

    def done(self, seconds):
        self.stream.write(f"{'  ' if self.tty else '  ' + self.name + ' '}done in {seconds:.1f} s\n")
        self.stream.flush()
