"""The training lab's runs: train.py's Trainer on a seeded MNIST subset, a few mini-batches at a time.

The browser runs this file in Pyodide (demos/train/adapter.py wraps it for the worker) and the build
runs it in CPython for the chapter's numbers (labdata.py), so the lab's default settings replay the
very run the chapter quotes. numpy + standard library + our forward/train only.

Lab runs train in float64: the browser's numpy has no optimised BLAS, so float32 sums would round
differently there; in float64 both runtimes agree to ~1e-12 (tests/browser/test_train_lab.py).
"""
import numpy as np

from . import train as tr

SIZES = (100, 1000, 5000)        # training-set sizes the reader can pick (nested: the first n)
HIDDEN = (0, 10, 30)             # 0 = no hidden layer: the ten templates
BATCH = 50                       # so that even 100 images make two steps per epoch
PIXELS = 784
SCRAMBLE_SEED = 784              # one fixed permutation of the 784 pixels, the same everywhere
DEFAULTS = {"hidden": 0, "l2": 1e-4, "lr": 1e-3, "size": 5000, "scramble": False, "seed": 0}


def permutation(seed=SCRAMBLE_SEED, n=PIXELS):
    """Scrambled pixel i is original pixel perm[i] (a fixed, seeded permutation)."""
    return np.random.default_rng(seed).permutation(n)


def options(given=None):
    """DEFAULTS updated by `given` and checked: raises ValueError naming the bad option."""
    opts = dict(DEFAULTS, **(given or {}))
    unknown = sorted(set(opts) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"unknown lab option {unknown[0]!r}; expected one of {sorted(DEFAULTS)}")
    if opts["hidden"] not in HIDDEN:
        raise ValueError(f"lab option hidden={opts['hidden']!r}: expected one of {HIDDEN}")
    if opts["size"] not in SIZES:
        raise ValueError(f"lab option size={opts['size']!r}: expected one of {SIZES}")
    if not 0 <= float(opts["l2"]) <= 1 or not 0 < float(opts["lr"]) <= 1:
        raise ValueError(f"lab options l2={opts['l2']!r}, lr={opts['lr']!r}: expected 0 <= l2 <= 1, 0 < lr <= 1")
    return opts


def config(opts):
    """The Trainer config (Spec fields) for lab options: zero init without a hidden layer (as the
    chapter's templates: blank border pixels stay exactly 0), He init and ReLU with one."""
    hidden = [opts["hidden"]] if opts["hidden"] else []
    return {"name": f"lab-h{opts['hidden']}", "layers": [PIXELS, *hidden, 10], "activation": "relu",
            "init": "he" if hidden else "zeros", "l2": float(opts["l2"]), "optimizer": "adam",
            "lr": float(opts["lr"]), "lr_decay": 1.0, "momentum": 0.9, "batch": BATCH, "seed": int(opts["seed"])}


def unpack(blob, manifest):
    """The exported subset (labdata.py writes it): uint8 bytes train x | train y | test x | test y.
    Returns (x_train (N, 784), y_train (N,), x_test (M, 784), y_test (M,)) as uint8 arrays."""
    n, m, d = manifest["train"], manifest["test"], manifest["pixels"]
    raw = np.frombuffer(bytes(blob), dtype=np.uint8)
    if raw.size != n * d + n + m * d + m:
        raise ValueError(f"lab data: {raw.size} bytes, expected {n * d + n + m * d + m} "
                         f"for {n} training and {m} test images of {d} pixels")
    cuts = np.cumsum([n * d, n, m * d])
    xa, ya, xb, yb = np.split(raw, cuts)
    return xa.reshape(n, d), ya, xb.reshape(m, d), yb


class Lab:
    """One lab run: options -> a float64 Trainer on the first `size` training images (scrambled by
    one fixed permutation if asked), with a per-epoch history on the fixed test subset."""

    def __init__(self, data, opts=None):
        self.opts = options(opts)
        x, y, xt, yt = data
        n = self.opts["size"]
        self.perm = permutation() if self.opts["scramble"] else None
        cols = self.perm if self.perm is not None else slice(None)
        self.x, self.y = x[:n][:, cols] / 255.0, y[:n].astype(np.int64)
        self.xt, self.yt = xt[:, cols] / 255.0, yt.astype(np.int64)
        self.run = tr.Trainer(config(self.opts), self.x, self.y, dtype=np.float64)
        self.history = {"epoch": [], "images": [], "train_loss": [], "train_acc": [], "test_loss": [], "test_acc": []}

    def step(self, n=1):
        """Up to n mini-batches; at an epoch's end, one history row. Returns True at an epoch's end."""
        done = self.run.step(n)
        if done:
            model = self.run.model()
            train_loss, train_acc = tr.evaluate(model, self.x, self.y)
            test_loss, test_acc = tr.evaluate(model, self.xt, self.yt)
            for key, value in (("epoch", self.run.epoch), ("images", self.run.seen), ("train_loss", train_loss),
                               ("train_acc", train_acc), ("test_loss", test_loss), ("test_acc", test_acc)):
                self.history[key].append(value)
        return done

    def test_accuracy(self):
        return tr.evaluate(self.run.model(), self.xt, self.yt)[1]

    def first_layer(self, unscramble=True):
        """First-layer weights as pictures: (units, 784), unit k's weight for each pixel position.
        unscramble: put scrambled pixels back where they came from (the weights of a scrambled
        run then line up with ordinary digits)."""
        w = self.run.weights[0].T
        if self.perm is None or not unscramble:
            return w
        out = np.empty_like(w)
        out[:, self.perm] = w
        return out


def roughness(w, side=28):
    """How speckled weight pictures are: mean |difference| between neighbouring pixels over the
    mean |weight|, averaged over units (w: (units, side*side)). Smooth pictures score low."""
    w = np.asarray(w, dtype=np.float64).reshape(len(w), side, side)
    diffs = np.abs(np.diff(w, axis=1)).mean((1, 2)) + np.abs(np.diff(w, axis=2)).mean((1, 2))
    return float((diffs / 2 / np.maximum(np.abs(w).mean((1, 2)), 1e-12)).mean())


def correlation(a, b):
    a, b = np.ravel(a) - np.mean(a), np.ravel(b) - np.mean(b)
    return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-300))

