"""The representation map's build side (src/nnviz/repmap.py) and its worker adapter
(demos/repmap/adapter.py), on small random networks and images: every number is checked against
plain numpy written out here, not against the module's own helpers."""
import importlib.util
import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nnviz import forward, palette, repmap

REPO = Path(__file__).resolve().parents[1]


def model(hidden, activation, seed=0, name="net"):
    rng = np.random.default_rng(seed)
    layers = [784, hidden, 10]
    weights = [rng.standard_normal((m, n)) / np.sqrt(m) * 3 for m, n in zip(layers[:-1], layers[1:])]
    biases = [0.2 * rng.standard_normal(n) for n in layers[1:]]
    spec = {"name": name, "dataset": "mnist", "layers": layers, "activation": activation}
    return forward.Model(spec, weights, biases, rng.uniform(0, 0.3, 784), np.full(784, 0.3))


@pytest.fixture(scope="module")
def ds():
    rng = np.random.default_rng(5)
    x = (rng.uniform(0, 1, (1200, 28, 28)) ** 4 * 255).astype(np.uint8)
    return types.SimpleNamespace(name="mnist", x_test=x, y_test=rng.integers(0, 10, 1200).astype(np.uint8))


def pixels(ds):
    return ds.x_test.reshape(len(ds.x_test), -1).astype(np.float64) / 255.0


def hidden_by_hand(m, x):
    z = (x - m.mean) / m.std @ m.weights[0] + m.biases[0]
    return np.tanh(z) if m.spec["activation"] == "tanh" else np.maximum(z, 0)


