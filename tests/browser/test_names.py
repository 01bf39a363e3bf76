"""Names readers see (issue 11 item 5), on the built chapter ($NNVIZ_SITE or <repo>/site), in both
languages, with the labs started so that the labels their scripts set are checked too:

  * no page shows a model id (`mnist-h16x16`) in its text, alt, title or aria-label outside a
    short allow-list: captions use the reader-facing names of templates/i18n.toml;
  * one neuron numbering everywhere: the hidden neuron at index u (its picture data/<m>/w1/<u>.png,
    the lab's data-unit) is called h(u+1) in the hidden-layer figure, the filters figure, the Lego
    figure, the comparison figure and the drawing lab (its buttons and its inspector).
"""
from __future__ import annotations

import json
import re

import pytest

from conftest import serve_folder
from test_draw import DEEP_LAB, bar_points, mouse_stroke
from test_languages import CHAPTER, READY_TIMEOUT, TEXTS, start_labs

from nnviz.strings import neuron

ALLOWED_IDS: set[str] = set()      # model ids a reader needs to see: none so far


@pytest.fixture(scope="module")
def chapter_pages(browser, site_dir):
    """{lang: the chapter, loaded, labs started, one stroke drawn and a first-layer neuron picked}."""
    pages, contexts = {}, []
    with serve_folder(site_dir) as url:
        for lang in ("en", "zh"):
            ctx = browser.new_context(viewport={"width": 1280, "height": 900})
            contexts.append(ctx)
            pg = ctx.new_page()
            pg.set_default_timeout(READY_TIMEOUT)
            pg.goto(f"{url}{lang}/{CHAPTER}")
            start_labs(pg)
            mouse_stroke(pg, bar_points())
            pages[lang] = pg
        yield pages
        for ctx in contexts:
            ctx.close()


def model_ids(site_dir):
    return sorted((m["name"] for m in json.loads((site_dir / "data" / "models.json").read_text())),
                  key=len, reverse=True)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_no_model_id_reaches_the_reader(chapter_pages, site_dir, lang):
    pg = chapter_pages[lang]
    pg.click(f'{DEEP_LAB} .draw-neuron[data-layer="2"][data-unit="0"]')     # the inspector's labels too
    pg.wait_for_selector(f"{DEEP_LAB} .draw-inspect:not([hidden])")
    ids = re.compile(r"(?<![A-Za-z0-9_/.-])(" + "|".join(map(re.escape, model_ids(site_dir))) + r")(?![A-Za-z0-9_-])")
    shown = [(kind, tag, m.group(1), text[:120]) for kind, tag, text in pg.evaluate(TEXTS)
             for m in ids.finditer(text) if m.group(1) not in ALLOWED_IDS]
    assert not shown, "\n".join(map(str, shown))


FIGURE_NAMES = """sel => [...document.querySelectorAll(sel)].map(el => {
  const img = el.querySelector("img");
  return {src: img.getAttribute("src"), alt: img.getAttribute("alt"),
          label: el.querySelector(".nnv-u, :scope > span:not(.nnv-w), :scope > button > span").textContent.trim()};
})"""


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_neuron_numbers_agree_across_figures_and_the_lab(chapter_pages, lang):
    pg = chapter_pages[lang]
    seen = {}
    for figure, item in [("figure.nv-hidden", ".nv-filter"), ("figure.nv-filters:not(.nv-filters-templates)", "li"),
                         ("figure.nnv-lego", ".nnv-unit"), ("figure.nnv-compare", ".nnv-unit")]:
        items = pg.evaluate(FIGURE_NAMES, f"{figure} {item}")
        hidden_units = [it for it in items if "/w1/" in it["src"]]
        assert hidden_units, f"no hidden-neuron pictures in {figure}"
        for it in hidden_units:
            u = int(re.search(r"/w1/(\d+)\.png$", it["src"]).group(1))
            assert it["label"] == neuron(u), (figure, it)
            assert re.search(rf"\b{neuron(u, plain=True)}\b", it["alt"]), (figure, it)
            seen.setdefault(figure, set()).add(u)
    assert 0 in seen["figure.nv-hidden"] and 0 in seen["figure.nv-filters:not(.nv-filters-templates)"], "index 0 must be shown as h₁"
    # the drawing lab: every first-layer button, and the inspector of a picked neuron
    labels = pg.eval_on_selector_all(f'{DEEP_LAB} .draw-neuron[data-layer="1"]',
                                     "els => els.map(b => [+b.dataset.unit, b.getAttribute('aria-label')])")
    assert len(labels) == 16
    for u, label in labels:
        assert re.search(rf"\bh{u + 1}\b", label), label
    for u in (0, 4, 15):
        pg.click(f'{DEEP_LAB} .draw-neuron[data-layer="1"][data-unit="{u}"]')
        name = pg.locator(f"{DEEP_LAB} .draw-inspect-name")
        pg.wait_for_function("([el, want]) => el.textContent.endsWith(want)",
                             arg=[name.element_handle(), f"h{u + 1}"])
        # the filters figure shows the same network's neuron u under the same number
        src = pg.get_attribute(f"figure.nv-filters[data-model='mnist-h16x16'] li:nth-child({u + 1}) img", "src")
        assert src.endswith(f"/w1/{u}.png")
        assert pg.text_content(f"figure.nv-filters[data-model='mnist-h16x16'] li:nth-child({u + 1}) span") == neuron(u)
