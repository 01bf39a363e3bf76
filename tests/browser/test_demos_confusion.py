"""The analysis demos confusion, topgrid, mistakes and diffmatrix, in real Chromium.

They are rendered by the real renderer (render_site) from the real build's exports: the context is
rebuilt from <site>/data (models.json, <model>/analysis.json, compare/...), a chapter holding only
these directives is rendered into a temp folder next to a link to <site>/data, and that folder is
served on 127.0.0.1 with the site's CSP. So the tests do not depend on the chapter's prose, and
every number they check comes from the build (never typed in here).

Needs a built site ($NNVIZ_SITE or <repo>/site; skipped locally without one, a failure under CI).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import assert_all_local, chapter, context_from_site, serve_folder  # tests/browser/conftest.py
from nnviz.render import render_site

REPO = Path(__file__).resolve().parents[2]
SOFTMAX, HIDDEN, FASHION = "mnist-softmax", "mnist-h10", "fashion-softmax"
COMPARE = f"compare/{SOFTMAX}__{HIDDEN}.json"
TOP = 16          # the panel's promise: the cell's min(count, 16) most confident images


# --------------------------------------------------------------------------- the page under test

def load_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def demo_site(site_dir, tmp_path_factory, missing):
    """A site with en/demos.html and zh/demos.html holding only these demos, over the real data."""
    data = site_dir / "data"
    needed = ["models.json", f"{SOFTMAX}/analysis.json", f"{SOFTMAX}/cell-means.png",
              "mnist/samples.json", "mnist/samples.png", COMPARE]
    absent = [p for p in needed if not (data / p).is_file()]
    if absent:
        missing(f"{site_dir} lacks data/{', data/'.join(absent)} (run `make site`)")
    context = context_from_site(data)
    directives = [f"::: demo confusion model={SOFTMAX}"]
    if FASHION in context["data"]["analysis"]:
        directives.append(f"::: demo confusion model={FASHION}")
    directives += [f"::: demo topgrid model={SOFTMAX}", f"::: demo mistakes model={SOFTMAX}",
                   "::: demo diffmatrix"]
    if FASHION in context["data"]["analysis"]:
        directives.append(f"::: demo mistakes model={FASHION}")
    base = tmp_path_factory.mktemp("demos-confusion")
    root, out = base / "root", base / "out"
    for lang, title in (("en", "Analysis demos"), ("zh", "分析演示")):
        (root / "chapters" / lang).mkdir(parents=True)
        (root / "chapters" / lang / "demos.md").write_text(chapter(title, directives), encoding="utf-8")
    for name in ("templates", "demos", "static"):
        (root / name).symlink_to(REPO / name, target_is_directory=True)
    out.mkdir()
    (out / "data").symlink_to(data.resolve(), target_is_directory=True)
    render_site(root, out, context, strict=True, progress=lambda *a: None)
    return {"root": out, "context": context, "fashion": FASHION in context["data"]["analysis"]}


@pytest.fixture(scope="module")
def demo_server(demo_site):
    with serve_folder(demo_site["root"]) as url:
        yield url


@pytest.fixture
def open_page(browser, demo_server):
    """open_page(lang="en", width=1280, scheme="light", touch=False) -> a loaded page; after the
    test, every request must have stayed on 127.0.0.1 and the page must have logged no error."""
    contexts, requests, errors = [], [], []

    def open_(lang="en", width=1280, scheme="light", touch=False):
        ctx = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme,
                                  has_touch=touch, is_mobile=touch)
        contexts.append(ctx)
        ctx.on("request", lambda r: requests.append(r.url))
        pg = ctx.new_page()
        pg.set_default_timeout(20_000)
        pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.goto(f"{demo_server}{lang}/demos.html")
        bring_each_near(pg)
        return pg

    yield open_
    for ctx in contexts:
        ctx.close()
    assert_all_local(requests)
    assert not errors, errors


READY = {"demo-confusion": "cm-ready", "demo-topgrid": "tg-ready", "demo-mistakes": "mk-ready",
         "demo-diffmatrix": "dm-ready"}


def bring_each_near(pg):
    """Scroll to each analysis figure in turn until its pictures are in (they load once near the
    viewport), then back to the top."""
    for demo, ready in READY.items():
        figs = pg.locator(f"figure.{demo}")
        for k in range(figs.count()):
            figs.nth(k).scroll_into_view_if_needed()
            pg.wait_for_function("(f) => f.classList.contains('%s')" % ready, arg=figs.nth(k).element_handle())
    pg.evaluate("() => window.scrollTo(0, 0)")


# each analysis figure of the page: which demo, how far, how tall, whether its pictures are in
ANALYSIS_FIGS = """(margin) => [...document.querySelectorAll('figure.demo')].map((f) => ({
    demo: [...f.classList].find((c) => /^demo-(confusion|topgrid|mistakes|diffmatrix)$/.test(c)),
    model: f.dataset.model || '', far: f.getBoundingClientRect().top > innerHeight + margin,
    canvases: f.querySelectorAll('canvas').length, height: f.getBoundingClientRect().height,
    ready: [...f.classList].some((c) => /-ready$/.test(c))})).filter((f) => f.demo)"""


def test_far_figures_load_their_pictures_when_near_and_keep_their_size(browser, demo_server):
    """A figure far below the viewport fetches nothing; brought near, it loads. The top-grid and
    mistakes figures are as tall before their pictures come as after (the squares are reserved)."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        requests = []
        ctx.on("request", lambda r: requests.append(r.url))
        pg = ctx.new_page()
        pg.goto(f"{demo_server}en/demos.html")
        pg.wait_for_function("() => document.querySelector('figure.demo-confusion').classList.contains('cm-ready')")
        margin = pg.evaluate(f"async () => (await import('{demo_server}static/js/samples.js')).ANALYSIS_MARGIN")
        assert 300 <= margin <= 2000, margin
        pg.evaluate("() => new Promise((r) => setTimeout(r, 300))")    # every observer has answered
        figs = pg.evaluate(ANALYSIS_FIGS, margin)
        far = [f for f in figs if f["far"]]
        assert any(f["demo"] == "demo-diffmatrix" for f in far), figs
        for f in far:
            assert not f["ready"] and not f["canvases"], f"{f['demo']} {f['model']} loaded while far: {f}"
        assert not [u for u in requests if u.endswith(COMPARE)], "the diff matrix's data came while it was far"
        bring_each_near(pg)
        assert [u for u in requests if u.endswith(COMPARE)]
        after = pg.evaluate(ANALYSIS_FIGS, margin)
        assert [f["demo"] for f in after] == [f["demo"] for f in figs]
        for f, a in zip(figs, after):
            if f["demo"] in ("demo-topgrid", "demo-mistakes"):
                assert abs(a["height"] - f["height"]) < 1, f"{f['demo']} {f['model']} grew from {f['height']} to {a['height']} px"
    finally:
        ctx.close()


