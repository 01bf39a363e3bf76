"""The drawing lab's arithmetic: everything the page shows is computed here; demo.js only draws it.

Runs in CPython (tests) and in Pyodide (the browser worker imports this file as
`nnviz.demos.draw`), so it imports numpy, the standard library and `nnviz.forward` only.
Every forward pass goes through `forward.forward`; nothing here re-implements it.

Images are (28, 28) float arrays of ink in [0, 1], row-major; the page sends and receives them as
flat lists of 784 numbers.  Coordinates: row i, column j are pixel indices, so MNIST's centre of
mass lands at (14, 14) (the test set's mean centre of mass is (13.99, 14.01) in these coordinates).

The page calls (through the worker, `nnviz.call("draw.<function>", args)`):
    repaint(model, pixels, options)  everything one repaint needs, in one round trip
    noise(seed) / invert(pixels) / transform(pixels, dx, dy, scale)   experiment helpers
    shift_map(model, pixels) / why(model, pixels, a, b) / neuron(...)  also usable on their own
"""
import numpy as np

from nnviz import forward

SIDE = 28          # MNIST images are SIDE x SIDE
BOX = 20           # MNIST scaled each digit so its bounding box fits BOX x BOX ...
CENTRE = 14.0      # ... then moved it so its centre of mass sits at (CENTRE, CENTRE)
INK = 0.05         # a pixel with less ink than this does not count for the bounding box
SHIFT_RADIUS = 6   # the shift-sensitivity map moves the digit by up to this many pixels


# ---------------------------------------------------------------- resampling (numpy only)

def axis_matrix(scale, offset, n=SIDE):
    """Resampling along one axis as a matrix M: (n, n), out = M @ in.

    Output pixel i covers [i, i+1); it shows the input under the map u = scale * v + offset
    (v: input coordinate, pixel k covers [k, k+1)), with zeros outside the input.  Each output
    pixel is the area-weighted mean of the input it covers (area resampling: thin strokes fade
    instead of vanishing when shrunk, and ink never spreads past the mapped bounding box).
    A pure shift (scale 1) is linear interpolation; an integer shift moves pixels exactly."""
    i = np.arange(n, dtype=np.float64)[:, None]
    k = np.arange(n, dtype=np.float64)[None, :]
    lo, hi = (i - offset) / scale, (i + 1 - offset) / scale
    return np.clip(np.minimum(hi, k + 1) - np.maximum(lo, k), 0.0, None) * scale


def resample(img, scale, offset_row, offset_col):
    """img: (28, 28) -> (28, 28) under u = scale * v + offset on each axis."""
    return axis_matrix(scale, offset_row) @ img @ axis_matrix(scale, offset_col).T


def as_image(pixels):
    """784 numbers (or a 28x28 array) -> (28, 28) float64 clipped to [0, 1]."""
    img = np.asarray(pixels, dtype=np.float64).reshape(SIDE, SIDE)
    return np.clip(np.nan_to_num(img), 0.0, 1.0)


def bbox(img, threshold=INK):
    """(top, left, height, width) of the pixels with more than `threshold` ink, or None if blank."""
    rows = np.flatnonzero((img > threshold).any(axis=1))
    cols = np.flatnonzero((img > threshold).any(axis=0))
    if rows.size == 0:
        return None
    return int(rows[0]), int(cols[0]), int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def centre_of_mass(img):
    """(row, column) of the ink's centre of mass in pixel-index coordinates; None if blank."""
    total = img.sum()
    if total <= 0:
        return None
    idx = np.arange(SIDE, dtype=np.float64)
    return float(img.sum(axis=1) @ idx / total), float(img.sum(axis=0) @ idx / total)


# ---------------------------------------------------------------- MNIST preprocessing

def fit_box(img):
    """Scale the ink's bounding box, keeping its aspect ratio, so its longer side is BOX pixels,
    and place it in the middle of the 28x28 field.  The peak ink is kept (area resampling would
    otherwise make a shrunk stroke paler than MNIST's).  Returns (image, info)."""
    box = bbox(img)
    if box is None:
        return np.zeros_like(img), {"box": None, "scale": 1.0}
    top, left, h, w = box
    s = BOX / max(h, w)
    # map the box [top, top+h) onto [(28 - h*s)/2, (28 + h*s)/2), and the same for columns
    out = resample(img, s, (SIDE - h * s) / 2 - top * s, (SIDE - w * s) / 2 - left * s)
    peak = out.max()
    if peak > 0:
        out *= img.max() / peak
    return np.clip(out, 0.0, 1.0), {"box": [top, left, h, w], "scale": s}


def centre(img):
    """Move the image by whole pixels so its centre of mass is within half a pixel of (14, 14)
    (a whole-pixel move keeps the strokes sharp and the bounding box's size).
    Returns (image, [d_row, d_col])."""
    com = centre_of_mass(img)
    if com is None:
        return img.copy(), [0, 0]
    # round half up, past the last bits of float noise: a symmetric stroke puts its centre of mass
    # exactly between two pixels, and CPython and Pyodide must then move it the same way
    d = [int(np.floor(CENTRE - c + 0.5 + 1e-7)) for c in com]
    return shift(img, d[0], d[1]), d


