"""What a hidden neuron answers to (nnviz.neurons) in real Chromium: selecting a neuron in the
hidden, filters and Lego figures and in the drawing lab's inspector shows its strip, and the
images the page draws are, pixel for pixel, the test images of highest and lowest z that
CPython's forward.py finds (recomputed here from the model file, not read from neurons.json).

The pages are rendered here from a temporary chapter tree holding only these directives, against
the real build's exports (conftest.context_from_site); one page per language for the static
figures (no runtime) and one English page with the drawing lab (the runtime starts once).
"""
from __future__ import annotations

import numpy as np
import pytest

from nnviz import forward

from conftest import chapter_site, context_from_site, page_opener, serve_folder  # noqa: E402  (tests/browser is on sys.path)

K = 8
STATIC = "::: demo hidden model=mnist-h10\n\n::: demo filters model=mnist-h16x16\n\n::: demo lego model=mnist-h30\n"
DRAW = "::: demo draw model=mnist-h16x16\n"
# every canvas of a strip: the test index it claims and the grey values it shows
DRAWN = """box => [...box.querySelectorAll('.nv-strip-row canvas')].map(c => ({index: Number(c.dataset.index),
  px: Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data.filter((_, i) => i % 4 === 0))}))"""


@pytest.fixture(scope="module")
def neurons_url(site_dir, tmp_path_factory, missing):
    from nnviz.render import render_site
    for name in ("mnist-h10", "mnist-h16x16", "mnist-h30"):
        if not (site_dir / "data" / name / "neurons.json").is_file():
            missing(f"{site_dir} has no data/{name}/neurons.json")
    pages = {f"{lang}/static.md": f"---\ntitle: Neurons {lang}\norder: 1\n---\n\n{STATIC}" for lang in ("en", "zh")}
    pages.update({f"{lang}/draw.md": f"---\ntitle: Lab {lang}\norder: 2\n---\n\n{DRAW}" for lang in ("en", "zh")})
    root, out = chapter_site(site_dir, tmp_path_factory.mktemp("neurons"), pages)
    render_site(root, out, context_from_site(site_dir / "data"), strict=True, progress=lambda *a: None)
    with serve_folder(out) as url:
        yield url


@pytest.fixture(scope="module")
def opener(browser, neurons_url):
    with page_opener(browser, neurons_url) as open_:
        yield open_


@pytest.fixture(scope="module")
def cpython(site_dir, real_dataset):
    """expected(model, layer, unit) -> (K top test indices, K bottom ones) by CPython's forward.py;
    images: the test images (uint8)."""
    ds = real_dataset("mnist")
    x = ds.x_test.reshape(len(ds.x_test), -1).astype(np.float64) / 255.0
    zs = {}

    def expected(model, layer, unit):
        if model not in zs:
            m = forward.load(site_dir / "data" / "models" / f"{model}.npz")
            zs[model] = forward.layers_forward(m.weights, m.biases, m.spec["activation"], forward.standardise(m, x))[0]
        z = zs[model][layer - 1][:, unit]
        idx = np.arange(len(z))
        return np.lexsort((idx, -z))[:K].tolist(), np.lexsort((idx, z))[:K].tolist()
    expected.images = ds.x_test
    return expected


def check_strip(pg, box_selector, cpython, model, layer, unit):
    """The strip in box_selector shows neuron (layer, unit): its top K then bottom K test images."""
    pg.wait_for_function("([sel, key]) => { const b = document.querySelector(sel); return b && b.dataset.shown === key"
                         " && b.querySelectorAll('.nv-strip-row canvas').length === 16; }", arg=[box_selector, f"{layer},{unit}"])
    drawn = pg.eval_on_selector(box_selector, DRAWN)
    top, bottom = cpython(model, layer, unit)
    assert [d["index"] for d in drawn] == top + bottom, f"{model} layer {layer} unit {unit}"
    for d in drawn:
        off = int(np.abs(np.asarray(d["px"]) - cpython.images[d["index"]].reshape(-1).astype(int)).max())
        assert off <= 1, f"the tile for test image {d['index']} shows other pixels (off by up to {off})"