# --------------------------------------------------------------------------- helpers

def analysis(demo_site, model=SOFTMAX):
    return demo_site["context"]["data"]["analysis"][model]


def cm_figure(page, model=SOFTMAX):
    return page.locator(f'figure.demo-confusion[data-model="{model}"]')


def panel_state(fig):
    return fig.evaluate("""f => {
      const p = f.querySelector('.cm-panel');
      const items = sel => [...p.querySelectorAll(sel + ' .cm-item')].map(li => ({
        index: +li.dataset.index, prob: +li.dataset.prob,
        drawn: (() => { const c = li.querySelector('canvas');
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          return d.some((v, k) => k % 4 !== 3 && v > 0); })() }));
      const h = p.querySelector('.cm-heading'), n = h.querySelector('.cm-n');
      return {cell: p.dataset.cell, heading: p.querySelector('.cm-heading').textContent,
              count: +h.dataset.count, shownCount: n ? +n.dataset.count : null, top: items('.cm-top'), least: items('.cm-least'),
              topHidden: p.querySelector('.cm-top').hidden,
              mean: !!p.querySelector('.cm-mean:not([hidden]) canvas'),
              overflow: [p.scrollWidth, p.clientWidth]};
    }""")


def check_panel(state, a, i, j):
    key = f"{i},{j}"
    count = a["confusion"][i][j]
    assert state["cell"] == key
    assert state["count"] == count, state["heading"]
    assert state["shownCount"] == (count or None), state["heading"]
    cell = a["cells"].get(key, {"top": [], "least": []})
    probs = [it["prob"] for it in state["top"]]
    assert len(state["top"]) == min(count, TOP)
    assert probs == sorted(probs, reverse=True)
    assert [it["index"] for it in state["top"]] == [t for t, _ in cell["top"]]
    assert all(it["drawn"] for it in state["top"] + state["least"])
    top_ids = {it["index"] for it in state["top"]}
    assert [it["index"] for it in state["least"]] == [t for t, _ in cell["least"] if t not in top_ids]
    assert state["mean"] == (count > 0)
    assert state["overflow"][0] <= state["overflow"][1]