def test_plane_points_are_the_hidden_values_and_regions_the_output_layers_answer(ds):
    m = model(2, "tanh")
    got = repmap.compute(m, ds, "plane")
    h = hidden_by_hand(m, pixels(ds))
    np.testing.assert_allclose(got["points"], h, atol=1e-12)
    assert got["range"] == [[-1.0, 1.0], [-1.0, 1.0]]
    logits_of = lambda a: a @ m.weights[1] + m.biases[1]
    assert (got["pred"] == logits_of(h).argmax(1)).all() and (got["label"] == ds.y_test).all()
    g = repmap.GRID
    # cell (row r, column c) covers x in [-1 + 2c/g, ...), y from the top: centre y = 1 - (r + 0.5) * 2 / g
    for r, c in [(0, 0), (0, g - 1), (g - 1, 0), (g // 3, 2 * g // 3), (g - 1, g - 1)]:
        centre = np.array([-1 + (c + 0.5) * 2 / g, 1 - (r + 0.5) * 2 / g])
        assert got["regions"][r, c] == logits_of(centre).argmax(), (r, c)
    assert got["regions"].shape == (g, g) and got["mean"] is None


def test_a_plane_map_needs_two_hidden_neurons(ds):
    with pytest.raises(ValueError, match="exactly 2 hidden neurons"):
        repmap.compute(model(3, "relu"), ds, "plane")


def test_pca_view_projects_on_the_two_largest_variance_directions(ds):
    m = model(12, "relu", seed=2)
    got = repmap.compute(m, ds, "pca")
    h = hidden_by_hand(m, pixels(ds))
    centred = h - h.mean(0)
    vals, vecs = np.linalg.eigh(centred.T @ centred)          # ascending eigenvalues
    for k in range(2):
        want = vecs[:, -1 - k]
        assert abs(abs(got["components"][k] @ want) - 1) < 1e-9, f"component {k} is not the eigenvector"
        assert got["components"][k][np.abs(got["components"][k]).argmax()] > 0   # sign fixed
    np.testing.assert_allclose(got["share"], vals[::-1][:2] / vals.sum(), rtol=1e-9)
    np.testing.assert_allclose(got["points"], centred @ got["components"].T, atol=1e-9)
    (x0, x1), (y0, y1) = got["range"]
    assert x0 < got["points"][:, 0].min() and got["points"][:, 0].max() < x1 and y0 < got["points"][:, 1].min()
    assert got["regions"] is None


def test_exported_files_decode_to_the_map(ds, tmp_path):
    m = repmap.compute(model(2, "relu", seed=3), ds, "plane")
    man = repmap.export_map(tmp_path, m)
    folder = tmp_path / "data" / "repmap"
    assert json.loads((folder / "net.json").read_text()) == man
    raw = (folder / man["file"]).read_bytes()
    n = len(ds.y_test)
    assert len(raw) == 6 * n
    q = np.frombuffer(raw[:4 * n], "<u2").reshape(2, n).T
    (x0, x1), (y0, y1) = man["range"]
    decoded = np.stack([x0 + q[:, 0] / man["levels"] * (x1 - x0), y0 + q[:, 1] / man["levels"] * (y1 - y0)], 1)
    span = np.array([x1 - x0, y1 - y0])
    assert (np.abs(decoded - m["points"]) <= span / man["levels"] / 2 + 1e-12).all()
    assert (np.frombuffer(raw[4 * n:5 * n], np.uint8) == ds.y_test).all()
    assert (np.frombuffer(raw[5 * n:], np.uint8) == m["pred"]).all()
    regions = np.asarray(Image.open(folder / man["regions"]["file"]))
    assert (regions == m["regions"] * man["regions"]["step"]).all()
    pic = np.asarray(Image.open(folder / "net.png"))
    assert pic.shape == (repmap.GRID, repmap.GRID, 3)


def test_picture_paints_regions_and_dots_in_the_light_class_colours(ds):
    m = repmap.compute(model(2, "tanh", seed=4), ds, "plane")
    pic = repmap.picture(m)
    cats = [tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in palette.CATEGORY["light"]]
    last = m["points"][-1]
    col = min(int((last[0] + 1) / 2 * repmap.GRID), repmap.GRID - 1)
    row = min(int((1 - (last[1] + 1) / 2) * repmap.GRID), repmap.GRID - 1)
    assert tuple(pic[row, col]) == cats[m["label"][-1]], "the last dot is drawn on top in its class colour"
    empty = np.ones((repmap.GRID, repmap.GRID), bool)
    q = repmap.pixel(m["points"], m["range"])
    empty[q[1], q[0]] = False
    r, c = np.argwhere(empty)[0]
    k = m["regions"][r, c]
    want = [round(255 - palette.REGION_TINT * (255 - v)) for v in cats[k]]
    assert pic[r, c].tolist() == want


def test_hover_sprites_hold_every_test_image_in_order(ds, tmp_path):
    repmap.export_images(tmp_path, ds)
    files = sorted((tmp_path / "data" / "repmap" / "test").glob("mnist-*.png"), key=lambda p: int(p.stem.split("-")[1]))
    assert len(files) == -(-len(ds.y_test) // repmap.CHUNK)
    greys = np.linspace(0, 255, repmap.HOVER_LEVELS)           # the oracle: nearest of the evenly spaced greys
    for k, path in enumerate(files):
        with Image.open(path) as im:
            assert im.mode == "P" and len(im.getpalette()) // 3 <= repmap.HOVER_LEVELS
            sheet = np.asarray(im.convert("L"))
        for i in range(k * repmap.CHUNK, min(len(ds.y_test), (k + 1) * repmap.CHUNK)):
            r, c = divmod(i - k * repmap.CHUNK, repmap.CHUNK_COLS)
            want = np.round(greys[np.abs(ds.x_test[i][..., None] - greys).argmin(-1)])
            assert (sheet[r * 28:(r + 1) * 28, c * 28:(c + 1) * 28] == want).all(), i


def test_chapter_vars_count_mistakes_and_the_kept_variance(ds):
    plane = repmap.compute(model(2, "tanh"), ds, "plane")
    wide = repmap.compute(model(12, "relu", name="wide"), ds, "pca")
    v = repmap.chapter_vars({"net": plane, "wide": wide})
    assert v["net"]["wrong"] == f"{int((plane['pred'] != ds.y_test).sum()):,}"
    assert v["net"]["classes_shown"] == str(len(set(plane["regions"].ravel().tolist())))
    assert v["wide"]["share"] == f"{100 * wide['share'].sum():.0f}%" and v["wide"]["rest"] == "10"


# ---------------------------------------------------------------- palette

def test_class_colours_are_ten_distinct_colours_per_scheme_that_read_on_the_page():
    def lum(hexc):
        c = np.array([int(hexc[i:i + 2], 16) for i in (1, 3, 5)]) / 255
        c = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
        return c @ [0.2126, 0.7152, 0.0722]
    for scheme, page in (("light", "#fdfdfb"), ("dark", "#15171a")):
        cols = palette.CATEGORY[scheme]
        assert len(set(cols)) == 10
        rgb = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in cols], float)
        gaps = np.linalg.norm(rgb[:, None] - rgb[None], axis=2)[np.triu_indices(10, 1)]
        assert gaps.min() > 40, f"{scheme}: two class colours are too alike"
        for c in cols:
            hi, lo = sorted([lum(c), lum(page)], reverse=True)
            assert (hi + 0.05) / (lo + 0.05) >= 3.0, f"{scheme}: {c} has less than 3:1 contrast on {page}"
    light, dark = palette.css().split("@media (prefers-color-scheme: dark)")
    assert all(f"--cat-{k}: {c};" in light for k, c in enumerate(palette.CATEGORY["light"]))
    assert all(f"--cat-{k}: {c};" in dark for k, c in enumerate(palette.CATEGORY["dark"]))


# ---------------------------------------------------------------- the worker adapter

def load_adapters():
    """demos/draw/adapter.py as nnviz.demos.draw (as in the browser's zip), then repmap's."""
    pkg = types.ModuleType("nnviz.demos")
    pkg.__path__ = []
    sys.modules.setdefault("nnviz.demos", pkg)
    mods = {}
    for name in ("draw", "repmap"):
        spec = importlib.util.spec_from_file_location(f"nnviz.demos.{name}", REPO / "demos" / name / "adapter.py")
        mods[name] = importlib.util.module_from_spec(spec)
        sys.modules[f"nnviz.demos.{name}"] = mods[name]
        spec.loader.exec_module(mods[name])
    return mods["draw"], mods["repmap"]


def test_adapter_places_a_drawing_as_the_build_places_a_test_image(ds):
    draw, adapter = load_adapters()
    plane, wide = model(2, "tanh", name="p"), model(12, "relu", name="w")
    m = repmap.compute(wide, ds, "pca")
    img = ds.x_test[7].astype(np.float64) / 255
    got = adapter.locate(plane, wide, m["mean"].tolist(), m["components"].tolist(), img.ravel().tolist())
    x = draw.network_input(img.ravel())[0].reshape(-1)          # the drawing lab's preprocessing
    np.testing.assert_allclose(got["input"], x)
    np.testing.assert_allclose(got["plane"], hidden_by_hand(plane, x[None])[0], atol=1e-12)
    np.testing.assert_allclose(got["pca"], (hidden_by_hand(wide, x[None])[0] - m["mean"]) @ m["components"].T, atol=1e-9)
    assert got["plane_pred"] == int(np.argmax(got["plane_probs"])) and got["ink"] == pytest.approx(x.sum())
    # an image that is already centred and scaled lands exactly where the build put it
    centred = draw.network_input(img.ravel())[0]
    again = adapter.locate(plane, wide, m["mean"], m["components"], centred.ravel())
    np.testing.assert_allclose(again["pca"], got["pca"], atol=1e-9)
