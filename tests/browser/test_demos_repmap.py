"""The representation map (demos/repmap) in real Chromium, on the built site: a test image's dot is
where CPython's forward pass puts it and the region under it is the network's answer; the reader's
drawing is placed as demos/repmap/adapter.py places it in CPython; filters, keyboard, touch, 375 px,
dark mode and the Chinese page. One page per module where the tests only read."""
from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import page_opener, serve_folder
from nnviz import forward
from test_repmap import load_adapters      # demos/draw and demos/repmap adapters as nnviz.demos.*

FIG = "figure.repmap"
PLANE, WIDE = "mnist-map-h2", "mnist-h30"
PAGE = "{lang}/looking-inside.html"


@pytest.fixture(scope="module")
def served(site_dir, missing):
    if not (site_dir / "data" / "repmap" / f"{PLANE}.json").is_file():
        missing(f"{site_dir} has no data/repmap/{PLANE}.json (build the site)")
    with serve_folder(site_dir) as url:
        yield url


@pytest.fixture(scope="module")
def opener(browser, served):
    with page_opener(browser, served) as open_:
        yield open_


def open_map(open_, lang="en", runtime=False, **options):
    pg = open_(PAGE.format(lang=lang), **options)
    pg.locator(FIG).scroll_into_view_if_needed()
    pg.wait_for_selector(f"{FIG}[data-ready='1']")
    if runtime:
        pg.wait_for_function("() => document.documentElement.dataset.runtime === 'ready'")
    return pg


@pytest.fixture(scope="module")
def en(opener):
    return open_map(opener, runtime=True, viewport={"width": 1280, "height": 1000})


@pytest.fixture(scope="module")
def cpython(site_dir, real_dataset):
    """Both networks' hidden values, answers and the exported view ranges, in CPython."""
    ds = real_dataset("mnist")
    x = ds.x_test.reshape(len(ds.x_test), -1).astype(np.float64) / 255.0
    out = {"y": ds.y_test.astype(int), "x": x}
    for name in (PLANE, WIDE):
        m = forward.load(site_dir / "data" / "models" / f"{name}.npz")
        acts = forward.forward(m, x)
        man = json.loads((site_dir / "data" / "repmap" / f"{name}.json").read_text())
        pts = acts[0] if man["view"] == "plane" else (acts[0] - np.asarray(man["mean"])) @ np.asarray(man["components"]).T
        lo, span = np.array([r[0] for r in man["range"]]), np.array([r[1] - r[0] for r in man["range"]])
        out[name] = {"model": m, "man": man, "points": pts, "uv": (pts - lo) / span, "pred": acts[-1].argmax(1)}
    return out


def isolated(view, gap=0.015, limit=3000):
    """The first test image whose dot has no other dot within `gap` (view units) and whose answer
    is also the output layer's answer a little way around it (far from a region border)."""
    uv, man, m = view["uv"], view["man"], view["model"]
    for t in range(limit):
        d = np.hypot(*(uv - uv[t]).T)
        d[t] = np.inf
        if d.min() < gap or not (0.03 < uv[t].min() and uv[t].max() < 0.97):
            continue
        if man["regions"]:           # the grid cells around it all give the network's answer
            g, (x0, x1), (y0, y1) = man["regions"]["size"], *man["range"]
            col, row = np.floor(uv[t][0] * g), np.floor((1 - uv[t][1]) * g)
            near = np.array([[x0 + (col + dc + 0.5) * (x1 - x0) / g, y1 - (row + dr + 0.5) * (y1 - y0) / g]
                             for dr in range(-2, 3) for dc in range(-2, 3)])
            if set((near @ m.weights[1] + m.biases[1]).argmax(1).tolist()) != {int(view["pred"][t])}:
                continue
        return t
    raise AssertionError("no isolated dot among the first test images")


def client_of(pg, uv):
    box = pg.locator(f"{FIG} .repmap-overlay").bounding_box()
    return box["x"] + uv[0] * box["width"], box["y"] + (1 - uv[1]) * box["height"]