def test_hover_and_keyboard_show_the_top_images(opener, cpython):
    pg = opener("en/static.html", viewport={"width": 1280, "height": 900})
    hidden, filters = "#" + pg.eval_on_selector(".nv-hidden", "e => e.id"), "#" + pg.eval_on_selector(".nv-filters[data-strips]", "e => e.id")
    pg.hover(f"{hidden} .nv-filter[data-h='3']")
    check_strip(pg, f"{hidden} .nv-strip-box", cpython, "mnist-h10", 1, 3)
    assert "excite it most" in pg.inner_text(f"{hidden} .nv-strip-box")
    pg.focus(f"{filters} .nv-filters-pick[data-unit='0']")
    check_strip(pg, f"{filters} .nv-strip-box", cpython, "mnist-h16x16", 1, 0)
    pg.keyboard.press("Tab")              # the next picture: plain buttons, in the tab order
    check_strip(pg, f"{filters} .nv-strip-box", cpython, "mnist-h16x16", 1, 1)
    pg.keyboard.press("Enter")            # pins it: it stays when focus leaves the figure
    assert pg.get_attribute(f"{filters} .nv-filters-pick[data-unit='1']", "aria-pressed") == "true"
    pg.focus(f"{hidden} .nv-filter[data-h='0']")
    check_strip(pg, f"{filters} .nv-strip-box", cpython, "mnist-h16x16", 1, 1)
    lego = pg.eval_on_selector(".nnv-lego .nnv-pick", "e => Number(e.dataset.unit)")
    pg.focus(".nnv-lego .nnv-pick")
    pg.keyboard.press("Space")
    check_strip(pg, ".nnv-lego .nv-strip-box", cpython, "mnist-h30", 1, lego)


def test_touch_in_chinese_at_375px_wraps_into_rows_of_four(opener, cpython):
    pg = opener("zh/static.html", viewport={"width": 375, "height": 800}, has_touch=True, is_mobile=True,
                color_scheme="dark")
    pick = pg.locator(".nv-filters-pick[data-unit='5']")
    pick.scroll_into_view_if_needed()
    pick.tap()
    box = ".nv-filters[data-strips] .nv-strip-box"
    check_strip(pg, box, cpython, "mnist-h16x16", 1, 5)
    assert pick.get_attribute("aria-pressed") == "true"
    text = pg.inner_text(box)
    assert "最能激发它的" in text and "excite" not in text
    rows = pg.eval_on_selector_all(f"{box} .nv-strip-row", "rows => rows.map(r => [...r.querySelectorAll('canvas')]"
                                   ".map(c => { const b = c.getBoundingClientRect(); return [Math.round(b.left), Math.round(b.top), b.right]; }))")
    for row in rows:
        assert len({left for left, _, _ in row}) == 4 and len({top for _, top, _ in row}) == 2, "2 rows of 4"
        assert max(right for _, _, right in row) <= 375
    assert pg.evaluate("document.documentElement.scrollWidth") <= 375
    colours = pg.eval_on_selector(box, "b => [getComputedStyle(b.querySelector('.nv-strip-title')).color, getComputedStyle(document.body).backgroundColor]")
    assert colours[0] != colours[1]
    pick.tap()                            # a second tap releases it
    assert pick.get_attribute("aria-pressed") == "false"


def test_the_drawing_labs_inspector_shows_the_selected_neurons_strip(opener, cpython):
    pg = opener("en/draw.html", viewport={"width": 1280, "height": 900})
    lab = "[data-live-demo='draw']"
    pg.wait_for_function(f"() => Number(document.querySelector(\"{lab}\").dataset.repaints || 0) > 0")
    pg.click(f"{lab} .draw-neuron[data-layer='2'][data-unit='5']")
    check_strip(pg, f"{lab} .draw-strips", cpython, "mnist-h16x16", 2, 5)
    pg.focus(f"{lab} .draw-neuron[data-layer='1'][data-unit='0']")
    pg.keyboard.press("ArrowRight")
    pg.keyboard.press("Enter")
    check_strip(pg, f"{lab} .draw-strips", cpython, "mnist-h16x16", 1, 1)
    pg.click(f"{lab} .draw-neuron[data-layer='3'][data-unit='4']")     # an output neuron has no strip
    pg.wait_for_function(f"() => document.querySelector(\"{lab} .draw-strips\").dataset.shown === ''")