def shift(img, d_row, d_col):
    """img moved d_row pixels down and d_col right (whole pixels), blank where nothing moved in."""
    out = np.zeros_like(img)
    src = img[max(0, -d_row):SIDE - max(0, d_row), max(0, -d_col):SIDE - max(0, d_col)]
    out[max(0, d_row):max(0, d_row) + src.shape[0], max(0, d_col):max(0, d_col) + src.shape[1]] = src
    return out


def preprocess(pixels):
    """MNIST's preprocessing, step by step: raw -> cropped and scaled to fit 20x20 -> centred by
    centre of mass.  Returns {raw, cropped, centred: (28, 28), box, scale, shift, com}."""
    raw = as_image(pixels)
    cropped, info = fit_box(raw)
    centred, shift = centre(cropped)
    return {"raw": raw, "cropped": cropped, "centred": centred, "box": info["box"],
            "scale": info["scale"], "shift": shift, "com": centre_of_mass(raw)}


# ---------------------------------------------------------------- experiment helpers

def transform(pixels, dx=0.0, dy=0.0, scale=1.0):
    """The image scaled by `scale` about (14, 14), then moved dx pixels right and dy down."""
    img = as_image(pixels)
    s = float(scale)
    if s <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    if s == 1.0 and dx == 0 and dy == 0:
        return img
    c = CENTRE + 0.5  # pixel 14's centre in continuous coordinates
    return np.clip(resample(img, s, c - c * s + float(dy), c - c * s + float(dx)), 0.0, 1.0)


def invert(pixels):
    """Ink becomes paper and paper ink: 1 - x."""
    return 1.0 - as_image(pixels)


def noise(seed=0):
    """784 uniform random pixels in [0, 1): not a digit at all."""
    return np.random.default_rng(int(seed)).uniform(0.0, 1.0, (SIDE, SIDE))


def shifted_batch(img, radius=SHIFT_RADIUS):
    """Every integer shift of img by up to `radius` pixels: ((2r+1)^2, 784), row-major over
    (dy, dx) from (-r, -r) to (r, r); pixels moved past the edge are lost, new ones are blank."""
    n = 2 * radius + 1
    padded = np.pad(img, radius)
    out = np.empty((n, n, SIDE, SIDE))
    for a, dy in enumerate(range(-radius, radius + 1)):
        for b, dx in enumerate(range(-radius, radius + 1)):
            out[a, b] = padded[radius - dy:radius - dy + SIDE, radius - dx:radius - dx + SIDE]
    return out.reshape(n * n, SIDE * SIDE)