def hover(pg, uv):
    pg.locator(f"{FIG} .repmap-overlay").scroll_into_view_if_needed()
    pg.mouse.move(*client_of(pg, uv))
    return int(pg.locator(FIG).get_attribute("data-focus"))


def set_view(pg, view):
    pg.locator(f"{FIG} [data-view='{view}']").click()
    pg.wait_for_selector(f"{FIG}[data-view='{view}']")


# --------------------------------------------------------------------------- dots and regions

def test_a_test_images_dot_is_where_cpython_puts_it_and_its_region_is_the_answer(en, cpython):
    view = cpython[PLANE]
    t = isolated(view)
    decoded = en.evaluate(f"() => {{ const m = document.querySelector('{FIG}').repmap.maps.plane; return [m.x[{t}], m.y[{t}]]; }}")
    span = np.array([r[1] - r[0] for r in view["man"]["range"]])
    assert (np.abs(np.array(decoded) - view["points"][t]) <= span / view["man"]["levels"]).all(), \
        f"image {t}: the page has it at {decoded}, CPython at {view['points'][t]}"
    set_view(en, "plane")
    assert hover(en, view["uv"][t]) == t, f"the pointer at CPython's point for image {t} picked another dot"
    m = view["model"]
    answer = int(np.argmax(view["points"][t] @ m.weights[1] + m.biases[1]))     # the output layer at that point
    assert answer == view["pred"][t]
    text = en.locator(f"{FIG} .repmap-card-text")
    assert int(text.get_attribute("data-region")) == answer, "the region under the dot is not the network's answer"
    words = text.inner_text()
    assert f"a {cpython['y'][t]}." in words and f"says {answer}." in words, words
    en.wait_for_function(f"() => document.querySelector('{FIG} .repmap-card-img').dataset.index === '{t}'")


def test_the_region_under_every_dot_is_the_output_layers_answer_for_its_grid_cell(en, cpython):
    """All 10,000 dots: the page's region under each dot == CPython's output layer at the centre of
    the grid cell holding it (and that is the network's own answer for most of them)."""
    view, m = cpython[PLANE], cpython[PLANE]["model"]
    page = np.array(en.evaluate(f"""async () => {{
        const {{regionAt}} = await import(new URL('../static/demos/repmap/map.js', location.href).href);
        const map = document.querySelector('{FIG}').repmap.maps.plane;
        return Array.from({{length: map.n}}, (_, i) => regionAt(map, map.u[i], map.v[i])); }}"""))
    g, ((x0, x1), (y0, y1)) = view["man"]["regions"]["size"], view["man"]["range"]
    q = np.round(view["uv"] * view["man"]["levels"]) / view["man"]["levels"]     # the page's quantised dots
    col, row = np.minimum((q[:, 0] * g).astype(int), g - 1), np.minimum(((1 - q[:, 1]) * g).astype(int), g - 1)
    centres = np.stack([x0 + (col + 0.5) * (x1 - x0) / g, y1 - (row + 0.5) * (y1 - y0) / g], 1)
    want = (centres @ m.weights[1] + m.biases[1]).argmax(1)
    assert (page == want).mean() > 0.999, f"{(page != want).sum()} dots show another cell's region"
    assert (page == view["pred"]).mean() > 0.97, "the regions under the dots disagree with the network's answers"


def test_pca_view_puts_the_dot_at_the_projection_of_the_wide_hidden_layer(en, cpython):
    view = cpython[WIDE]
    t = isolated(view)
    set_view(en, "pca")
    try:
        assert hover(en, view["uv"][t]) == t
        assert en.locator(f"{FIG} .repmap-card-text").get_attribute("data-region") == "", "the PCA view has no regions"
        note = en.locator(f"{FIG} .repmap-note").inner_text()
        assert view["man"]["hidden"] == 30 and "30" in note and "no coloured areas" in note
    finally:
        set_view(en, "plane")