def cells_by_count(a):
    """Cells worth checking: the biggest mistake (>16 images), a small one, a diagonal, an empty one."""
    cm = a["confusion"]
    off = sorted(((cm[i][j], i, j) for i in range(10) for j in range(10) if i != j), reverse=True)
    picks = [off[0][1:], (3, 3)]
    small = [c for c in off if 1 <= c[0] < TOP]
    empty = [c for c in off if c[0] == 0]
    picks += [small[0][1:]] if small else []
    picks += [empty[0][1:]] if empty else []
    return picks


# --------------------------------------------------------------------------- confusion

def test_confusion_table_is_the_builds_matrix(open_page, demo_site):
    a = analysis(demo_site)
    fig = cm_figure(open_page())
    table = fig.evaluate("""f => [...f.querySelectorAll('tbody tr')].map(tr =>
        [...tr.querySelectorAll('td.cm-cell')].map(td => +td.dataset.count))""")
    assert table == a["confusion"]
    recall = fig.evaluate("f => [...f.querySelectorAll('tbody td.cm-margin')].map(td => td.textContent.trim())")
    precision = fig.evaluate("f => [...f.querySelectorAll('tfoot td.cm-margin')].map(td => td.textContent.trim())")
    assert recall == [f"{100 * r:.1f}" for r in a["recall"]]
    assert precision == [f"{100 * p:.1f}" for p in a["precision"]] + [f"{100 * a['test_accuracy']:.1f}"]
    caption = fig.locator("caption").inner_text()
    # the model by its reader-facing name (templates/i18n.toml, exported in models.json), never its id
    title = demo_site["context"]["models"][SOFTMAX]["title"]["en"]
    assert title in caption and SOFTMAX not in caption and f"{100 * a['test_accuracy']:.2f}%" in caption
    diag = fig.evaluate("f => [...f.querySelectorAll('td.cm-diag')].map(td => td.dataset.i + ',' + td.dataset.j)")
    assert diag == [f"{i},{i}" for i in range(10)]


def test_confusion_hover_shows_the_cells_images_by_descending_probability(open_page, demo_site):
    a = analysis(demo_site)
    page = open_page()
    fig = cm_figure(page)
    for i, j in cells_by_count(a):
        fig.locator(f'td.cm-cell[data-i="{i}"][data-j="{j}"]').hover()
        page.wait_for_function(
            f"document.querySelector('figure.demo-confusion[data-model=\"{SOFTMAX}\"] .cm-panel').dataset.cell === '{i},{j}'")
        check_panel(panel_state(fig), a, i, j)


