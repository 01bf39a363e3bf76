"""The dot-product view of the weight-templates demo (runs in Pyodide as nnviz.demos.templates).

For a softmax-regression model (layers [n_0, 10]) and one image, everything the demo shows:
the standardised input a_0 = (x - mean) / std, each class k's weights w_k = W[:, k], the
element-wise products w_k * a_0 and the sums z_k = b_k + sum_i w_ik a_0i.

The sums z come from forward.layers_forward, the same code that trains and evaluates the model,
so the numbers on the page are the model's own logits; the products are returned only to be drawn.
JS draws; Python computes.
"""
import numpy as np

from nnviz import forward


def _single_layer(model):
    if len(model.weights) != 1:
        raise forward.ModelError(f"model {model.name}: the templates demo needs a model without hidden "
                                 f"layers (layers [n_0, 10]), got layers {model.layers}")


def weights(model):
    """The templates themselves: {w: (10, n_0) = W transposed, b: (10,), mean: (n_0,), std}.
    (std is one number for the models this site trains, a per-pixel array in general.)"""
    _single_layer(model)
    std = np.asarray(model.std, dtype=np.float64)
    return {"w": model.weights[0].T, "b": model.biases[0], "mean": model.mean,
            "std": float(std.flat[0]) if np.all(std == std.flat[0]) else std}


def dot(model, pixels):
    """pixels: n_0 raw values in [0, 1] (row-major). Returns
    {a0: (n_0,) standardised input, z: (10,) logits, probs: (10,), pred: int,
     products: (10, n_0) with products[k] = W[:, k] * a0, b: (10,),
     pos: (10,) sum of the positive products, neg: (10,) sum of the negative ones}.
    z[k] == b[k] + pos[k] + neg[k] up to rounding; z and probs are exactly forward.py's."""
    _single_layer(model)
    x = np.asarray(pixels, dtype=np.float64).reshape(1, -1)
    if x.shape[1] != model.layers[0]:
        raise forward.ModelError(f"model {model.name}: input has {x.shape[1]} values per image, "
                                 f"expected {model.layers[0]}")
    a0 = forward.standardise(model, x)
    zs, acts = forward.layers_forward(model.weights, model.biases, model.spec.get("activation", "relu"), a0)
    z, probs = zs[-1][0], acts[-1][0]
    products = (model.weights[0] * a0[0][:, None]).T          # (10, n_0)
    return {"a0": a0[0], "z": z, "probs": probs, "pred": int(np.argmax(probs)), "b": model.biases[0],
            "products": products, "pos": np.where(products > 0, products, 0).sum(1),
            "neg": np.where(products < 0, products, 0).sum(1)}