def test_filters_show_one_class_or_only_the_mistakes(en, cpython):
    fig, y, pred = en.locator(FIG), cpython["y"], cpython[PLANE]["pred"]
    count = lambda: en.evaluate(f"() => document.querySelector('{FIG}').repmap.index.count")
    try:
        fig.locator("[data-control='class']").select_option("4")
        assert count() == int((y == 4).sum())
        fig.locator("[data-control='mistakes']").check()
        assert count() == int(((y == 4) & (pred != 4)).sum())
        wrong4 = np.flatnonzero((y == 4) & (pred != 4))
        right = int(np.flatnonzero((y == 4) & (pred == 4))[0])
        # a hidden dot cannot be picked: the pointer on a correctly read 4 picks a mistake or nothing
        got = hover(en, cpython[PLANE]["uv"][right])
        assert got == -1 or got in set(wrong4.tolist())
        fig.locator("[data-control='class']").select_option("")
        assert count() == int((pred != y).sum())
        assert f"{count():,}" in fig.locator(".repmap-count").inner_text()
    finally:
        fig.locator("[data-control='mistakes']").uncheck()
        fig.locator("[data-control='class']").select_option("")
    assert count() == len(y)


def test_keyboard_steps_through_the_dots(en, cpython):
    uv = cpython[PLANE]["uv"]
    o = en.locator(f"{FIG} .repmap-overlay")
    o.focus()
    en.keyboard.press("Home")
    focus = lambda: int(en.locator(FIG).get_attribute("data-focus"))
    assert focus() == 0
    for key, axis, sign in (("ArrowRight", 0, 1), ("ArrowUp", 1, 1), ("ArrowLeft", 0, -1), ("ArrowDown", 1, -1)):
        before = focus()
        en.keyboard.press(key)
        after = focus()
        assert after != before, f"{key} did not move"
        step = uv[after] - uv[before]
        assert sign * step[axis] > 0 and abs(step[axis]) >= abs(step[1 - axis]) * 0.5, f"{key} went {step}"
    assert "Test image" in en.locator(f"{FIG} .repmap-card-text").inner_text()
    en.keyboard.press("Escape")
    assert focus() == -1


# --------------------------------------------------------------------------- the reader's drawing

def stroke(pg, points):
    """A mouse stroke through `points` (grid units 0..28) on the pad; returns the placed drawing."""
    located = int(pg.locator(FIG).get_attribute("data-located") or 0)
    box = pg.locator(f"{FIG} .repmap-grid").bounding_box()
    at = lambda p: (box["x"] + p[0] / 28 * box["width"], box["y"] + p[1] / 28 * box["height"])
    pg.mouse.move(*at(points[0]))
    pg.mouse.down()
    for p in points[1:]:
        pg.mouse.move(*at(p))
    pg.mouse.up()
    pg.wait_for_function(f"() => +document.querySelector('{FIG}').dataset.located > {located}")
    pg.wait_for_function(f"() => {{ const r = document.querySelector('{FIG}').repmap; return !r.busy && r.you && r.you.seq === r.seq; }}")
    return pg.evaluate(f"() => document.querySelector('{FIG}').repmap.you")


def test_drawing_moves_the_point_to_where_cpython_places_the_drawing(en, cpython):
    _, adapter = load_adapters()
    wide = cpython[WIDE]
    en.locator(f"{FIG} [data-action='clear']").click()
    first = stroke(en, [(14, 4 + k) for k in range(0, 21, 2)])                  # a 1
    second = stroke(en, [(8 + k, 6) for k in range(0, 13, 2)])                   # a bar on top: a 7?
    for you in (first, second):
        want = adapter.locate(cpython[PLANE]["model"], wide["model"], wide["man"]["mean"], wide["man"]["components"], you["pixels"])
        np.testing.assert_allclose(you["plane"], want["plane"], atol=1e-9)
        np.testing.assert_allclose(you["pca"], want["pca"], atol=1e-9)
        assert you["plane_pred"] == want["plane_pred"] and you["pca_pred"] == want["pca_pred"]
    assert np.hypot(*(np.array(first["plane"]) - second["plane"])) > 1e-3, "the point did not move"
    text = en.locator(f"{FIG} .repmap-you").inner_text()
    assert f"says {second['plane_pred']}" in text
    en.locator(f"{FIG} [data-action='undo']").click()
    en.wait_for_function(f"() => {{ const r = document.querySelector('{FIG}').repmap; return !r.busy && r.you && r.you.seq === r.seq; }}")
    back = en.evaluate(f"() => document.querySelector('{FIG}').repmap.you.plane")
    np.testing.assert_allclose(back, first["plane"], atol=1e-9)


