"""nnviz.neurons on small made-up models: ranking and ties, the wide-layer choice, and the export
of a colour (CIFAR-shaped) model, which no reachable dataset lets the real build exercise."""
import json
from types import SimpleNamespace

import numpy as np
from PIL import Image

from nnviz import forward, neurons


def model(layers, seed=0):
    rng = np.random.default_rng(seed)
    w = [rng.standard_normal((m, n)) / np.sqrt(m) for m, n in zip(layers[:-1], layers[1:])]
    b = [0.1 * rng.standard_normal(n) for n in layers[1:]]
    spec = {"name": "toy", "dataset": "toy", "layers": list(layers), "activation": "relu"}
    return forward.Model(spec, w, b, np.zeros(layers[0]), np.ones(layers[0]))


def test_ties_go_to_the_lower_test_index():
    z = np.array([0.0, 2.0, 0.0, 2.0, -1.0, 0.0, -1.0])
    top, bottom = neurons.ranked(z, k=4)
    assert top.tolist() == [1, 3, 0, 2] and bottom.tolist() == [4, 6, 0, 2]


def test_a_wide_layer_keeps_its_strongest_neurons_by_total_output_weight():
    m = model([12, 60, 10])
    m.weights[1][:] = 0.01
    m.weights[1][[7, 3, 59], :] = 5.0              # three clearly strongest, the rest tied
    units = neurons.shown_units(m, 1)
    assert len(units) == neurons.WIDE and {3, 7, 59} <= set(units) and units == sorted(units)
    assert units[:3] == [0, 1, 2]                  # ties: lowest unit numbers first
    assert neurons.shown_units(model([12, 16, 16, 10]), 2) == list(range(16))


def test_colour_model_export_holds_its_top_and_bottom_photos(tmp_path):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (300, 32, 32, 3), dtype=np.uint8)
    ds = SimpleNamespace(x_test=images, y_test=rng.integers(0, 10, 300))
    m = model([3072, 50, 10])
    strips = neurons.answers(m, ds)
    neurons.export(tmp_path, m, ds, strips)
    meta = json.loads((tmp_path / "data" / "toy" / "neurons.json").read_text())
    sheet = np.asarray(Image.open(tmp_path / "data" / "toy" / "neurons.png"))
    assert meta["channels"] == 3 and meta["tile"] == 32 and len(meta["neurons"]) == neurons.WIDE
    assert sheet.shape == (neurons.WIDE * 32, 2 * neurons.K * 32, 3)
    shipped = forward.load(forward.to_bytes(m))
    z = forward.layers_forward(shipped.weights, shipped.biases, "relu",
                               forward.standardise(shipped, images.reshape(300, -1) / 255.0))[0][0]
    for r, n in enumerate(meta["neurons"]):
        order = np.argsort(-z[:, n["unit"]], kind="stable")
        assert [t for t, _ in n["top"]] == order[:neurons.K].tolist()
        for c, (t, _) in enumerate(n["top"] + n["bottom"]):
            assert np.array_equal(sheet[r * 32:(r + 1) * 32, c * 32:(c + 1) * 32], images[t])
