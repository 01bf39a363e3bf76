"""The weight demos (templates, diagram, samples, hidden, filters) in real Chromium.

The pages under test are rendered here with nnviz.render.render_site from a temporary chapter
tree that holds only these demos' directives, against the real build's exports: the context
(models, analyses, datasets, notices) is read back from the built site ($NNVIZ_SITE or <repo>/site),
whose data/ and runtime/ the temporary site links to. Nothing is hand-made: the numbers the
dot-product view shows are checked against CPython's forward.py on the same sprite pixels.
"""
from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest

from nnviz import forward  # conftest puts src/ on sys.path when nnviz is not installed

from conftest import chapter_site, context_from_site, page_opener, serve_folder  # noqa: E402  (tests/browser is on sys.path)

REPO = Path(__file__).resolve().parents[2]
NEEDED = ("mnist-softmax", "mnist-h10", "mnist-h16x16", "fashion-softmax")

LIVE = """Some text before the demo.

::: demo templates model=mnist-softmax

Some text after it.
"""

STATIC = """Some text before the demos.

::: demo diagram

::: demo diagram hidden=10

::: demo samples dataset=fashion model=fashion-softmax

::: demo samples dataset=cifar10 model=cifar-softmax

::: demo samples dataset=cifar10

::: demo hidden model=mnist-h10

::: demo filters model=mnist-h16x16

::: demo filters model=fashion-softmax title="Fashion templates"

::: demo filters model=mnist-h10 max=4

The end.
"""


# --------------------------------------------------------------------------- the site under test

def context_from_site_with_notices(site: Path) -> dict:
    """The render context read back from a built site (conftest.context_from_site), plus the build's
    CIFAR-10 notice and the models it could not train, so the CIFAR note renders as readers see it."""
    context = context_from_site(site / "data")
    context["data"]["compare"] = {}
    datasets = context["data"]["datasets"]
    notices = []
    if "cifar10" not in datasets:   # the build's own notice, from the same loader, offline
        from nnviz import data
        saved = os.environ.get("NNVIZ_OFFLINE")
        os.environ["NNVIZ_OFFLINE"] = "1"
        try:
            data.load("cifar10")
        except data.DataUnavailable as e:
            notices.append(str(e))
        finally:
            if saved is None:
                del os.environ["NNVIZ_OFFLINE"]
            else:
                os.environ["NNVIZ_OFFLINE"] = saved
    from nnviz.specs import SPECS
    context["unavailable"] = sorted(sp.name for sp in SPECS if sp.dataset not in datasets)
    context["notices"] = notices
    return context


@pytest.fixture(scope="session")
def weights_site(site_dir, tmp_path_factory, missing):
    """(out folder, context): en/zh live.html (templates) and static.html (the rest)."""
    from nnviz.render import render_site
    if not (site_dir / "runtime" / "manifest.json").is_file():
        missing(f"{site_dir} has no runtime/ (build with the runtime)")
    models_json = site_dir / "data" / "models.json"
    have = {e["name"] for e in json.loads(models_json.read_text())} if models_json.is_file() else set()
    if not set(NEEDED) <= have:
        missing(f"{site_dir} lacks models {sorted(set(NEEDED) - have)}")
    pages = {}
    for lang in ("en", "zh"):
        pages[f"{lang}/live.md"] = f"---\ntitle: Live {lang}\norder: 1\n---\n{LIVE}"
        pages[f"{lang}/static.md"] = f"---\ntitle: Static {lang}\norder: 2\n---\n{STATIC}"
    root, out = chapter_site(site_dir, tmp_path_factory.mktemp("weights"), pages)
    context = context_from_site_with_notices(site_dir)
    render_site(root, out, context, strict=True, progress=lambda *a: None)
    return out, context


@pytest.fixture(scope="session")
def weights_url(weights_site):
    out, _ = weights_site
    with serve_folder(out) as url:
        yield url


@pytest.fixture
def open_page(browser, weights_url):
    """open_page(path, **context options) -> a Playwright page; every request must stay local."""
    with page_opener(browser, weights_url) as open_:
        yield open_


def images_loaded(pg, selector):
    return pg.eval_on_selector_all(selector, "els => els.map(e => e.complete && e.naturalWidth > 0)")


def number(text):
    return float(text.strip().replace("−", "-"))