def shift_map(model, pixels, radius=SHIFT_RADIUS):
    """The prediction for the (already preprocessed) image moved by every (dx, dy) in
    [-radius, radius]^2, all in one batch.  Returns {radius, pred, conf: (2r+1, 2r+1) with rows = dy
    (up to down) and columns = dx (left to right), centre = as given, p_centre: the probability of
    the unshifted prediction at each shift, stable: the fraction of shifts that keep it}."""
    n = 2 * radius + 1
    probs = forward.forward(model, shifted_batch(as_image(pixels), radius))[-1]
    pred = probs.argmax(axis=1)
    centre_pred = int(pred[(n * n) // 2])
    return {"radius": radius, "pred": pred.reshape(n, n), "conf": probs.max(axis=1).reshape(n, n),
            "p_centre": probs[:, centre_pred].reshape(n, n), "centre_pred": centre_pred,
            "stable": float((pred == centre_pred).mean())}


# ---------------------------------------------------------------- explaining one number

def neuron(model, x, acts, layer, unit):
    """The arithmetic of one neuron for input image x (784 raw pixels, as the model is fed) and the
    model's activations acts = forward.forward(model, x) (a list of per-layer arrays).

    layer 1..L numbers the model's layers (1 = first hidden layer, L = the output).  Returns
    {layer, unit, inputs: n_in, weights, contrib = weights * input, sum, bias, z, value, act}.

    For a neuron reading pixels the model standardises the input, z = sum_i w_i (x_i - mean_i) /
    std_i + b.  We show the same z with the standardisation folded in, so each term is
    "weight x ink" and a blank pixel adds exactly nothing:
        z = sum_i (w_i / std_i) * x_i  +  (b - sum_i w_i * mean_i / std_i)
    weights = w / std (weight per unit of ink), bias = the folded bias, bias_raw = b."""
    n_layers = len(model.weights)
    if not 1 <= layer <= n_layers:
        raise ValueError(f"model {model.name} has layers 1..{n_layers}, not {layer}")
    w_all, b_all = model.weights[layer - 1], model.biases[layer - 1]
    if not 0 <= unit < w_all.shape[1]:
        raise ValueError(f"layer {layer} of {model.name} has units 0..{w_all.shape[1] - 1}, not {unit}")
    w, b = w_all[:, unit], float(b_all[unit])
    last = layer == n_layers
    out = {"layer": layer, "unit": unit, "inputs": int(w.size), "bias_raw": b,
           "act": "softmax" if last else model.spec.get("activation", "relu"),
           "value": float(np.asarray(acts[layer - 1]).reshape(-1)[unit])}
    if layer == 1:
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        weights = w / model.std
        bias = b - float(np.sum(w * model.mean / model.std))
        contrib = weights * x
    else:
        weights, bias = w, b
        contrib = w * np.asarray(acts[layer - 2], dtype=np.float64).reshape(-1)
    total = float(contrib.sum())
    out.update(weights=weights, contrib=contrib, sum=total, bias=bias, z=total + bias)
    return out


def why(model, x, a, b):
    """'Why A and not B?' for a model with no hidden layer (softmax regression): the logit
    difference z_A - z_B, with the standardisation folded in as in `neuron`, so that each term is
    "weight difference x ink" and a blank pixel adds exactly nothing:
        z_A - z_B = sum_i d_i * x_i + (b_A - b_B - sum_i d_i * mean_i),  d = (w_A - w_B) / std
    Returns {a, b, weights: d, map: the 784 terms d * x, sum, bias (the folded one), diff}."""
    if len(model.weights) != 1:
        raise ValueError(f"'why A and not B' needs a model without hidden layers; {model.name} "
                         f"has {len(model.weights) - 1}")
    a, b = int(a), int(b)
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    w, bias = model.weights[0], model.biases[0]
    d = (w[:, a] - w[:, b]) / model.std
    terms = d * x
    total = float(terms.sum())
    db = float(bias[a] - bias[b]) - float(np.sum(d * model.mean))
    return {"a": a, "b": b, "weights": d, "map": terms, "sum": total, "bias": db, "diff": total + db}


def flows(model, acts):
    """For each layer after the first: the matrix of terms w_jk * a_j (input j -> neuron k) that
    the network view draws as links, shape (n_in, n_out)."""
    return [np.asarray(acts[l - 1]).reshape(-1)[:, None] * model.weights[l]
            for l in range(1, len(model.weights))]


# ---------------------------------------------------------------- one repaint, one round trip

DEFAULTS = {"centre": True, "dx": 0.0, "dy": 0.0, "scale": 1.0, "neuron": None, "why": None,
            "shift_map": False}


def network_input(pixels, options=None):
    """The 784 pixels the model is fed for a drawing under `options` (see repaint), plus the
    preprocessing steps: (input (28, 28), preprocess dict or None)."""
    o = {**DEFAULTS, **(options or {})}
    steps = preprocess(pixels) if o["centre"] else None
    img = steps["centred"] if steps else as_image(pixels)
    return transform(img, o["dx"], o["dy"], o["scale"]), steps


def repaint(model, pixels, options=None):
    """Everything one repaint of the lab needs, in one worker round trip.

    pixels: the raw drawing (784 numbers in [0, 1]).  options (all optional):
        centre: apply MNIST's preprocessing (default True); dx, dy, scale: then move/scale the
        result (transform); neuron: [layer, unit] to inspect; why: [A, B] or "auto" (the
        prediction and the runner-up; softmax regression only); shift_map: also compute the
        shift-sensitivity map.
    Returns {input: the 784 pixels the model sees, steps: {cropped, centred, box, scale, shift} or
    None, activations: [a_1..a_L], probs, pred, conf, ink, flows, neuron, why, shift_map}."""
    o = {**DEFAULTS, **(options or {})}
    img, steps = network_input(pixels, o)
    x = img.reshape(-1)
    acts = forward.forward(model, x)
    probs = acts[-1]
    order = np.argsort(-probs, kind="stable")
    out = {"input": x, "activations": acts, "probs": probs, "pred": int(order[0]),
           "conf": float(probs[order[0]]), "second": int(order[1]), "ink": float(x.sum()),
           "flows": flows(model, acts), "steps": None, "neuron": None, "why": None, "shift_map": None}
    if steps:
        out["steps"] = {"cropped": steps["cropped"].reshape(-1), "centred": steps["centred"].reshape(-1),
                        "box": steps["box"], "scale": steps["scale"], "shift": steps["shift"]}
    if o["neuron"] is not None:
        layer, unit = (int(v) for v in o["neuron"])
        out["neuron"] = neuron(model, x, acts, layer, unit)
    if o["why"] is not None and len(model.weights) == 1:
        a, b = (out["pred"], out["second"]) if o["why"] == "auto" else o["why"]
        out["why"] = why(model, x, a, b)
    if o["shift_map"]:
        out["shift_map"] = shift_map(model, img)
    return out