def test_confusion_keyboard_moves_focus_and_selects(open_page, demo_site):
    a = analysis(demo_site)
    page = open_page()
    fig = cm_figure(page)
    fig.locator('td.cm-cell[data-i="0"][data-j="0"]').focus()
    active = "() => { const e = document.activeElement; return e.dataset.i + ',' + e.dataset.j; }"
    assert page.evaluate(active) == "0,0"
    for key, want in (("ArrowRight", "0,1"), ("ArrowDown", "1,1"), ("ArrowDown", "2,1"), ("ArrowLeft", "2,0"),
                      ("ArrowLeft", "2,0"), ("ArrowUp", "1,0"), ("End", "1,9"), ("Home", "1,0")):
        page.keyboard.press(key)
        assert page.evaluate(active) == want, key
        assert fig.evaluate("f => f.querySelectorAll('td.cm-cell[tabindex=\"0\"]').length") == 1
        assert fig.evaluate("f => f.querySelector('td.cm-cell[tabindex=\"0\"]') === document.activeElement")
        check_panel(panel_state(fig), a, *map(int, want.split(",")))
    # Tab leaves the grid in one step and Shift+Tab comes back to the same cell
    page.keyboard.press("Tab")
    assert fig.evaluate("f => !f.querySelector('table').contains(document.activeElement)")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(active) == "1,0"
    page.keyboard.press("Enter")
    assert fig.evaluate("f => f.querySelector('td.cm-selected').dataset.j") == "0"


def test_confusion_tap_on_a_phone_shows_the_cell_below_the_table(open_page, demo_site):
    a = analysis(demo_site)
    page = open_page(width=375, touch=True)
    fig = cm_figure(page)
    i, j = cells_by_count(a)[0]
    fig.locator(f'td.cm-cell[data-i="{i}"][data-j="{j}"]').tap()
    check_panel(panel_state(fig), a, i, j)
    box = lambda sel: fig.locator(sel).bounding_box()
    assert box(".cm-panel")["y"] >= box("table.cm")["y"] + box("table.cm")["height"]
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_confusion_panel_sits_beside_the_table_on_desktop(open_page):
    fig = cm_figure(open_page(width=1280))
    table, panel = fig.locator("table.cm").bounding_box(), fig.locator(".cm-panel").bounding_box()
    assert panel["x"] >= table["x"] + table["width"]
    assert panel["y"] < table["y"] + table["height"] / 2


def test_fashion_confusion_uses_short_class_names(open_page, demo_site, missing):
    if not demo_site["fashion"]:
        missing(f"this build has no {FASHION}")
    a = analysis(demo_site, FASHION)
    classes = demo_site["context"]["models"][FASHION]["classes"]
    page = open_page()
    fig = cm_figure(page, FASHION)
    heads = fig.evaluate("f => [...f.querySelectorAll('thead th.cm-col:not(.cm-margin)')].map(th => th.textContent.trim())")
    assert len(heads) == len(classes)
    assert all(len(h) <= len(c) for h, c in zip(heads, classes)) and heads != classes
    assert fig.evaluate("f => [...f.querySelectorAll('thead th.cm-col')].map(th => th.title)")[:10] == classes
    i, j = cells_by_count(a)[0]
    fig.locator(f'td.cm-cell[data-i="{i}"][data-j="{j}"]').click()
    state = panel_state(fig)
    check_panel(state, a, i, j)
    assert heads[i] in state["heading"] and heads[j] in state["heading"]


# --------------------------------------------------------------------------- topgrid

