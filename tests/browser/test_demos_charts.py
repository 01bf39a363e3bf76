"""The chart demos sweep, overfit, lego and compare, in real Chromium.

They are rendered by the real renderer (render_site) from the real build's exports: the context is
rebuilt from <site>/data (models.json, <model>/analysis.json), a chapter holding only these
directives is rendered into a temp folder next to a link to <site>/data, and that folder is served
on 127.0.0.1 with the site's CSP. Every number checked here is read from the build's files, never
typed in. Screenshots (1280 and 375 px, light and dark) go to $NNVIZ_SCREENSHOTS when it is set.

Needs a built site ($NNVIZ_SITE or <repo>/site; skipped locally without one, a failure under CI).
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import assert_all_local, chapter, context_from_site, serve_folder  # tests/browser/conftest.py
from nnviz import cited, export
from nnviz.common import pct
from nnviz.render import render_site

REPO = Path(__file__).resolve().parents[2]
SWEEP_PREFIX = "mnist-sweep-h"
REFERENCE = "mnist-softmax"
OVERFIT = ("mnist-h300-small", "mnist-h300-small-l2")
LEGO = "mnist-h30"
COMPARE = ("mnist-h30-normal", "mnist-h30-scaled-l2")
UNITS = 8
CITED = "agarwal-sweep"        # the published sweep drawn beside ours (src/nnviz/cited.py)
DIRECTIVES = [f"::: demo sweep cited={CITED}", "::: demo overfit", f"::: demo lego model={LEGO}",
              f"::: demo compare models={','.join(COMPARE)} units={UNITS}"]
READY = """() => document.querySelector("figure.nnv-sweep[data-enhanced]")
  && document.querySelector("figure.nnv-overfit[data-enhanced]")
  && [...document.images].every(i => i.complete && i.naturalWidth > 0)"""


# --------------------------------------------------------------------------- the page under test

def load_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def charts(site_dir, tmp_path_factory, missing):
    """A site with en/charts.html and zh/charts.html holding only these demos, over the real data."""
    data = site_dir / "data"
    needed = ["models.json", f"{REFERENCE}/analysis.json", f"{LEGO}/analysis.json",
              *[f"{m}/analysis.json" for m in OVERFIT],
              *[f"{m}/w1/{u}.png" for m in COMPARE for u in range(UNITS)]]
    absent = [p for p in needed if not (data / p).is_file()]
    if absent:
        missing(f"{site_dir} lacks data/{', data/'.join(absent)} (run `make site`)")
    context = context_from_site(data)
    sweep = sorted((e for n, e in context["models"].items() if n.startswith(SWEEP_PREFIX)),
                   key=lambda e: e["layers"][1])
    if len(sweep) < 2:
        missing(f"{site_dir} has fewer than two {SWEEP_PREFIX}* models")
    base = tmp_path_factory.mktemp("demos-charts")
    root, out = base / "root", base / "out"
    for lang, title in (("en", "Chart demos"), ("zh", "图表演示")):
        (root / "chapters" / lang).mkdir(parents=True)
        (root / "chapters" / lang / "charts.md").write_text(chapter(title, DIRECTIVES), encoding="utf-8")
    for name in ("templates", "demos", "static"):
        (root / name).symlink_to(REPO / name, target_is_directory=True)
    out.mkdir()
    (out / "data").symlink_to(data.resolve(), target_is_directory=True)
    render_site(root, out, context, strict=True, progress=lambda *a: None)
    return {"root": out, "models": context["models"], "analysis": context["data"]["analysis"],
            "sweep": sweep}


@pytest.fixture(scope="module")
def charts_server(charts):
    with serve_folder(charts["root"]) as url:
        yield url


@pytest.fixture
def open_page(browser, charts_server):
    """open_page(lang="en", width=1280, scheme="light") -> a loaded page with every chart enhanced
    and every picture loaded; after the test every request must have stayed on 127.0.0.1 and the
    page must have logged no error."""
    contexts, requests, errors = [], [], []

    def open_(lang="en", width=1280, scheme="light"):
        ctx = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
        contexts.append(ctx)
        ctx.on("request", lambda r: requests.append(r.url))
        pg = ctx.new_page()
        pg.set_default_timeout(20_000)
        pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.goto(f"{charts_server}{lang}/charts.html")
        pg.wait_for_function(READY)
        return pg

    yield open_
    for ctx in contexts:
        ctx.close()
    assert_all_local(requests)
    assert not errors, errors


def visible_tip(pg, figure):
    tip = pg.locator(f"{figure} .nnv-tip:visible")
    assert tip.count() == 1, f"expected one visible tooltip in {figure}, found {tip.count()}"
    return tip.inner_text()


# --------------------------------------------------------------------------- sweep

POINTS_JS = """els => els.map(e => {
  const r = e.querySelector(".nnv-dot").getBoundingClientRect();
  return {model: e.dataset.model, size: +e.dataset.size, acc: +e.dataset.acc, params: +e.dataset.params,
          x: r.x + r.width / 2, y: r.y + r.height / 2, label: e.getAttribute("aria-label")};
})"""


def test_sweep_has_one_point_per_model_placed_by_its_accuracy(open_page, charts):
    pg = open_page()
    models, sweep = charts["models"], charts["sweep"]
    pts = pg.eval_on_selector_all(".nnv-sweep .nnv-pt", POINTS_JS)
    assert [p["model"] for p in pts] == [e["name"] for e in sweep]
    assert len(pts) == 7, "the hidden-size sweep has 7 sizes (2, 3, 4, 5, 10, 30, 100)"
    for p, e in zip(pts, sweep):
        assert p["size"] == e["layers"][1] and p["acc"] == e["test_accuracy"] and p["params"] == e["params"]
        assert pct(e["test_accuracy"], 2) in p["label"]
    # y: higher accuracy is higher on the screen, for every pair, and linear in accuracy
    for a in pts:
        for b in pts:
            if a["acc"] > b["acc"]:
                assert a["y"] < b["y"], (a, b)
    slope, icept = np.polyfit([p["acc"] for p in pts], [p["y"] for p in pts], 1)
    assert slope < 0 and all(abs(icept + slope * p["acc"] - p["y"]) < 0.75 for p in pts)
    # x: logarithmic in the hidden size
    lx = [math.log(p["size"]) for p in pts]
    xs = [p["x"] for p in pts]
    for x, l in zip(xs, lx):
        assert abs((x - xs[0]) / (xs[-1] - xs[0]) - (l - lx[0]) / (lx[-1] - lx[0])) < 0.005
    # every point is labelled with its accuracy; the reference line sits at mnist-softmax's accuracy
    labels = pg.eval_on_selector_all(".nnv-sweep .nnv-val", "els => els.map(e => e.textContent)")
    assert labels == [pct(p["acc"]) for p in pts]
    ref = models[REFERENCE]["test_accuracy"]
    ref_y = pg.eval_on_selector(".nnv-sweep .nnv-ref line", "l => { const r = l.getBoundingClientRect(); return r.y + r.height / 2; }")
    assert abs(icept + slope * ref - ref_y) < 0.75
    assert pct(ref) in pg.text_content(".nnv-sweep .nnv-ref text")
    # no two labels overlap, and no label covers a point of either series
    boxes = pg.eval_on_selector_all(".nnv-sweep .nnv-val, .nnv-sweep .nnv-ref text, .nnv-sweep .nnv-dot, .nnv-sweep .nnv-cdot",
                                    "els => els.map(e => { const r = e.getBoundingClientRect(); "
                                    "return [e.tagName, r.left, r.top, r.right, r.bottom]; })")
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if a[0] in ("circle", "rect") and b[0] in ("circle", "rect"):
                continue
            overlap = min(a[3], b[3]) - max(a[1], b[1]), min(a[4], b[4]) - max(a[2], b[2])
            assert min(overlap) < 1, f"overlapping chart labels: {a} {b}"


LABEL_CENTRES_JS = """els => els.map(e => { const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })"""
MARKERS_JS = """els => els.map(e => { const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })"""


@pytest.mark.parametrize("width", [1280, 375])
def test_sweep_labels_sit_by_the_point_they_name(open_page, width):
    """Each value label is nearer its own point than any other point of either series (the
    label for 4 hidden neurons once sat under the point for 5)."""
    pg = open_page(width=width)
    labels = pg.eval_on_selector_all(".nnv-sweep .nnv-val", LABEL_CENTRES_JS)
    ours = pg.eval_on_selector_all(".nnv-sweep .nnv-pt .nnv-dot", MARKERS_JS)
    theirs = pg.eval_on_selector_all(".nnv-sweep .nnv-cpt .nnv-cdot", MARKERS_JS)
    assert len(labels) == len(ours) and theirs
    for k, (lx, ly) in enumerate(labels):
        dist = [math.hypot(lx - x, ly - y) for x, y in ours + theirs]
        assert min(range(len(dist)), key=dist.__getitem__) == k, f"label {k} is nearer another point: {dist}"


def test_sweep_shows_the_cited_sweep_on_the_same_axes(open_page, charts, site_dir):
    pub = cited.CITED[CITED]
    pg = open_page()
    pts = pg.eval_on_selector_all(".nnv-sweep .nnv-pt", POINTS_JS)
    got = pg.eval_on_selector_all(".nnv-sweep .nnv-cpt", """els => els.map(e => {
      const r = e.querySelector(".nnv-cdot").getBoundingClientRect();
      return {size: +e.dataset.size, acc: +e.dataset.acc, x: r.x + r.width / 2, y: r.y + r.height / 2,
              label: e.getAttribute("aria-label")}; })""")
    assert [(g["size"], g["acc"]) for g in got] == sorted(pub["accuracy"].items())
    # the same scales as our points: x by size, y linear in accuracy
    x_of = {p["size"]: p["x"] for p in pts}
    slope, icept = np.polyfit([p["acc"] for p in pts], [p["y"] for p in pts], 1)
    for g in got:
        assert abs(g["x"] - x_of[g["size"]]) < 0.75 and abs(icept + slope * g["acc"] - g["y"]) < 0.75, g
        assert f"{pub['author']} ({pub['year']})" in g["label"] and pct(g["acc"], 2) in g["label"]
    # hover: the tooltip names the source; the key, the caption and the hidden table do too
    size = sorted(pub["accuracy"])[0]
    pg.hover(f'.nnv-sweep .nnv-cpt[data-size="{size}"] .nnv-cdot')
    tip = visible_tip(pg, ".nnv-sweep")
    assert pub["author"] in tip and pct(pub["accuracy"][size], 2) in tip
    assert pub["author"] in pg.inner_text(".nnv-sweep .nnv-series") and pub["author"] in pg.inner_text(".nnv-sweep figcaption")
    cells = pg.eval_on_selector_all(".nnv-sweep table tbody tr", "rs => rs.map(r => [...r.cells].map(c => c.textContent))")
    column = {row[0]: row[3] for row in cells}
    for h, a in pub["accuracy"].items():
        assert column[str(h)] == pct(a, 2)
    # the chapter cites the source with its address, in both languages
    for lang in ("en", "zh"):
        html = (site_dir / lang / "looking-inside.html").read_text(encoding="utf-8")
        assert f'href="{pub["url"]}"' in html and pub["author"] in html
        for a in pub["accuracy"].values():
            assert pct(a, 2) in html


def test_sweep_tooltip_on_hover_and_keyboard_focus(open_page, charts):
    pg = open_page()
    by_size = {e["layers"][1]: e for e in charts["sweep"]}
    size = 5 if 5 in by_size else min(by_size)
    e = by_size[size]
    pg.hover(f'.nnv-sweep .nnv-pt[data-size="{size}"] .nnv-dot')
    text = visible_tip(pg, ".nnv-sweep")
    assert str(size) in text and pct(e["test_accuracy"], 2) in text and f"{e['params']:,}" in text
    box = pg.locator(".nnv-sweep .nnv-tip").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 1280
    pg.mouse.move(2, 2)
    assert pg.locator(".nnv-sweep .nnv-tip:visible").count() == 0
    # keyboard: focus the largest network's point, then Shift+Tab to the one before it
    sizes = sorted(by_size)
    pg.focus(f'.nnv-sweep .nnv-pt[data-size="{sizes[-1]}"]')
    assert pct(by_size[sizes[-1]]["test_accuracy"], 2) in visible_tip(pg, ".nnv-sweep")
    pg.keyboard.press("Shift+Tab")
    assert pg.evaluate("document.activeElement.dataset.size") == str(sizes[-2])
    assert pct(by_size[sizes[-2]]["test_accuracy"], 2) in visible_tip(pg, ".nnv-sweep")
    pg.keyboard.press("Escape")
    assert pg.locator(".nnv-sweep .nnv-tip:visible").count() == 0


# --------------------------------------------------------------------------- overfit

@pytest.mark.parametrize("lang", ["en", "zh"])
def test_overfit_gap_label_stays_inside_its_chart(open_page, lang):
    """"10.8 个百分点" on one line ran past the right edge of the chart and was cut off."""
    pg = open_page(lang, width=375)
    right = pg.evaluate("""() => [...document.querySelectorAll('.nnv-overfit .nnv-gap text')].map(t => {
        const b = t.getBBox(); return [t.textContent, b.x + b.width, t.ownerSVGElement.viewBox.baseVal.width]; })""")
    assert right and all(r <= w for _, r, w in right), right


def test_overfit_draws_every_epoch_and_marks_the_final_gap(open_page, charts):
    pg = open_page()
    panels = pg.locator(".nnv-overfit svg[data-history]")
    assert panels.count() == len(OVERFIT)
    ticks = []
    caption = pg.inner_text(".nnv-overfit figcaption")
    for k, name in enumerate(OVERFIT):
        h = charts["analysis"][name]["history"]
        svg = panels.nth(k)
        assert svg.get_attribute("data-model") == name
        for view in ("acc", "loss"):
            for series in ("nnv-train", "nnv-test"):
                pts = svg.locator(f".nnv-view-{view} polyline.{series}").get_attribute("points").split()
                assert len(pts) == len(h["epoch"])
        # accuracy is shown first; the last epoch's gap is marked with the build's numbers
        assert svg.locator(".nnv-view-acc").is_visible() and not svg.locator(".nnv-view-loss").is_visible()
        gap = float(svg.locator(".nnv-view-acc .nnv-gap").get_attribute("data-gap"))
        assert gap == pytest.approx(100 * (h["train_acc"][-1] - h["test_acc"][-1]), abs=1e-3)
        assert f"{gap:.1f}" in svg.locator(".nnv-view-acc .nnv-gap").text_content()
        ends = svg.locator(".nnv-view-acc circle.nnv-end")
        y_train, y_test = (float(ends.nth(i).get_attribute("cy")) for i in range(2))
        assert (y_train < y_test) == (h["train_acc"][-1] > h["test_acc"][-1])
        ticks.append(svg.locator(".nnv-view-acc .nnv-tick").all_text_contents())
        assert pct(h["train_acc"][-1]) in caption and pct(h["test_acc"][-1]) in caption
    assert all(t == ticks[0] for t in ticks), "the panels must share their y axis"
    # the switch (radio buttons + CSS) shows the loss curves instead
    pg.click(".nnv-overfit label[for$='-loss']")
    for k in range(len(OVERFIT)):
        assert panels.nth(k).locator(".nnv-view-loss").is_visible()
        assert not panels.nth(k).locator(".nnv-view-acc").is_visible()


EPOCH_XY = """(svg, i) => {
  const n = JSON.parse(svg.dataset.history).epoch.length;
  const x = +svg.dataset.x0 + (+svg.dataset.x1 - +svg.dataset.x0) * i / (n - 1);
  const p = new DOMPoint(x, (+svg.dataset.top + +svg.dataset.bottom) / 2).matrixTransform(svg.getScreenCTM());
  return [p.x, p.y];
}"""


def test_overfit_read_out_follows_pointer_and_arrow_keys(open_page, charts):
    pg = open_page()
    name = OVERFIT[0]
    h = charts["analysis"][name]["history"]
    svg = pg.locator(f'.nnv-overfit svg[data-model="{name}"]')
    svg.scroll_into_view_if_needed()
    i = len(h["epoch"]) // 3
    x, y = svg.evaluate(EPOCH_XY, i)
    pg.mouse.move(x, y)
    text = visible_tip(pg, ".nnv-overfit")
    assert f" {h['epoch'][i]}\n" in text
    assert pct(h["train_acc"][i]) in text and pct(h["test_acc"][i]) in text
    pg.click(".nnv-overfit label[for$='-loss']")
    svg.scroll_into_view_if_needed()
    x, y = svg.evaluate(EPOCH_XY, i)
    pg.mouse.move(x, y)
    text = visible_tip(pg, ".nnv-overfit")
    assert f"{h['train_loss'][i]:.3f}" in text and f"{h['test_loss'][i]:.3f}" in text
    pg.mouse.move(1, 1)
    # keyboard: focus shows the last epoch, Home the first, ArrowRight the next
    svg.focus()
    assert f" {h['epoch'][-1]}\n" in visible_tip(pg, ".nnv-overfit")
    pg.keyboard.press("Home")
    assert f" {h['epoch'][0]}\n" in visible_tip(pg, ".nnv-overfit")
    pg.keyboard.press("ArrowRight")
    text = visible_tip(pg, ".nnv-overfit")
    assert f" {h['epoch'][1]}\n" in text and f"{h['test_loss'][1]:.3f}" in text


# --------------------------------------------------------------------------- lego

LEGO_JS = """figs => figs.map(f => ({
  digit: +f.closest(".nnv-card").dataset.digit,
  kind: f.closest(".nnv-row").classList.contains("nnv-pos") ? "pos" : "neg",
  unit: +f.dataset.unit, weight: +f.dataset.weight, printed: f.querySelector(".nnv-w").textContent,
  src: f.querySelector("img").getAttribute("src"), natural: f.querySelector("img").naturalWidth}))"""


def test_lego_shows_three_positive_and_three_negative_units_per_digit(open_page, charts):
    pg = open_page()
    lego = charts["analysis"][LEGO]["lego"]
    cards = pg.locator(".nnv-lego .nnv-card")
    assert cards.count() == 10
    assert all(cards.nth(d).is_visible() for d in range(10)), "a wide screen shows every digit"
    units = pg.eval_on_selector_all(".nnv-lego .nnv-unit", LEGO_JS)
    assert len(units) == 60
    for d in range(10):
        for kind in ("pos", "neg"):
            shown = [u for u in units if u["digit"] == d and u["kind"] == kind]
            assert [[u["unit"], u["weight"]] for u in shown] == lego[str(d)][kind]
            for u in shown:
                assert (u["weight"] > 0) if kind == "pos" else (u["weight"] < 0)
                assert u["printed"] == ("+" if kind == "pos" else "−") + f"{abs(u['weight']):.2f}"
                assert u["src"].endswith(f"data/{LEGO}/w1/{u['unit']}.png") and u["natural"] == 28
    # the legend's colours are the exporter's (palette.css's 9 stops): blue = negative, white = 0, red = positive
    stops = pg.eval_on_selector_all(".nnv-lego linearGradient stop",
                                    "s => s.map(e => [e.getAttribute('offset'), getComputedStyle(e).stopColor])")
    rgb = export.diverging(np.linspace(-1.0, 1.0, 9))
    assert stops == [[str(k / 8), "rgb(%d, %d, %d)" % tuple(int(c) for c in px)] for k, px in enumerate(rgb)]


def test_lego_selector_shows_one_digit_on_a_phone(open_page):
    pg = open_page(width=375)
    visible = lambda: [d for d in range(10) if pg.locator(f'.nnv-lego .nnv-card[data-digit="{d}"]').is_visible()]
    assert visible() == [0]
    pg.click(".nnv-lego label[for$='-d3']")
    assert visible() == [3]
    pg.keyboard.press("ArrowRight")           # a radio group: arrow keys move the selection
    assert visible() == [4]
    assert pg.evaluate("document.activeElement.value") == "4"
    assert pg.locator(".nnv-lego .nnv-card[data-digit='4'] img").count() == 6


# --------------------------------------------------------------------------- compare

def test_compare_shows_the_same_units_under_each_models_heading(open_page, charts):
    pg = open_page()
    cols = pg.locator(".nnv-compare .nnv-cmp-col")
    assert cols.count() == len(COMPARE)
    tops = []
    for k, name in enumerate(COMPARE):
        e = charts["models"][name]
        col = cols.nth(k)
        assert col.get_attribute("data-model") == name
        head = col.locator(".nnv-cmp-head").inner_text()
        assert pct(e["test_accuracy"]) in head
        assert (f"λ = {e['l2']:g}" in head) if e["l2"] else ("no L2" in head)
        imgs = col.locator(".nnv-unit img")
        assert imgs.count() == UNITS
        assert [col.locator(".nnv-unit").nth(u).get_attribute("data-unit") for u in range(UNITS)] == \
            [str(u) for u in range(UNITS)]
        for u in range(UNITS):
            assert imgs.nth(u).get_attribute("src").endswith(f"data/{name}/w1/{u}.png")
            assert imgs.nth(u).evaluate("i => i.naturalWidth") == 28
        tops.append([imgs.nth(u).bounding_box()["y"] for u in range(UNITS)])
    assert all(t == tops[0] for t in tops), "unit k must sit at the same height in every column"
    heads = [cols.nth(k).locator(".nnv-cmp-head strong").inner_text() for k in range(len(COMPARE))]
    assert len(set(heads)) == len(COMPARE), "each column is headed by its own initialisation"


# --------------------------------------------------------------------------- every chart, every screen

@pytest.mark.parametrize("lang", ["en", "zh"])
def test_no_horizontal_overflow_on_a_phone(open_page, lang):
    pg = open_page(lang=lang, width=375)
    assert pg.evaluate("document.documentElement.scrollWidth") <= 375
    for fig in pg.locator("figure.demo").all():
        box = fig.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375
        assert fig.evaluate("f => f.scrollWidth <= f.clientWidth"), fig.get_attribute("class")


CONTRAST_JS = """els => els.map(e => {
  const rgb = s => s.match(/[\\d.]+/g).slice(0, 4).map(Number);
  const cs = getComputedStyle(e);
  const fg = rgb(e instanceof SVGElement ? cs.fill : cs.color);
  let n = e, bg = null;
  while (n && n.nodeType === 1) {
    const c = rgb(getComputedStyle(n).backgroundColor);
    if (c.length < 4 || c[3] > 0.5) { bg = c; break; }
    n = n.parentElement;
  }
  return [e.getAttribute("class") || e.tagName, fg.slice(0, 3), (bg || [255, 255, 255]).slice(0, 3)];
})"""


def luminance(rgb):
    c = [v / 255 for v in rgb]
    c = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in c]
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_chart_text_is_legible_in_light_and_dark(open_page, scheme):
    pg = open_page(scheme=scheme)
    texts = ".nnv-sweep .nnv-val, .nnv-sweep .nnv-tick, .nnv-sweep .nnv-axis-title, .nnv-overfit .nnv-tick, " \
            ".nnv-overfit .nnv-gap text, .nnv-lego .nnv-w, .nnv-lego .nnv-u, .nnv-compare .nnv-unit span, " \
            ".nnv-compare .nnv-cmp-acc, figure.demo figcaption"
    for cls, fg, bg in pg.eval_on_selector_all(texts, CONTRAST_JS):
        hi, lo = sorted((luminance(fg), luminance(bg)), reverse=True)
        assert (hi + 0.05) / (lo + 0.05) >= 4.5, f"{scheme}: {cls} {fg} on {bg}"
    if scheme == "dark":
        bg = pg.evaluate("getComputedStyle(document.body).backgroundColor")
        assert luminance([float(v) for v in bg[bg.index("(") + 1:-1].split(",")[:3]]) < 0.1


@pytest.mark.parametrize("width", [1280, 375])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots(open_page, width, scheme, tmp_path):
    """Full-page screenshots for a person to look at; saved to $NNVIZ_SCREENSHOTS if set."""
    folder = Path(os.environ.get("NNVIZ_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    for lang in ("en", "zh"):
        pg = open_page(lang=lang, width=width, scheme=scheme)
        path = folder / f"charts-{lang}-{width}-{scheme}.png"
        pg.screenshot(path=str(path), full_page=True)
        with Image.open(path) as im:
            shot = np.asarray(im.convert("RGB"))
        assert shot.shape[1] == width and shot.shape[0] >= pg.evaluate("document.documentElement.scrollHeight")
        colours, counts = np.unique(shot.reshape(-1, 3), axis=0, return_counts=True)
        bg = pg.evaluate("getComputedStyle(document.body).backgroundColor")
        body = [int(float(v)) for v in bg[bg.index("(") + 1:-1].split(",")[:3]]
        share = counts[(np.abs(colours - body).max(1) <= 2)].sum() / counts.sum()
        assert share > 0.25, f"{path.name}: only {share:.0%} of the pixels are the page background {body}"
        assert len(colours) > 200, f"{path.name}: only {len(colours)} colours: the charts did not draw"


# --------------------------------------------------------------------------- wrong directives

@pytest.mark.parametrize("directive, message", [
    (f"::: demo compare models={COMPARE[0]} units=9999", "units=9999: the smallest hidden layer here has only"),
    (f"::: demo compare models={COMPARE[0]} units=0,9999", "unit 9999 does not exist"),
    ("::: demo compare units=8", "needs models="),
    ("::: demo sweep models=mnist-sweep-h2,no-such-model", "unknown model 'no-such-model'"),
    ("::: demo lego", "needs model="),
    (f"::: demo overfit models={REFERENCE}", "no per-epoch test curves"),
])
def test_wrong_directives_fail_the_build_with_file_and_line(charts, tmp_path, directive, message):
    """Strict mode: a partial's fail(...) becomes a build error naming the chapter line."""
    from nnviz.render import BuildError
    root, out = tmp_path / "root", tmp_path / "out"
    (root / "chapters" / "en").mkdir(parents=True)
    (root / "chapters" / "en" / "bad.md").write_text(chapter("Bad", ["Some text.", directive]), encoding="utf-8")
    for name in ("templates", "demos", "static"):
        (root / name).symlink_to(REPO / name, target_is_directory=True)
    out.mkdir()
    (out / "data").symlink_to(charts["root"] / "data", target_is_directory=True)
    context = context_from_site(charts["root"] / "data")
    with pytest.raises(BuildError) as err:
        render_site(root, out, context, strict=True, progress=lambda *a: None)
    assert "chapters/en/bad.md:7:" in str(err.value) and message in str(err.value)
