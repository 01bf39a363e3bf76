"""Training in numpy: softmax cross-entropy, backprop, SGD+momentum or Adam, L2, seeded.

Imports numpy and the standard library only (tests/test_train.py enforces it): this file is
zipped into the site too, and the training lab runs it in Pyodide (demos/train/adapter.py).

Every forward computation goes through forward.layers_forward, so the gradients here are the
gradients of exactly the function the site runs. Shapes follow cs231n: x: (N, D), W_l: (n_{l-1}, n_l).
"""
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
    """uint8 images (N, ...) -> float32 (N, D) in [0, 1], the input every model takes.
    Divided in place: a second full-size float copy is more than CIFAR's memory budget allows."""
    a = x.reshape(len(x), -1).astype(np.float32)
    a /= 255.0
    return a


STD_CHUNK = 1 << 22      # values per temporary in global_std (16 MB of float32)


def standardisation(x):
    """Per-pixel mean but one global std: pixels that are always 0 in training (MNIST's border)
    would otherwise be divided by ~0 and blow up on a drawn stroke or noise there."""
    mean = x.mean(axis=0)
    std = np.full(x.shape[1], global_std(x), dtype=x.dtype)
    return mean.astype(x.dtype), std


def global_std(x):
    """x.std() of a C-contiguous x to the last bit, without its full-size temporary (x - mean)**2.
    numpy sums a contiguous array pairwise (halves, the first rounded down to a multiple of 8), so
    summing the squares of the same halves chunk by chunk gives the same float; the divisions
    below are numpy's own (_methods._var), operand types included."""
    flat = x.reshape(-1)
    n = np.intp(flat.size)
    m = np.add.reduce(flat, keepdims=True)
    m = np.true_divide(m, n, out=m, casting="unsafe")

    def squares(part):
        if len(part) <= STD_CHUNK:
            d = np.subtract(part, m)
            return np.add.reduce(np.square(d, out=d))
        half = len(part) // 2
        half -= half % 8
        return squares(part[:half]) + squares(part[half:])
    total = squares(flat)
    return total.dtype.type(np.sqrt(total.dtype.type(total / n)))


def evaluate(model, x, y, batch=5000, standardised=False):
    """Mean cross-entropy loss and accuracy of `model` on x: (N, D) in [0,1], y: (N,).
    standardised: x is already (x - mean) / std (the Trainer's a0), as forward.predict would make it."""
    losses, correct = 0.0, 0
    act = model.spec.get("activation", "relu")
    for i in range(0, len(x), batch):
        xb = x[i:i + batch]
        p = fw.layers_forward(model.weights, model.biases, act, xb)[1][-1] if standardised else fw.predict(model, xb)
        yb = y[i:i + batch]
        losses += -np.log(np.maximum(p[np.arange(len(yb)), yb], 1e-30)).sum()
        correct += int((p.argmax(1) == yb).sum())
    return float(losses / len(x)), correct / len(x)


class Trainer:
    """One training run that advances a mini-batch at a time, so a caller (the build, or the
    browser lab's worker) can report, pause, resume or drop it between steps.

    config: a dict with the Spec fields layers, activation, init, l2, optimizer, lr, lr_decay,
    momentum, batch, seed (spec.as_dict() has them); x: (N, D) raw pixels in [0, 1]; y: (N,) ints.
    dtype: float32 for the site's models, float64 where runtimes must agree to 1e-9 (the lab).
    The random stream is used in train()'s order: init, then one permutation per epoch.
    overwrite=True lets a0 take x's place instead of being a second full-size array."""

    def __init__(self, config, x, y, dtype=np.float32, overwrite=False):
        self.config = dict(config)
        self.rng = np.random.default_rng(config["seed"])
        x = np.ascontiguousarray(x, dtype=dtype)
        self.y = np.asarray(y, dtype=np.int64)
        self.mean, self.std = standardisation(x)
        self.a0 = np.subtract(x, self.mean, out=x if overwrite else None)
        self.a0 /= self.std
        self.weights, self.biases = init_params(config["layers"], config["init"], self.rng, dtype)
        self.opt = Optimizer(self.weights + self.biases, config["optimizer"], config["lr"], config["momentum"])
        self.epoch = 0           # completed epochs
        self.steps = 0           # mini-batches run so far
        self.seen = 0            # training images run so far (an epoch's last batch may be short)
        self.epoch_loss = []     # mini-batch losses of the epoch under way
        self._order, self._pos = None, 0

    def step(self, n=1):
        """Run up to n mini-batches, stopping early at the end of an epoch.
        Returns True when the last batch run completed an epoch (then epoch_loss holds its losses)."""
        c = self.config
        for _ in range(n):
            if self._order is None:
                self._order, self._pos, self.epoch_loss = self.rng.permutation(len(self.a0)), 0, []
            idx = self._order[self._pos:self._pos + c["batch"]]
            loss, dws, dbs = loss_and_grads(self.weights, self.biases, c["activation"], self.a0[idx],
                                            self.y[idx], c["l2"])
            self.opt.step(dws + dbs)
            self.epoch_loss.append(loss)
            self._pos += c["batch"]
            self.steps += 1
            self.seen += len(idx)
            if self._pos >= len(self._order):
                self.epoch += 1
                self.opt.lr *= c["lr_decay"]
                self._order = None
                return True
        return False

    def run_epoch(self):
        """Finish the epoch under way (or run a whole one)."""
        while not self.step(1 << 30):
            pass

    def model(self):
        """The network as it stands now (arrays shared, not copied: copy before training on)."""
        return fw.Model(self.config, self.weights, self.biases, self.mean, self.std)


def train(spec, ds, progress=None):
    """Train `spec` (specs.Spec) on dataset `ds` (data.Dataset). Returns (Model, meta) where meta has
    train_seconds and per-epoch history (train loss; test loss/acc too when spec.curves).
    progress(epoch, epochs, train_loss or None) is called after every epoch, if given (the caller
    picks the display: nnviz.progress.epoch_bar; this module stays numpy + standard library)."""
    n = spec.train_subset or len(ds.y_train)
    y = ds.y_train[:n].astype(np.int64)
    xt, yt = flatten(ds.x_test), ds.y_test.astype(np.int64)
    run = Trainer(spec.as_dict(), flatten(ds.x_train[:n]), y, overwrite=True)   # one float copy of the data
    history = {"epoch": [], "train_loss": [], "train_acc": [], "test_loss": [], "test_acc": []}
    t0 = time.perf_counter()
    for epoch in range(1, spec.epochs + 1):
        run.run_epoch()
        model = run.model()
        if spec.curves or epoch == spec.epochs:
            tl, ta = evaluate(model, run.a0, y, standardised=True)
            history["epoch"].append(epoch)
            history["train_loss"].append(tl)
            history["train_acc"].append(ta)
            if spec.curves:
                vl, va = evaluate(model, xt, yt)
                history["test_loss"].append(vl)
                history["test_acc"].append(va)
        if progress:
            progress(epoch, spec.epochs, history["train_loss"][-1] if history["train_loss"] else None)
    seconds = time.perf_counter() - t0
    model = fw.Model(spec.as_dict(), [w.copy() for w in run.weights], [b.copy() for b in run.biases],
                     run.mean, run.std)
    return model, {"train_seconds": round(seconds, 2), "history": history}