def test_topgrid_shows_the_surest_image_of_every_cell(open_page, demo_site):
    a = analysis(demo_site)
    page = open_page()
    fig = page.locator("figure.demo-topgrid")
    cells = fig.evaluate("""f => [...f.querySelectorAll('td.tg-cell')].map(td => ({
        key: td.dataset.i + ',' + td.dataset.j, index: td.dataset.index === undefined ? null : +td.dataset.index,
        canvas: !!td.querySelector('canvas'), empty: td.classList.contains('tg-empty')}))""")
    assert len(cells) == 100
    for c in cells:
        cell = a["cells"].get(c["key"])
        assert c["empty"] == (cell is None) and c["canvas"] == (cell is not None)
        if cell:
            assert c["index"] == cell["top"][0][0]
    key = max(a["cells"], key=lambda k: (a["cells"][k]["count"] if k[0] != k[-1] else -1))
    i, j = key.split(",")
    fig.locator(f'td.tg-cell[data-i="{i}"][data-j="{j}"]').hover()
    p = a["cells"][key]["top"][0][1]
    readout = fig.locator(".tg-readout").inner_text()
    shown = re.findall(r"[<>]?\d+(?:\.\d+)?%", readout)
    assert any(shows_percent(t, p, digits=1) for t in shown), f"{readout!r} does not state p = {p}"
    assert f"{a['cells'][key]['count']:,}" in readout
    # keyboard: focus moves by arrow keys and the readout follows
    fig.locator('td.tg-cell[data-i="0"][data-j="0"]').focus()
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.dataset.j") == "1"
    assert fig.locator(".tg-readout").inner_text() == fig.locator('td.tg-cell[data-i="0"][data-j="1"]').get_attribute("aria-label")


# --------------------------------------------------------------------------- mistakes

def test_mistakes_galleries_come_from_the_analysis(open_page, demo_site):
    a = analysis(demo_site)
    page = open_page()
    fig = page.locator(f"figure.demo-mistakes").first
    for kind in ("near", "glaring"):
        rows = a["mistakes"][kind]
        assert rows, f"the build found no {kind} mistakes"
        items = fig.evaluate(f"""f => [...f.querySelectorAll('.mk-{kind} .mk-item')].map(li => ({{
            index: +li.dataset.index, label: li.querySelector('.mk-labels').textContent.replace(/\\s+/g, ' ').trim(),
            p: li.querySelector('.mk-p').textContent, pt: li.querySelector('.mk-pt')?.textContent ?? null,
            visible: !li.hidden,
            canvas: !!li.querySelector('canvas')}}))""")
        assert [it["index"] for it in items] == [r["index"] for r in rows]
        for it, r in zip(items, rows):
            assert it["label"] == f"{r['true']} → {r['pred']}" and it["canvas"]
            assert shows_percent(it["p"], r["p_pred"]), (it["p"], r["p_pred"])
            if kind == "near":                 # a near miss also shows how close the true class came
                assert shows_percent(it["pt"].rsplit(" ", 1)[-1], r["p_true"]), (it["pt"], r["p_true"])
        assert any(it["visible"] for it in items)
        button = fig.locator(f".mk-{kind} button.mk-more")
        if button.count():
            hidden = sum(not it["visible"] for it in items)
            assert hidden > 0
            button.click()
            assert fig.evaluate(f"f => [...f.querySelectorAll('.mk-{kind} .mk-item')].every(li => !li.hidden)")
    # the order a reader sees: glaring most confident first, near misses closest first
    glaring, near = a["mistakes"]["glaring"], a["mistakes"]["near"]
    assert [r["p_pred"] for r in glaring] == sorted((r["p_pred"] for r in glaring), reverse=True)
    gaps = [r["p_pred"] - r["p_true"] for r in near]
    assert all(g2 >= g1 - 1e-6 for g1, g2 in zip(gaps, gaps[1:]))


def shows_percent(text, p, digits=2):
    """Does `text` ("12.34%", ">99.99%", "<0.01%") state probability p to `digits` decimals of a percent?"""
    m = re.fullmatch(r"([<>]?)(\d+(?:\.\d+)?)%", text.strip())
    if not m:
        return False
    value = float(m.group(2)) / 100
    if m.group(1) == ">":
        return value < p < 1
    if m.group(1) == "<":
        return 0 < p < value
    return abs(value - p) <= 0.5 * 10 ** -(digits + 2) + 1e-9