# --------------------------------------------------------------------------- phones, dark mode, Chinese

def test_touch_picks_a_dot_and_draws_at_375px_without_overflow(opener, cpython):
    pg = open_map(opener, runtime=True, viewport={"width": 375, "height": 740}, has_touch=True, is_mobile=True,
                  device_scale_factor=2)
    overflow = pg.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{overflow}px horizontal overflow at 375 px"
    box = pg.locator(FIG).bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 375
    t = isolated(cpython[PLANE])
    pg.locator(f"{FIG} .repmap-overlay").scroll_into_view_if_needed()
    pg.touchscreen.tap(*client_of(pg, cpython[PLANE]["uv"][t]))
    assert int(pg.locator(FIG).get_attribute("data-focus")) == t, "a tap on a dot did not pick it"
    grid = pg.locator(f"{FIG} .repmap-grid")
    grid.scroll_into_view_if_needed()
    g = grid.bounding_box()
    scroll0 = pg.evaluate("() => window.scrollY")
    cdp = pg.context.new_cdp_session(pg)
    pts = [(g["x"] + g["width"] / 2, g["y"] + g["height"] * (0.15 + 0.07 * k)) for k in range(11)]
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": pts[0][0], "y": pts[0][1]}]})
    for x, y in pts[1:]:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    pg.wait_for_function(f"() => {{ const r = document.querySelector('{FIG}').repmap; return !r.busy && r.you && r.you.seq === r.seq; }}")
    ink = np.asarray(pg.evaluate(f"() => document.querySelector('{FIG}').repmap.you.pixels")).reshape(28, 28)
    rows = np.flatnonzero(ink.max(axis=1) > 0.5)
    assert rows[-1] - rows[0] >= 12, "the touch stroke was cut short"
    assert pg.evaluate("() => window.scrollY") == scroll0, "drawing scrolled the page"


def test_dark_mode_paints_with_the_dark_class_colours(opener):
    from nnviz import palette
    pg = open_map(opener, color_scheme="dark", viewport={"width": 1280, "height": 1000})
    cols = pg.evaluate(f"() => document.querySelector('{FIG}').repmap.colours.cat")
    want = [[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in palette.CATEGORY["dark"]]
    assert cols == want
    mean = pg.evaluate(f"""() => {{ const c = document.querySelector('{FIG} .repmap-map');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const sum = [0, 0, 0];
        for (let p = 0; p < d.length; p += 4) for (let k = 0; k < 3; k++) sum[k] += d[p + k];
        return sum.map((v) => v / (d.length / 4)); }}""")
    assert sum(mean) < 3 * 100, f"the map's mean colour {mean} is not dark in dark mode"


def test_chinese_page_reads_in_chinese(opener, cpython):
    pg = open_map(opener, lang="zh", viewport={"width": 1280, "height": 1000})
    fig = pg.locator(FIG)
    assert "隐藏层" in fig.locator(".repmap-title").inner_text()
    t = isolated(cpython[PLANE])
    assert hover(pg, cpython[PLANE]["uv"][t]) == t
    text = fig.locator(".repmap-card-text").inner_text()
    assert text.startswith("测试图像") and "（" in text and "网络说是" in text, text
    note = fig.locator(".repmap-note").inner_text()
    assert "隐藏神经元" in note and "Each dot" not in note
