"""The CIFAR-10 section in real Chromium, on a site built from the full-size generated archive
(tests/cifar_fixture.build_site: the real chapter's CIFAR passages, the real demos, models trained
for a few epochs and cached beside the archive). Photos, RGB templates with the inspect view
(checked against CPython's forward pass), the confusion panel, the hidden layer's colour filters,
375 px, both languages."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import page_opener, serve_folder  # noqa: E402  (tests/browser is on sys.path)
from test_demos_confusion import check_panel, panel_state  # the same panel contract as for MNIST

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
import cifar_fixture as cf  # noqa: E402

SAMPLES = '.nv-samples[data-dataset="cifar10"]'
TEMPLATES = '.nv-templates[data-model="cifar-softmax"]'
HIDDEN = '.nv-hidden[data-model="cifar-h100"]'


@pytest.fixture(scope="module")
def cifar_site(tmp_path_factory):
    out = tmp_path_factory.mktemp("cifar-browser") / "site"
    return out, cf.build_site(out)


@pytest.fixture(scope="module")
def cifar_url(cifar_site):
    with serve_folder(cifar_site[0]) as url:
        yield url


@pytest.fixture
def open_page(browser, cifar_url):
    """open_page(lang="en", **context options): the CIFAR page in that language."""
    with page_opener(browser, cifar_url, timeout_ms=120_000) as open_:
        yield lambda lang="en", **options: open_(f"{lang}/cifar.html", **options)


# waits by selector, not by evaluated strings: the pages' CSP forbids eval, as it should

def shown(pg):
    pg.wait_for_selector(f"{SAMPLES}[data-shown]", state="attached")
    return pg.get_attribute(SAMPLES, "data-shown")


def changed(pg, before):
    pg.wait_for_selector(f'{SAMPLES}[data-shown]:not([data-shown="{before}"])', state="attached")
    return shown(pg)


# --------------------------------------------------------------------------- samples

def test_new_sample_by_mouse_keyboard_and_touch(open_page, cifar_site):
    _, context = cifar_site
    pg = open_page()
    first = shown(pg)
    photos = pg.eval_on_selector_all(f"{SAMPLES} .nv-sample canvas", """cs => cs.map(c => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let colour = false;
        for (let k = 0; k < d.length; k += 4) if (d[k] !== d[k + 1] || d[k + 1] !== d[k + 2]) colour = true;
        return [c.width, c.height, colour]; })""")
    assert len(photos) == 32 and all(p == [32, 32, True] for p in photos)   # colour photos, 32x32
    pg.click(f"{SAMPLES} .nv-samples-new")
    second = changed(pg, first)
    pg.focus(f"{SAMPLES} .nv-samples-new")
    pg.keyboard.press("Enter")
    third = changed(pg, second)
    pg.keyboard.press("Space")
    changed(pg, third)
    labels = pg.eval_on_selector_all(f"{SAMPLES} .nv-sample-label", "els => els.map(e => e.textContent)")
    assert set(labels) <= set(context["data"]["datasets"]["cifar10"]["classes"])
    phone = open_page(viewport={"width": 375, "height": 800}, has_touch=True, is_mobile=True)
    before = shown(phone)
    phone.tap(f"{SAMPLES} .nv-samples-new")
    changed(phone, before)


# --------------------------------------------------------------------------- templates

def test_ten_rgb_templates_render_and_can_be_chosen(open_page):
    pg = open_page()
    sizes = pg.eval_on_selector_all(f"{TEMPLATES} .nv-tpl-item img", "els => els.map(e => [e.complete, e.naturalWidth])")
    assert sizes == [[True, 32]] * 10
    pg.click(f'{TEMPLATES} .nv-tpl-item[data-k="8"]')
    assert pg.inner_text(f"{TEMPLATES} .nv-tpl-big-class") == "ship"
    assert pg.get_attribute(f"{TEMPLATES} .nv-tpl-big-img", "src").endswith("/w1/8.png")
    assert pg.get_attribute(f'{TEMPLATES} .nv-tpl-item[data-k="8"]', "aria-checked") == "true"
    pg.keyboard.press("ArrowRight")
    assert pg.get_attribute(TEMPLATES, "data-selected") == "9"
    assert "3072" in pg.inner_text(f"{TEMPLATES} .nv-legend-rgb")          # how a weight becomes a colour
    phone = open_page(viewport={"width": 375, "height": 800}, has_touch=True, is_mobile=True)
    phone.tap(f'{TEMPLATES} .nv-tpl-item[data-k="0"]')
    assert phone.inner_text(f"{TEMPLATES} .nv-tpl-big-class") == "airplane"


def test_inspect_view_is_the_models_own_forward_pass(open_page, cifar_site):
    """The sums z for a test photo equal CPython's forward.py on the same photo's bytes."""
    from nnviz import forward
    out, _ = cifar_site
    pg = open_page()
    pg.wait_for_selector(f"{TEMPLATES}[data-computed]", state="attached")
    index = int(pg.get_attribute(TEMPLATES, "data-computed"))
    zs = [float(t.replace("−", "-")) for t in pg.eval_on_selector_all(
        f"{TEMPLATES} .nv-zrow .nv-zrow-value", "els => els.map(e => e.textContent)")]
    model = forward.load(out / "data" / "models" / "cifar-softmax.npz")
    photo = cf.full_dataset().x_test[index].reshape(1, -1).astype(np.float64) / 255
    z = forward.standardise(model, photo) @ model.weights[0] + model.biases[0]
    assert np.allclose(zs, z[0], atol=0.006)                                   # shown with 2 decimals
    assert int(pg.get_attribute(TEMPLATES, "data-winner")) == int(np.argmax(z))
    sizes = pg.eval_on_selector_all(f"{TEMPLATES} .nv-dot-pics canvas", "cs => cs.map(c => [c.width, c.height])")
    assert sizes == [[32, 32]] * 4
    pg.click(f'{TEMPLATES} .nv-zrow[data-k="8"]')                              # any class by its row
    assert pg.get_attribute(TEMPLATES, "data-selected") == "8"
    assert "ship" in pg.inner_text(f"{TEMPLATES} .nv-dot-formula")


# --------------------------------------------------------------------------- confusion

def test_confusion_cell_shows_its_photos_by_confidence(open_page, cifar_site):
    _, context = cifar_site
    a = context["data"]["analysis"]["cifar-softmax"]
    pg = open_page()
    fig = pg.locator('figure.demo-confusion[data-model="cifar-softmax"]')
    cm = a["confusion"]
    i, j = max(((i, j) for i in range(10) for j in range(10) if i != j), key=lambda c: cm[c[0]][c[1]])
    for cell in ((i, j), (0, 0)):
        fig.locator(f'td.cm-cell[data-i="{cell[0]}"][data-j="{cell[1]}"]').hover()
        fig.locator(f'.cm-panel[data-cell="{cell[0]},{cell[1]}"]').wait_for(state="attached")
        check_panel(panel_state(fig), a, *cell)


# --------------------------------------------------------------------------- hidden

def test_hidden_colour_filters_and_output_bars(open_page):
    pg = open_page()
    imgs = pg.eval_on_selector_all(f"{HIDDEN} .nv-filter img", "els => els.map(e => [e.complete, e.naturalWidth])")
    assert imgs == [[True, 32]] * 20
    names = pg.eval_on_selector_all(f"{HIDDEN} .nv-filter", "els => els.map(e => e.dataset.name)")
    assert pg.eval_on_selector_all(f"{HIDDEN} .nv-chart", "els => els.length") == 10
    lit = lambda p: p.eval_on_selector_all(f"{HIDDEN} .nv-filter.nv-hl", "els => els.map(e => e.dataset.h)")
    pg.focus(f'{HIDDEN} .nv-filter[data-h="0"]')          # keyboard first: a hovering mouse would win
    pg.keyboard.press("ArrowRight")
    assert lit(pg) == ["1"]
    pg.hover(f'{HIDDEN} .nv-chart[data-c="8"] .nv-bar[data-h="3"]')
    assert lit(pg) == ["3"]
    assert f"{names[3]}:" in pg.inner_text(f"{HIDDEN} .nv-hidden-readout")       # the neuron's own number
    phone = open_page(viewport={"width": 375, "height": 800}, has_touch=True, is_mobile=True)
    phone.tap(f'{HIDDEN} .nv-chart[data-c="0"] .nv-bar[data-h="5"]')
    assert lit(phone) == ["5"]


# --------------------------------------------------------------------------- layout and languages

@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_horizontal_overflow_at_375px(open_page, lang, scheme):
    pg = open_page(lang, viewport={"width": 375, "height": 800}, color_scheme=scheme)
    shown(pg)
    assert pg.evaluate("document.documentElement.scrollWidth") <= 375


def test_chinese_page(open_page, cifar_site):
    _, context = cifar_site
    pg = open_page("zh")
    assert pg.inner_text(f"{SAMPLES} .nv-samples-new") == "换一批"
    before = shown(pg)
    pg.click(f"{SAMPLES} .nv-samples-new")
    changed(pg, before)
    labels = set(pg.eval_on_selector_all(f"{SAMPLES} .nv-sample-label", "els => els.map(e => e.textContent)"))
    assert labels <= {"飞机", "汽车", "鸟", "猫", "鹿", "狗", "青蛙", "马", "船", "卡车"}
    assert context["vars"]["acc"]["cifar_h100"] in pg.inner_text("body")
    assert "3072" in pg.inner_text(f"{TEMPLATES} .nv-legend-rgb") and "红" in pg.inner_text(f"{TEMPLATES} .nv-legend-rgb")
    pg.click(f'{TEMPLATES} .nv-tpl-item[data-k="8"]')
    assert pg.inner_text(f"{TEMPLATES} .nv-tpl-big-class") == "船"               # class names in Chinese
    rows = pg.eval_on_selector_all(f"{TEMPLATES} .nv-zrow-label", "els => els.map(e => e.textContent)")
    assert rows[0] == "飞机" and rows[9] == "卡车"