def sprite_pixels(site: Path, dataset: str, index: int) -> np.ndarray:
    """Test image `index` as the browser reads it: the tile of data/<dataset>/samples.png, / 255."""
    from PIL import Image
    meta = json.loads((site / "data" / dataset / "samples.json").read_text())
    slot, t = meta["index"].index(index), meta["tile"]
    r, c = divmod(slot, meta["cols"])
    sheet = np.asarray(Image.open(site / "data" / dataset / "samples.png"))
    return sheet[r * t:(r + 1) * t, c * t:(c + 1) * t].reshape(-1).astype(np.float64) / 255.0


def load_adapter():
    spec = importlib.util.spec_from_file_location("templates_adapter", REPO / "demos" / "templates" / "adapter.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------- the adapter (no browser)

def test_templates_adapter_sums_are_the_forward_pass(make_model):
    adapter = load_adapter()
    model = make_model(layers=(784, 10), seed=3, name="t")
    x = np.random.default_rng(1).uniform(0, 1, 784)
    out = adapter.dot(model, x)
    a0 = forward.standardise(model, x[None])
    zs, acts = forward.layers_forward(model.weights, model.biases, "relu", a0)
    np.testing.assert_array_equal(out["z"], zs[-1][0])
    np.testing.assert_array_equal(out["probs"], forward.predict(model, x))
    assert out["pred"] == int(np.argmax(forward.predict(model, x)))
    np.testing.assert_allclose(out["b"] + out["pos"] + out["neg"], out["z"], rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(out["products"].sum(1) + out["b"], out["z"], atol=1e-9)
    w = adapter.weights(model)
    assert w["w"].shape == (10, 784) and np.all(w["w"] == model.weights[0].T)
    with pytest.raises(forward.ModelError, match="without hidden"):
        adapter.dot(make_model(layers=(784, 5, 10)), x)
    with pytest.raises(forward.ModelError, match="784"):
        adapter.dot(model, x[:100])


# --------------------------------------------------------------------------- templates

def test_templates_select_by_click_tap_and_keyboard(open_page):
    pg = open_page("en/live.html")
    fig = ".nv-templates"
    assert all(images_loaded(pg, f"{fig} .nv-tpl-grid img")) and len(images_loaded(pg, f"{fig} .nv-tpl-grid img")) == 10
    assert pg.eval_on_selector(f"{fig} .nv-tpl-big-img", "e => e.naturalWidth") == 28
    legend = pg.inner_text(f"{fig} .nv-legend-gray")
    assert "black = most negative weight" in legend and "white = most positive weight" in legend
    assert "mean" in pg.inner_text(f"{fig} .nv-dot-std")      # why inputs are standardised

    pg.click(f'{fig} .nv-tpl-item[data-k="7"]')
    assert pg.inner_text(f"{fig} .nv-tpl-big-class") == "7"
    assert pg.get_attribute(f"{fig} .nv-tpl-big-img", "src").endswith("mnist-softmax/w1/7.png")
    assert pg.get_attribute(f'{fig} .nv-tpl-item[data-k="7"]', "aria-checked") == "true"

    pg.focus(f'{fig} .nv-tpl-item[data-k="7"]')
    pg.keyboard.press("ArrowRight")
    assert pg.inner_text(f"{fig} .nv-tpl-big-class") == "8"
    assert pg.evaluate("document.activeElement.dataset.k") == "8"
    pg.keyboard.press("End")
    assert pg.inner_text(f"{fig} .nv-tpl-big-class") == "9"
    pg.keyboard.press("Home")
    assert pg.inner_text(f"{fig} .nv-tpl-big-class") == "0"
    # exactly one template in the tab order
    assert pg.eval_on_selector_all(f"{fig} .nv-tpl-item", "els => els.filter(e => e.tabIndex === 0).length") == 1


def test_templates_tap_on_a_phone(open_page):
    pg = open_page("en/live.html", viewport={"width": 375, "height": 800}, has_touch=True, is_mobile=True)
    pg.tap('.nv-templates .nv-tpl-item[data-k="5"]')
    assert pg.inner_text(".nv-templates .nv-tpl-big-class") == "5"


@pytest.mark.parametrize("width", [1280, 375])
def test_templates_are_large_and_each_sits_on_its_class_average(open_page, weights_site, width):
    """Issue 11 item 6: the ten templates fit 5 x 2 at 375 px and are larger at 1280 px; under
    each, the average training image of its class (a tile of data/mnist/class-means.png)."""
    import io
    from PIL import Image
    out, _ = weights_site
    pg = open_page("en/live.html", viewport={"width": width, "height": 900})
    fig = ".nv-templates"
    boxes = pg.eval_on_selector_all(f"{fig} .nv-tpl-item img", "els => els.map(e => e.getBoundingClientRect().toJSON())")
    rows = sorted({round(b["y"]) for b in boxes})
    assert len(boxes) == 10 and len(rows) == 2, f"expected 5 x 2 templates, rows at {rows}"
    assert all(b["x"] >= 0 and b["x"] + b["width"] <= width for b in boxes)
    assert min(b["width"] for b in boxes) >= (56 if width < 400 else 80), [b["width"] for b in boxes]
    strip = np.asarray(Image.open(out / "data" / "mnist" / "class-means.png").convert("L"), np.float64)
    assert strip.shape == (28, 280)
    tiles = [strip[:, 28 * k:28 * (k + 1)].ravel() for k in range(10)]
    for k in range(10):
        mean = pg.locator(f'{fig} .nv-tpl-item[data-k="{k}"] .nv-tpl-mean')
        box, img = mean.bounding_box(), boxes[k]
        assert box["y"] >= img["y"] + img["height"] - 1 and abs(box["x"] - img["x"]) < 2, "the average sits under its template"
        shot = np.asarray(Image.open(io.BytesIO(mean.screenshot())).convert("L").resize((28, 28)), np.float64).ravel()
        corr = [np.corrcoef(shot, t)[0, 1] for t in tiles]
        assert int(np.argmax(corr)) == k, f"the picture under template {k} looks most like class {int(np.argmax(corr))}'s average"
    # the enlarged view shows the chosen template beside its class average
    pg.click(f'{fig} .nv-tpl-item[data-k="7"]')
    big = pg.locator(f"{fig} .nv-tpl-big-mean")
    assert big.get_attribute("data-k") == "7"
    shot = np.asarray(Image.open(io.BytesIO(big.screenshot())).convert("L").resize((28, 28)), np.float64).ravel()
    assert int(np.argmax([np.corrcoef(shot, t)[0, 1] for t in tiles])) == 7
    assert "7" in big.get_attribute("aria-label")


def read_dot_view(pg):
    fig = ".nv-templates"
    zs = [number(t) for t in pg.eval_on_selector_all(f"{fig} .nv-zrow .nv-zrow-value", "els => els.map(e => e.textContent)")]
    winners = pg.eval_on_selector_all(f"{fig} .nv-zrow.winner", "els => els.map(e => Number(e.dataset.k))")
    return int(pg.get_attribute(fig, "data-computed")), zs, winners


def check_against_cpython(site: Path, index, zs, winners):
    model = forward.load(site / "data" / "models" / "mnist-softmax.npz", name="mnist-softmax")
    x = sprite_pixels(site, "mnist", index)
    zs_py, acts = forward.layers_forward(model.weights, model.biases, model.spec.get("activation", "relu"),
                                         forward.standardise(model, x[None]))
    probs = forward.predict(model, x)
    assert winners == [int(np.argmax(probs))], (index, winners, probs)
    np.testing.assert_allclose(zs, zs_py[-1][0], atol=0.0051)   # shown with 2 decimals
    np.testing.assert_allclose(acts[-1][0], probs)


def test_dot_product_view_matches_cpython(open_page, site_dir):
    pg = open_page("en/live.html")
    pg.locator(".nv-templates .nv-dot").scroll_into_view_if_needed()
    pg.wait_for_selector(".nv-templates[data-computed]", state="attached", timeout=120_000)
    index, zs, winners = read_dot_view(pg)
    check_against_cpython(site_dir, index, zs, winners)
    # the pictures are drawn and the formula adds up to the selected class's z
    k = int(pg.get_attribute(".nv-templates", "data-selected"))
    assert k == winners[0]                         # a new image selects its winner
    formula = pg.inner_text(".nv-templates .nv-dot-formula")
    assert formula.startswith(f"z({k})") and formula.rstrip().endswith(f"{zs[k]:.2f}".replace("-", "−"))
    for cls in ("nv-pic-x", "nv-pic-a0", "nv-pic-w", "nv-pic-wx"):
        assert pg.eval_on_selector(f".nv-templates canvas.{cls}", "c => c.width") == 28

    # next image, by keyboard on the "next" button
    pg.focus('.nv-templates [data-step="1"]')
    pg.keyboard.press("Enter")
    pg.wait_for_selector(f'.nv-templates[data-computed]:not([data-computed="{index}"])', state="attached")
    index2, zs2, winners2 = read_dot_view(pg)
    assert index2 != index
    check_against_cpython(site_dir, index2, zs2, winners2)

    # previous goes back; random picks another image of the sprite
    pg.click('.nv-templates [data-step="-1"]')
    pg.wait_for_selector(f'.nv-templates[data-computed="{index}"]', state="attached")
    pg.click('.nv-templates [data-step="random"]')
    pg.wait_for_selector(f'.nv-templates[data-computed]:not([data-computed="{index}"])', state="attached")
    check_against_cpython(site_dir, *read_dot_view(pg))

    # choosing another class's row shows that class's pictures and sum
    other = (winners[0] + 1) % 10
    pg.click(f'.nv-templates .nv-zrow[data-k="{other}"]')
    assert pg.inner_text(".nv-templates .nv-dot-formula").startswith(f"z({other})")
    assert pg.inner_text(".nv-templates .nv-tpl-big-class") == str(other)


# --------------------------------------------------------------------------- diagram (no script)

def test_diagram_is_svg_without_javascript(open_page):
    pg = open_page("en/static.html", java_script_enabled=False)
    svgs = pg.query_selector_all(".nv-diagram svg")
    assert len(svgs) == 2
    flat, hidden = svgs
    for svg in svgs:
        assert svg.get_attribute("viewBox") and svg.get_attribute("role") == "img"
        assert svg.eval_on_selector("title", "t => t.textContent").strip()
        assert len(svg.eval_on_selector("desc", "d => d.textContent").strip()) > 80
        labels = svg.eval_on_selector_all(".nv-layer-output .nv-node-label", "els => els.map(e => e.textContent)")
        assert labels == [str(d) for d in range(10)]
        assert svg.eval_on_selector_all(".nv-hot", "els => els.length") == 1
    assert "784" in flat.eval_on_selector("title", "t => t.textContent")
    assert flat.eval_on_selector(".nv-formula", "t => t.textContent") == "z₃ = b₃ + Σᵢ wᵢ xᵢ"
    flat_vars = flat.eval_on_selector_all(".nv-var", "els => els.map(e => e.textContent)")
    assert flat_vars[0] == "x₁" and flat_vars[-1] == "x₇₈₄"
    wl = flat.eval_on_selector_all(".nv-wlabel", "els => els.map(e => e.textContent)")
    assert wl[0] == "w₁" and wl[-1] == "w₇₈₄"
    assert "784 → 10 → 10" in hidden.eval_on_selector("title", "t => t.textContent")
    assert hidden.eval_on_selector_all(".nv-layer-hidden .nv-node", "els => els.length") == 10
    assert hidden.eval_on_selector(".nv-formula", "t => t.textContent") == "z₃ = b₃ + Σⱼ wⱼ hⱼ"


# --------------------------------------------------------------------------- samples

def test_samples_grid_new_sample_and_templates(open_page, weights_site):
    _, context = weights_site
    pg = open_page("en/static.html")
    fig = '.nv-samples[data-dataset="fashion"]'
    pg.wait_for_timeout(500)
    far = pg.evaluate(f"() => document.querySelector('{fig}').getBoundingClientRect().top > innerHeight + 300")
    sprite = lambda p: p.evaluate("() => performance.getEntriesByType('resource').some(e => e.name.endsWith('/fashion/samples.png'))")
    assert not far or not sprite(pg), "the sprite loaded while its demo was far below the viewport"
    pg.locator(fig).scroll_into_view_if_needed()                  # near the viewport: it loads
    pg.wait_for_selector(f"{fig}[data-shown]", state="attached")
    assert sprite(pg)
    first = pg.get_attribute(fig, "data-shown").split(",")
    assert len(first) == 32 and len(set(first)) == 32
    sizes = pg.eval_on_selector_all(f"{fig} .nv-sample canvas", "els => els.map(c => [c.width, c.height])")
    assert sizes == [[28, 28]] * 32
    labels = pg.eval_on_selector_all(f"{fig} .nv-sample-label", "els => els.map(e => e.textContent.replace('\\u200b', ''))")
    meta = json.loads((weights_site[0] / "data" / "fashion" / "samples.json").read_text())
    truth = {t: meta["classes"][y] for t, y in zip(meta["index"], meta["labels"])}
    assert labels == [truth[int(t)] for t in first]
    # the first view is the same on every visit
    again = open_page("en/static.html")
    again.locator(fig).scroll_into_view_if_needed()
    again.wait_for_selector(f"{fig}[data-shown]", state="attached")
    assert again.get_attribute(fig, "data-shown").split(",") == first

    pg.click(f"{fig} .nv-samples-new")
    second = pg.get_attribute(fig, "data-shown").split(",")
    assert second != first and len(second) == 32
    pg.focus(f"{fig} .nv-samples-new")
    pg.keyboard.press("Enter")
    third = pg.get_attribute(fig, "data-shown").split(",")
    assert third != second
    pg.keyboard.press(" ")
    assert pg.get_attribute(fig, "data-shown").split(",") != third

    tpl = images_loaded(pg, f"{fig} .nv-samples-templates img")
    assert len(tpl) == 10 and all(tpl)
    names = pg.eval_on_selector_all(f"{fig} .nv-samples-templates span", "els => els.map(e => e.textContent.replace('\\u200b', ''))")
    assert names == context["models"]["fashion-softmax"]["classes"]


def test_cifar_note_when_the_data_was_missing(open_page, weights_site):
    """Without CIFAR-10 its figures say why, in each language; with it, they show no such note."""
    _, context = weights_site
    if "cifar10" in context["data"]["datasets"]:
        for lang in ("en", "zh"):
            pg = open_page(f"{lang}/static.html")
            for fig in pg.query_selector_all('.nv-samples[data-dataset="cifar10"]'):
                assert "could not be obtained" not in fig.inner_text() and "无法获取" not in fig.inner_text()
                assert fig.query_selector("img"), "CIFAR-10 was available: its samples are shown"
        return
    for lang, words in (("en", ["could not be obtained", "37%", "Looking inside neural nets"]),
                        ("zh", ["无法获取", "37%", "飞机"])):
        pg = open_page(f"{lang}/static.html")
        notes = pg.query_selector_all('.nv-samples[data-dataset="cifar10"]')
        assert len(notes) == 2                       # with model=cifar-softmax and without
        for fig in notes:
            note = fig.inner_text()
            for w in words:
                assert w in note, (lang, w, note)
            for n in context["notices"]:                # the build's notice stays in its log
                assert n.split(":")[0] not in note and "/" not in note, (lang, note)
        assert not pg.query_selector_all(".build-error")


def test_zh_page_uses_chinese_names(open_page):
    pg = open_page("zh/static.html")
    fig = '.nv-samples[data-dataset="fashion"]'
    names = pg.eval_on_selector_all(f"{fig} .nv-samples-templates span", "els => els.map(e => e.textContent.replace('\\u200b', ''))")
    assert names == ["T恤/上衣", "裤子", "套头衫", "连衣裙", "外套", "凉鞋", "衬衫", "运动鞋", "包", "短靴"]
    assert "换一批" in pg.inner_text(f"{fig} .nv-samples-new")
    assert "输入层" in pg.inner_text(".nv-diagram")


# --------------------------------------------------------------------------- hidden layer

def highlighted(pg):
    return {
        "filters": pg.eval_on_selector_all(".nv-hidden .nv-filter.nv-hl", "els => els.map(e => Number(e.dataset.h))"),
        "bars": pg.eval_on_selector_all(".nv-hidden .nv-bar.nv-hl", "els => els.map(e => [Number(e.dataset.c), Number(e.dataset.h)])"),
    }


def test_hidden_bars_and_filters_highlight_each_other(open_page, weights_site):
    _, context = weights_site
    ow = context["data"]["analysis"]["mnist-h10"]["out_weights"]
    pg = open_page("en/static.html")
    assert all(images_loaded(pg, ".nv-hidden .nv-filter img")) and len(images_loaded(pg, ".nv-hidden .nv-filter img")) == 10
    assert "blue = negative" in pg.inner_text(".nv-hidden .nv-hidden-legend")
    # every bar carries its weight, with the sign drawn as its direction
    w = pg.eval_on_selector_all(".nv-hidden .nv-bar", "els => els.map(e => [Number(e.dataset.c), Number(e.dataset.h), Number(e.dataset.w), e.classList.contains('pos')])")
    assert len(w) == 100
    for c, h, value, pos in w:
        assert abs(value - ow[h][c]) < 1e-4 and pos == (ow[h][c] >= 0)

    pg.hover('.nv-hidden .nv-chart[data-c="7"] .nv-bar[data-h="4"]')
    hl = highlighted(pg)
    assert hl["filters"] == [4]
    assert sorted(hl["bars"]) == [[c, 4] for c in range(10)]
    readout = pg.inner_text(".nv-hidden .nv-hidden-readout")
    assert "h5" in readout and f"{abs(ow[4][7]):.2f}" in readout

    pg.hover('.nv-hidden .nv-filter[data-h="2"]')
    hl = highlighted(pg)
    assert hl["filters"] == [2] and sorted(hl["bars"]) == [[c, 2] for c in range(10)]

    # keyboard: one tab stop for the charts, arrows move between neurons and classes
    pg.mouse.move(0, 0)
    pg.focus('.nv-hidden .nv-bar[data-c="0"][data-h="0"]')
    for _ in range(3):
        pg.keyboard.press("ArrowRight")
    pg.keyboard.press("ArrowDown")
    assert pg.evaluate("[document.activeElement.dataset.c, document.activeElement.dataset.h]") == ["1", "3"]
    assert highlighted(pg)["filters"] == [3]
    assert pg.eval_on_selector_all(".nv-hidden .nv-bar", "els => els.filter(e => e.tabIndex === 0).length") == 1
    # a filter by keyboard: arrows along the row
    pg.focus('.nv-hidden .nv-filter[data-h="0"]')
    pg.keyboard.press("ArrowRight")
    assert highlighted(pg)["filters"] == [1]


def test_hidden_tap_pins_the_highlight(open_page):
    pg = open_page("en/static.html", viewport={"width": 375, "height": 800}, has_touch=True, is_mobile=True)
    pg.tap('.nv-hidden .nv-chart[data-c="3"] .nv-bar[data-h="6"]')
    assert highlighted(pg)["filters"] == [6]
    pg.tap(".nv-hidden .nv-hidden-title")          # elsewhere: the highlight stays pinned
    assert highlighted(pg)["filters"] == [6]
    assert pg.get_attribute('.nv-hidden .nv-filter[data-h="6"]', "aria-pressed") == "true"
    pg.tap('.nv-hidden .nv-filter[data-h="6"]')      # tap again: released
    assert pg.get_attribute('.nv-hidden .nv-filter[data-h="6"]', "aria-pressed") == "false"


# --------------------------------------------------------------------------- filters

def test_filters_grids_and_legends(open_page, weights_site):
    _, context = weights_site
    pg = open_page("en/static.html")
    figs = pg.query_selector_all(".nv-filters")
    assert [f.get_attribute("data-model") for f in figs] == ["mnist-h16x16", "fashion-softmax", "mnist-h10"]
    h16, fashion, h10 = figs
    assert h16.eval_on_selector_all("img", "els => els.filter(e => e.complete && e.naturalWidth === 28).length") == 16
    assert h16.query_selector(".nv-filters-div") and not h16.query_selector(".nv-filters-gray")
    assert fashion.eval_on_selector_all("img", "els => els.filter(e => e.complete && e.naturalWidth === 28).length") == 10
    assert fashion.query_selector(".nv-filters-gray") and fashion.eval_on_selector("figcaption", "e => e.textContent") == "Fashion templates"
    assert h10.eval_on_selector_all("img", "els => els.length") == 4
    assert "4" in h10.eval_on_selector("figcaption", "e => e.textContent")


# --------------------------------------------------------------------------- phones

@pytest.mark.parametrize("path", ["en/live.html", "zh/live.html", "en/static.html", "zh/static.html"])
def test_no_horizontal_overflow_at_375px(open_page, path):
    pg = open_page(path, viewport={"width": 375, "height": 800})
    if "live" in path:
        pg.locator(".nv-templates .nv-dot").scroll_into_view_if_needed()
        pg.wait_for_selector(".nv-templates[data-computed]", state="attached", timeout=120_000)
    else:   # the samples grid loads when it comes near the viewport (samples.nearView), as a reader scrolls to it
        pg.locator('.nv-samples[data-dataset="fashion"]').scroll_into_view_if_needed()
        pg.wait_for_selector('.nv-samples[data-dataset="fashion"][data-shown]', state="attached")
    assert pg.evaluate("document.documentElement.scrollWidth") <= 375
    wide = pg.eval_on_selector_all(
        ".nv-templates, .nv-diagram, .nv-samples, .nv-hidden, .nv-filters",
        "els => els.filter(e => e.scrollWidth > e.clientWidth + 1 || e.getBoundingClientRect().right > 375.5)"
        ".map(e => e.className + ' ' + e.scrollWidth + '/' + e.clientWidth)")
    assert not wide, wide
