"""The one forward pass of nnviz: training, analysis, tests and the browser all call it.

Imports numpy and the standard library only (tests/test_forward.py enforces it), because this
very file is zipped into the site and imported by Pyodide.

Notation (as in the chapter): a network with layer sizes [n_0, ..., n_L] has, for l = 1..L,
weights W_l of shape (n_{l-1}, n_l) and biases b_l of shape (n_l,).  For a batch x of shape
(N, n_0) of raw pixels in [0, 1]:

    a_0 = (x - mean) / std                     input standardisation, stored with the model
    z_l = a_{l-1} @ W_l + b_l
    a_l = f(z_l)   for hidden layers          f = relu | sigmoid | tanh
    a_L = softmax(z_L)                         class probabilities
"""
import io
import json

import numpy as np

ACTIVATIONS = {
    "relu": lambda z: np.maximum(z, 0.0),
    "sigmoid": lambda z: 0.5 * (1.0 + np.tanh(0.5 * z)),  # tanh form never overflows
    "tanh": np.tanh,
}


class ModelError(ValueError):
    """A model file that does not match its own spec."""


class Model:
    """A trained network: its spec (a dict with at least name, layers, activation), the
    per-layer (W, b) pairs and the input standardisation (mean, std), each of shape (n_0,)."""

    def __init__(self, spec, weights, biases, mean, std):
        self.spec = dict(spec)
        self.weights = list(weights)
        self.biases = list(biases)
        self.mean = mean
        self.std = std
        check(self)

    @property
    def name(self):
        return self.spec.get("name", "?")

    @property
    def layers(self):
        return list(self.spec["layers"])

    def as_float64(self):
        """A copy in float64, the precision every caller predicts in (browser parity)."""
        f = lambda a: np.asarray(a, dtype=np.float64)
        return Model(self.spec, map(f, self.weights), map(f, self.biases), f(self.mean), f(self.std))


def check(model):
    """Raise ModelError naming the model and the first array whose shape breaks the spec."""
    layers = model.spec.get("layers")
    if not isinstance(layers, (list, tuple)) or len(layers) < 2:
        raise ModelError(f"model {model.name}: spec 'layers' must list at least 2 sizes, got {layers!r}")
    act = model.spec.get("activation", "relu")
    if act not in ACTIVATIONS:
        raise ModelError(f"model {model.name}: unknown activation {act!r}; expected one of {sorted(ACTIVATIONS)}")
    n = len(layers) - 1
    if len(model.weights) != n or len(model.biases) != n:
        raise ModelError(f"model {model.name}: spec {layers} needs {n} weight matrices, "
                         f"file has {len(model.weights)} weights and {len(model.biases)} biases")
    for l, (w, b) in enumerate(zip(model.weights, model.biases), start=1):
        want = (layers[l - 1], layers[l])
        if tuple(np.shape(w)) != want:
            raise ModelError(f"model {model.name}: W{l} has shape {tuple(np.shape(w))}, spec {layers} expects {want}")
        if tuple(np.shape(b)) != (layers[l],):
            raise ModelError(f"model {model.name}: b{l} has shape {tuple(np.shape(b))}, spec {layers} expects {(layers[l],)}")
    for key in ("mean", "std"):
        if tuple(np.shape(getattr(model, key))) != (layers[0],):
            raise ModelError(f"model {model.name}: {key} has shape {tuple(np.shape(getattr(model, key)))}, "
                             f"expected {(layers[0],)}")


def softmax(z):
    """Row-wise softmax of z: (N, K), shifted by the row max so exp never overflows."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def standardise(model, x):
    """x: (N, n_0) raw pixels in [0, 1] -> a_0 = (x - mean) / std."""
    return (x - model.mean) / model.std


def layers_forward(weights, biases, activation, a0):
    """Run all layers on already standardised input a0: (N, n_0).
    Returns (zs, acts): zs[l-1] = z_l: (N, n_l) and acts[l-1] = a_l; acts[-1] are probabilities.
    train.py calls this too, so the backward pass differentiates exactly this computation."""
    f = ACTIVATIONS[activation]
    zs, acts, a = [], [], a0
    last = len(weights) - 1
    for l, (w, b) in enumerate(zip(weights, biases)):
        z = a @ w + b
        a = softmax(z) if l == last else f(z)
        zs.append(z)
        acts.append(a)
    return zs, acts


def forward(model, x):
    """x: (N, n_0) or (n_0,) raw pixels in [0, 1].
    Returns the list of layer outputs [a_1, ..., a_L]; a_L: (N, 10) are the class probabilities.
    A single image in gives single rows out."""
    x = np.asarray(x, dtype=model.weights[0].dtype)
    single = x.ndim == 1
    if x.shape[-1] != model.layers[0]:
        raise ModelError(f"model {model.name}: input has {x.shape[-1]} values per image, expected {model.layers[0]}")
    x = x.reshape(-1, model.layers[0])
    _, acts = layers_forward(model.weights, model.biases, model.spec.get("activation", "relu"), standardise(model, x))
    return [a[0] for a in acts] if single else acts


def predict(model, x):
    """Class probabilities for x: (N, n_0) -> (N, 10), or (n_0,) -> (10,)."""
    return forward(model, x)[-1]


def to_bytes(model, dtype=np.float32):
    """Serialise a model as .npz bytes that carry their own spec (loadable by `load`)."""
    arrays = {"spec": np.array(json.dumps(model.spec, sort_keys=True)),
              "mean": np.asarray(model.mean, dtype), "std": np.asarray(model.std, dtype)}
    for l, (w, b) in enumerate(zip(model.weights, model.biases), start=1):
        arrays[f"W{l}"] = np.asarray(w, dtype)
        arrays[f"b{l}"] = np.asarray(b, dtype)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def load(source, name="model"):
    """Load a model from .npz bytes, a path or a file object; returns a float64 Model.
    Raises ModelError naming `name` (e.g. the file) if the file is not a model or breaks its spec."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        source = io.BytesIO(bytes(source))
    try:
        with np.load(source, allow_pickle=False) as z:
            spec = json.loads(str(z["spec"]))
            n = len(spec.get("layers", [])) - 1
            weights = [z[f"W{l}"] for l in range(1, n + 1) if f"W{l}" in z]
            biases = [z[f"b{l}"] for l in range(1, n + 1) if f"b{l}" in z]
            mean, std = z["mean"], z["std"]
    except ModelError:
        raise
    except Exception as e:  # zip/json/key errors all mean "not a model file"
        raise ModelError(f"{name}: not a valid nnviz model file ({type(e).__name__}: {e})") from None
    spec.setdefault("name", str(name))
    try:
        return Model(spec, weights, biases, mean, std).as_float64()
    except ModelError as e:
        raise ModelError(f"{name}: {e}") from None