def test_mistakes_side_by_side_on_desktop_and_stacked_on_phones(open_page):
    for width, side in ((1280, True), (375, False)):
        fig = open_page(width=width).locator("figure.demo-mistakes").first
        near, glaring = fig.locator(".mk-near").bounding_box(), fig.locator(".mk-glaring").bounding_box()
        assert (glaring["x"] >= near["x"] + near["width"]) == side
        assert (glaring["y"] >= near["y"] + near["height"]) == (not side)


# --------------------------------------------------------------------------- diffmatrix

def test_diffmatrix_lists_the_images_fixed_and_broken_in_a_cell(open_page, demo_site):
    cmp = demo_site["context"]["data"]["compare"]
    page = open_page()
    fig = page.locator("figure.demo-diffmatrix")
    table = fig.evaluate("""f => [...f.querySelectorAll('tbody tr')].map(tr =>
        [...tr.querySelectorAll('td.dm-cell')].map(td => +td.dataset.diff))""")
    assert table == cmp["diff"]
    totals = fig.locator(".dm-totals").inner_text()
    assert f"{cmp['fixed']:,}" in totals and f"{cmp['broke']:,}" in totals
    # an off-diagonal cell with both kinds, then a diagonal cell (all wrong answers of its class)
    key = max(cmp["cells"], key=lambda k: (min(len(cmp["cells"][k]["fixed"]), len(cmp["cells"][k]["broke"])), k))
    i, j = map(int, key.split(","))
    targets = [(i, j), (i, i)]
    for how, (ci, cj) in zip(("click", "keyboard"), targets):
        cell = fig.locator(f'td.dm-cell[data-i="{ci}"][data-j="{cj}"]')
        if how == "click":
            cell.click()
        else:
            cell.focus()
            page.keyboard.press("Enter")
        page.wait_for_function(
            f"document.querySelector('figure.demo-diffmatrix .dm-panel').dataset.cell === '{ci},{cj}'")
        for kind in ("fixed", "broke"):
            want = sorted(t for k, c in cmp["cells"].items() for t in c[kind]
                          if int(k.split(",")[0]) == ci and (ci == cj or int(k.split(",")[1]) == cj))
            got = fig.evaluate(f"""f => [...f.querySelectorAll('.dm-{kind} .dm-item')].map(li =>
                ({{index: +li.dataset.index, kind: li.dataset.kind, canvas: !!li.querySelector('canvas')}}))""")
            assert sorted(g["index"] for g in got) == want
            assert all(g["kind"] == kind and g["canvas"] for g in got)
        assert fig.evaluate("f => { const p = f.querySelector('.dm-panel'); return p.scrollWidth <= p.clientWidth; }")


# --------------------------------------------------------------------------- both languages, phones, dark mode

@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_horizontal_overflow_at_375px(open_page, lang, scheme):
    page = open_page(lang=lang, width=375, scheme=scheme)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    boxes = page.evaluate("""[...document.querySelectorAll('.cm-table-box, .dm-table-box, table.tg, .mk-layout')]
        .map(b => [b.className, b.scrollWidth, b.clientWidth])""")
    assert boxes and all(sw <= cw for _, sw, cw in boxes), boxes


def test_chinese_page_speaks_chinese(open_page, demo_site):
    a = analysis(demo_site)
    page = open_page(lang="zh")
    fig = cm_figure(page)
    i, j = cells_by_count(a)[0]
    fig.locator(f'td.cm-cell[data-i="{i}"][data-j="{j}"]').click()
    assert "被认成" in fig.locator(".cm-heading").inner_text()
    assert "测试准确率" in fig.locator("caption").inner_text()
    assert "改对" in page.locator("figure.demo-diffmatrix .dm-totals").inner_text()
    assert page.locator("figure.demo-mistakes h4").first.inner_text() == "险些答对"
