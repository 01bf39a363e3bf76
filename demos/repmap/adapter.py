"""The representation map's arithmetic for the reader's drawing: where it lands on both maps.

Runs in Pyodide as `nnviz.demos.repmap` (and in CPython in the tests). The drawing goes through
the drawing lab's own MNIST preprocessing (demos/draw/adapter.py, `nnviz.demos.draw`), then
through forward.forward; the PCA view projects the wide network's hidden values with the mean and
components the build exported (data/repmap/<model>.json), exactly as it projected the test images.

The page calls  nnviz.call("repmap.locate", [plane_model, pca_model, mean, components, pixels]).
"""
import numpy as np

from nnviz import forward
from nnviz.demos.draw import network_input


def locate(plane_model, pca_model, mean, components, pixels):
    """pixels: the raw drawing (784 numbers in [0, 1]).
    Returns {input: the 784 pixels both networks see, ink, plane: [h1, h2], plane_pred, plane_probs,
    pca: [p1, p2], pca_pred, pca_probs}."""
    img, _ = network_input(pixels)
    x = img.reshape(-1)
    plane = forward.forward(plane_model, x)
    h2, p2 = plane[0], plane[-1]
    acts = forward.forward(pca_model, x)
    proj = (acts[0] - np.asarray(mean, dtype=np.float64)) @ np.asarray(components, dtype=np.float64).T
    return {"input": x, "ink": float(x.sum()), "plane": h2, "plane_pred": int(np.argmax(p2)), "plane_probs": p2,
            "pca": proj, "pca_pred": int(np.argmax(acts[-1])), "pca_probs": acts[-1]}
