"""The demos' shared browser code and the drawing lab's figures, in real Chromium: format.js,
paint.js against src/nnviz/palette.py, the lab's URL codec under fuzzing, the empty-canvas note,
tap targets and the inspector on a phone. Reuses test_draw.py's sites (fixture and real)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from nnviz import palette
from test_draw import (DEEP_LAB, bar_points, chromium, draw_server, draw_site, grid_box,  # noqa: F401
                       lab_page, mouse_stroke, new_page, open_lab, to_client, wait_repaint)

SOFT_LAB = '[data-live-demo="draw"][data-model="mnist-softmax"]'
LABS = (DEEP_LAB, SOFT_LAB)


def site_url(page, path):
    """The URL of a file of the site under test (path relative to the site root)."""
    return page.url_of[:len(page.url_of) - len(page.site.page)] + path


def module(page, path):
    """JS expression importing a site module into the page."""
    return f"import('{site_url(page, path)}')"


def test_pct_never_rounds_to_certainty_and_num_groups_thousands(lab_page):
    page = lab_page
    page.goto(page.url_of)
    got = page.evaluate(f"""async () => {{
        const f = await {module(page, 'static/js/format.js')};
        return [f.pct(0.9996), f.pct(0.973), f.pct(1), f.pct(0), f.pct(0.00001), f.pct(0.9996, 2),
                f.pct(0.996, 0), f.pct(0.004, 0), f.num(1234567), f.fixed(-0.5), f.fixed(-0.0001)]; }}""")
    assert got == [">99.9%", "97.3%", "100.0%", "0.0%", "<0.1%", "99.96%", ">99%", "<1%",
                   "1,234,567", "−0.50", "0.00"]


def test_paint_reads_the_palette_that_export_uses(lab_page):
    page = lab_page
    page.goto(page.url_of)
    ts = [-1, -0.6, -0.25, 0, 0.1, 0.5, 0.9, 1]
    got = page.evaluate(f"""async (ts) => {{
        const p = await {module(page, 'static/js/paint.js')};
        const c = document.createElement("canvas");
        p.paintImage(c, ts, {{w: ts.length, h: 1, style: "diverging", scale: 1}});
        const px = c.getContext("2d").getImageData(0, 0, ts.length, 1).data;
        return {{div: ts.map((t) => p.diverging(t)), grey: [p.grey(0), p.grey(1)],
                 painted: ts.map((_, i) => [px[4 * i], px[4 * i + 1], px[4 * i + 2]])}}; }}""", ts)
    want = palette.diverging(np.array(ts), scale=1).astype(int)
    assert np.max(np.abs(np.asarray(got["div"]) - want)) <= 1.0, (got["div"], want.tolist())
    assert np.max(np.abs(np.asarray(got["painted"]) - want)) <= 1
    assert got["grey"] == [[0, 0, 0], [255, 255, 255]]


FUZZ_JS = """async ([mod, shape, n]) => {
    const s = await import(mod);
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const alphabet = "ABCxyz09-_~%E0A4n12smwc.&=é\\u0000 ";
    const inputs = ["%E0%A4%A", "1~________________~w3", "1~________________~n9-99", "", "1", "1~",
                    "2~________________", "1~________________~x7", "1~________________~x1~x1",
                    "1~________________~s0.1", "1~________________~w3-", "1~________________~n-1",
                    "1~________________~q", "1~________________~c2", "1~________________~w10-1"];
    const full = s.encodeState({...s.blankState(), ink: Float32Array.from({length: 784}, (_, i) => (i % 29) / 28),
                                neuron: [2, 5], centre: false, dx: -3, dy: 2, scale: 1.25, why: [3, 8], shiftMap: true});
    for (let k = 0; k <= full.length; k++) inputs.push(full.slice(0, k), encodeURIComponent(full).slice(0, k));
    for (let k = 0; k < n; k++) {
      let t = "";
      const len = Math.floor(rnd() * 60);
      for (let i = 0; i < len; i++) t += alphabet[Math.floor(rnd() * alphabet.length)];
      inputs.push(t, "1~________________~" + t, full.slice(0, Math.floor(rnd() * full.length)) + t);
    }
    const problems = [];
    let accepted = 0;
    const logged = console.info;
    console.info = () => {};
    try {
      for (const t of inputs) {
        let st;
        try { st = s.decodeState(t, shape); } catch (e) { problems.push(["threw", t, String(e)]); continue; }
        if (st === null) continue;
        accepted++;
        const ok = st.ink.length === 784 && st.ink.every((v) => v >= 0 && v <= 1)
          && Number.isInteger(st.neuron[0]) && st.neuron[0] >= 1 && st.neuron[0] < shape.layers.length
          && Number.isInteger(st.neuron[1]) && st.neuron[1] >= 0 && st.neuron[1] < shape.layers[st.neuron[0]]
          && Number.isInteger(st.dx) && Math.abs(st.dx) <= 6 && Number.isInteger(st.dy) && Math.abs(st.dy) <= 6
          && st.scale >= 0.4 && st.scale <= 1.6 && typeof st.centre === "boolean" && typeof st.shiftMap === "boolean"
          && (st.why === null || (st.why.length === 2 && st.why.every((c) => Number.isInteger(c) && c >= 0 && c < shape.classes)));
        if (!ok) problems.push(["invalid state accepted", t]);
      }
    } finally { console.info = logged; }
    const back = s.decodeState(full, shape);
    return {problems, accepted, total: inputs.length, roundTrip: back && s.encodeState(back) === full};
}"""


def test_url_state_decoder_survives_fuzzing(lab_page):
    page = lab_page
    page.goto(page.url_of)
    result = page.evaluate(FUZZ_JS, [site_url(page, "static/demos/draw/state.js"), {"layers": [784, 16, 16, 10], "classes": 10}, 3000])
    assert result["roundTrip"], "a full state did not survive encode -> decode -> encode"
    assert not result["problems"], result["problems"][:5]
    assert 0 < result["accepted"] < result["total"]


def test_unreadable_url_state_is_ignored_and_the_lab_starts_blank(chromium, draw_site, draw_server):
    context, page = new_page(chromium, draw_site, draw_server)   # one context: each bad link is a fresh load
    try:
        page.goto(page.url_of)
        key = page.evaluate(f"() => document.querySelector('{DEEP_LAB}').id")
        for bad in ("%E0%A4%A", "1~________________~w3", "1~AAAA", "1~________________~n2-99"):
            page.goto("about:blank")
            page.messages.clear()
            open_lab(page, url=f"{page.url_of}#{key}={bad}")
            last = wait_repaint(page)
            assert sum(last["pixels"]) == 0, f"#{key}={bad}: an unreadable state left ink on the canvas"
            assert last["options"]["neuron"] == [1, 0], bad
            assert not page.evaluate(f"() => document.querySelector('{DEEP_LAB}').dataset.error"), f"{bad}: the lab shows an error"
            assert any("unreadable state" in m for m in page.messages), (bad, page.messages)
            assert not [m for m in page.messages if m.startswith("pageerror")], (bad, page.messages)
    finally:
        context.close()


def note(page, lab):
    return page.locator(f"{lab} .draw-note").inner_text().strip()


def clear_and_wait_for_note(page, lab):
    page.click(f'{lab} [data-action="clear"]')
    page.wait_for_function("(sel) => document.querySelector(sel + ' .draw-note').textContent.trim() !== ''", arg=lab)
    wait_repaint(page, lab)


@pytest.mark.parametrize("lab", LABS, ids=["deep", "softmax"])
def test_empty_canvas_note_clears_on_a_mouse_or_keyboard_stroke(lab_page, lab):
    page = lab_page
    open_lab(page, lab=lab)
    clear_and_wait_for_note(page, lab)
    mouse_stroke(page, bar_points(), lab=lab)
    wait_repaint(page, lab)
    assert note(page, lab) == "", "the empty-canvas note stayed after a mouse stroke"
    clear_and_wait_for_note(page, lab)
    page.locator(f"{lab} .draw-grid").focus()
    page.keyboard.press("Enter")
    wait_repaint(page, lab)
    assert note(page, lab) == "", "the empty-canvas note stayed after a keyboard stroke"


def test_empty_canvas_note_clears_on_a_touch_stroke(chromium, draw_site, draw_server):
    context, page = new_page(chromium, draw_site, draw_server, has_touch=True, is_mobile=True,
                             viewport={"width": 375, "height": 740}, device_scale_factor=2)
    try:
        open_lab(page)
        clear_and_wait_for_note(page, DEEP_LAB)
        box = grid_box(page)
        cdp = context.new_cdp_session(page)
        for k, (gx, gy) in enumerate(bar_points(x=13)):    # one finger down the grid, then lifted
            x, y = to_client(box, gx, gy)
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove" if k else "touchStart", "touchPoints": [{"x": x, "y": y}]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        assert sum(wait_repaint(page)["pixels"]) > 0
        assert note(page, DEEP_LAB) == "", "the empty-canvas note stayed after a touch stroke"
    finally:
        context.close()


# --------------------------------------------------------------------------- phones: tap targets

PHONE = {"viewport": {"width": 375, "height": 740}, "has_touch": True, "is_mobile": True, "device_scale_factor": 2}

SMALL_TARGETS_JS = """() => {
  const sel = 'button, a[href], input, select, summary, [role=button], [role=radio], [role=tab], [tabindex]';
  const small = [];
  // the drawing labs, Lego digits, template rows and sweep points; the confusion/diff/top-grid cells
  // and the hidden-layer bars cannot be 32 px without sideways scrolling (which
  // test_demos_confusion's overflow test forbids): their loupe is measured by the test below;
  // so are the Lego heat map's cells (10 x 30 of them), whose loupe test_demos_lego measures
  for (const e of document.querySelectorAll('[data-live-demo="draw"], .nnv-lego, .nv-templates, .nnv-sweep')) {
    for (const t of e.querySelectorAll(sel)) {
      if (t.matches('td.nnv-hc')) continue;
      if (t.closest('[aria-hidden="true"], [hidden]') || getComputedStyle(t).visibility === 'hidden') continue;
      if (t.matches('a') && t.closest('p, figcaption, li, td, caption')) continue;   // links inside text
      let hit = t;
      if (t.matches('input:not([type=range])')) hit = t.closest('label') || (t.id && document.querySelector(`label[for="${t.id}"]`)) || t;
      const r = hit.getBoundingClientRect();
      if (!r.width && !r.height) continue;                                            // not rendered
      if (r.width < 31.5 || r.height < 31.5) {
        small.push(`${t.tagName.toLowerCase()}.${String(t.className.baseVal ?? t.className).split(' ')[0]} ${Math.round(r.width)}x${Math.round(r.height)}`);
      }
    }
  }
  return small;
}"""


@pytest.fixture(scope="module")
def chapter_pages(site_dir):
    pages = sorted(p.relative_to(site_dir).as_posix() for p in site_dir.glob("*/*.html")
                   if "data-live-demo" in p.read_text(encoding="utf-8"))
    assert pages, f"no chapter with live demos in {site_dir}"   # site_dir itself skips (missing) when absent
    return pages


def test_every_tap_target_is_at_least_32_px_on_a_phone(browser, site_dir, chapter_pages):
    from conftest import serve_folder
    with serve_folder(site_dir) as url:
        context = browser.new_context(**PHONE)
        try:
            page = context.new_page()
            for rel in chapter_pages:
                page.goto(url + rel)
                page.wait_for_function("() => document.querySelector('.draw-js')")   # the labs laid out
                small = page.evaluate(SMALL_TARGETS_JS)
                counts = {}
                for s in small:
                    counts[s.rsplit(" ", 1)[0]] = counts.get(s.rsplit(" ", 1)[0], 0) + 1
                assert not small, f"{rel}: tap targets under 32 px: {counts} e.g. {small[:5]}"
        finally:
            context.close()


# The figures whose cells are smaller than a fingertip at 375 px: (figure, target, JS returning the
# selected target of fig, a target in the middle, its right-hand neighbour). A touch tap opens a
# loupe (static/js/loupe.js) showing the tapped target and its neighbours as big buttons.
LOUPED = [
    (".demo-confusion", "td.cm-cell", "(fig) => fig.querySelector('td.cm-selected')", '[data-i="4"][data-j="5"]', '[data-i="4"][data-j="6"]'),
    (".demo-diffmatrix", "td.dm-cell", "(fig) => fig.querySelector('td.dm-selected')", '[data-i="4"][data-j="5"]', '[data-i="4"][data-j="6"]'),
    (".demo-topgrid", "td.tg-cell", "(fig) => fig.querySelector('td.tg-shown')", '[data-i="4"][data-j="5"]', '[data-i="4"][data-j="6"]'),
    (".nv-hidden", ".nv-bar", "(fig) => fig.querySelector('.nv-bar.nv-hl[data-c=\"7\"]')",
     '[data-c="7"][data-h="3"]', '[data-c="7"][data-h="4"]'),
]

LOUPE_SIZES_JS = """([fig, target]) => {
  const area = document.querySelector(fig);
  const holder = [...area.querySelectorAll('*')].find((e) => e.loupe) || area;
  const out = {targets: 0, own: [], small: [], unnamed: 0, offscreen: 0};
  for (const t of area.querySelectorAll(target)) {
    const r = t.getBoundingClientRect();
    out.targets++;
    out.own.push(Math.min(r.width, r.height));
    holder.loupe.open(t);
    const box = holder.loupe.box(), b = box.querySelector('.loupe-current'), br = b.getBoundingClientRect(), xr = box.getBoundingClientRect();
    // named like the target, or (a bar) by its visible text plus its class
    const name = b.getAttribute('aria-label'), seen = b.textContent.replace(/\\s+/g, ' ').trim();
    if (name !== t.getAttribute('aria-label') && !(seen && name.startsWith(seen + ','))) out.unnamed++;
    if (xr.left < 0 || xr.right > innerWidth) out.offscreen++;
    for (const btn of box.querySelectorAll('button')) {
      const q = btn.getBoundingClientRect();
      if (Math.min(q.width, q.height) < 31.5) out.small.push(`${btn.className} ${Math.round(q.width)}x${Math.round(q.height)}`);
    }
    if (Math.min(br.width, br.height) < 31.5) out.small.push(`current ${Math.round(br.width)}x${Math.round(br.height)}`);
  }
  holder.loupe.close();
  return out;
}"""


def selected(page, fig, pick_js):
    """The data-* address of the target fig shows as selected (None: none)."""
    return page.evaluate(f"""() => {{ const fig = document.querySelector('{fig}');
        const t = ({pick_js})(fig); return t ? JSON.stringify(t.dataset) : null; }}""")


def tap_at(page, locator, fx, fy):
    """A real touch tap at fraction (fx, fy) of the element's box (once it stands still)."""
    locator.scroll_into_view_if_needed()
    r = locator.bounding_box()
    locator.tap(position={"x": fx * r["width"], "y": fy * r["height"]})


def test_small_cells_and_bars_have_a_32_px_loupe_on_a_phone(browser, site_dir, chapter_pages):
    """Every cell of the confusion, diff and top-grid matrices and every hidden-layer bar: its
    effective hit area (its loupe button) is at least 32 px; a tap just inside a small cell's edge
    selects that cell, a tap on a neighbour in the loupe selects the neighbour."""
    from conftest import serve_folder
    with serve_folder(site_dir) as url:
        context = browser.new_context(**PHONE)
        try:
            page = context.new_page()
            page.goto(url + chapter_pages[0])
            for fig, ready in ((".nv-hidden", "nv-ready"), (".demo-confusion", "cm-ready"),
                               (".demo-diffmatrix", "dm-ready"), (".demo-topgrid", "tg-ready")):
                page.locator(fig).first.scroll_into_view_if_needed()   # its pictures load once near
                page.wait_for_selector(f"{fig}.{ready}", state="attached")   # images drawn: layout settled
            page.evaluate("() => document.fonts.ready.then(() => true)")
            for fig, target, pick_js, middle, right in LOUPED:
                sizes = page.evaluate(LOUPE_SIZES_JS, [fig, target])
                assert sizes["targets"] >= 10, (fig, sizes["targets"])
                assert min(sizes["own"]) < 32, f"{fig}: its targets are big enough now; the loupe can go"
                assert not sizes["small"] and not sizes["unnamed"] and not sizes["offscreen"], (fig, sizes)
                cell = page.locator(f"{fig} {target}{middle}").first
                for fx, fy in ((0.08, 0.08), (0.92, 0.92)):        # just inside two opposite corners
                    page.locator(f"{fig} {target}{right}").first.click()   # (a mouse click, elsewhere, first)
                    assert page.locator(".loupe").count() == 0, f"{fig}: a mouse click opened the loupe"
                    tap_at(page, cell, fx, fy)
                    want = json.loads(page.evaluate("(e) => JSON.stringify(e.dataset)", cell.element_handle()))
                    got = selected(page, fig, pick_js)
                    assert got and {k: json.loads(got)[k] for k in ("i", "j", "h", "c") if k in want} == \
                        {k: want[k] for k in ("i", "j", "h", "c") if k in want}, f"{fig}: a tap at {fx, fy} of {middle} selected {got}"
                    assert page.locator(".loupe").is_visible(), f"{fig}: no loupe after a tap"
                    page.locator(f"{fig} {target}{right}").first.dispatch_event(   # a mouse resting there
                        "pointerover", {"pointerType": "mouse", "bubbles": True})
                    assert selected(page, fig, pick_js) == got, f"{fig}: a mouse hover under the loupe moved the tap's selection"
                tap_at(page, page.locator(f".loupe .loupe-cell{right}"), 0.5, 0.5)
                got = json.loads(selected(page, fig, pick_js))
                want = json.loads(page.evaluate("(e) => JSON.stringify(e.dataset)", page.locator(f"{fig} {target}{right}").first.element_handle()))
                assert all(got[k] == want[k] for k in ("i", "j", "h") if k in want), f"{fig}: the loupe picked {got}, not {right}"
                assert page.locator(f".loupe .loupe-current{right}").count() == 1, f"{fig}: the loupe did not move on"
                if fig == ".nv-hidden":                    # the linked neuron's picture is on screen
                    pic = page.locator(".nv-hidden .nv-hidden-readout img").first
                    src = page.locator(f'.nv-hidden .nv-filter[data-h="{want["h"]}"] img').first.get_attribute("src")
                    r = pic.bounding_box()
                    assert pic.get_attribute("src") == src and r and 0 <= r["y"] and r["y"] + r["height"] <= 740, r
                page.locator(".loupe .loupe-close").tap()
                assert page.locator(".loupe").count() == 0, f"{fig}: the loupe did not close"
        finally:
            context.close()


def test_tapping_a_neuron_brings_its_inspector_into_view(chromium, draw_site, draw_server):
    context, page = new_page(chromium, draw_site, draw_server, **PHONE)
    try:
        open_lab(page)
        neuron = page.locator(f'{DEEP_LAB} .draw-neuron[data-layer="2"][data-unit="11"]')
        neuron.scroll_into_view_if_needed()
        box = neuron.bounding_box()
        assert box["width"] >= 32 and box["height"] >= 32, box
        neuron.tap()
        wait_repaint(page)
        page.wait_for_function("(sel) => { const r = document.querySelector(sel + ' .draw-inspect').getBoundingClientRect();"
                               " return r.top >= 0 && r.top < innerHeight * 0.5; }", arg=DEEP_LAB)
        assert page.locator(f"{DEEP_LAB} .draw-inspect-name").is_visible()
        assert page.evaluate(f"() => document.querySelector('{DEEP_LAB}').nnvizLast.options.neuron") == [2, 11]
    finally:
        context.close()


def test_a_tapped_hidden_bar_shows_its_neurons_picture_on_screen(browser, site_dir, chapter_pages):
    from conftest import serve_folder
    with serve_folder(site_dir) as url:
        context = browser.new_context(**PHONE)
        try:
            page = context.new_page()
            page.goto(url + chapter_pages[0])
            bar = page.locator('.nv-hidden .nv-bar[data-h="3"][data-c="7"]').first
            bar.scroll_into_view_if_needed()
            bar.tap()
            pic = page.locator(".nv-hidden .nv-hidden-readout img").first
            src = page.locator('.nv-hidden .nv-filter[data-h="3"] img').first.get_attribute("src")
            assert pic.get_attribute("src") == src
            r = pic.bounding_box()
            assert r and 0 <= r["y"] and r["y"] + r["height"] <= 740, f"the linked picture is off-screen: {r}"
        finally:
            context.close()


def test_inspector_maps_are_named_in_the_pages_language(lab_page):
    page = lab_page
    open_lab(page, url=page.url_of.replace("/en/", "/zh/"))
    names = page.evaluate(f"""() => [...document.querySelectorAll('{DEEP_LAB} canvas.draw-map-canvas')]
                                   .map((c) => c.getAttribute('aria-label'))""")
    captions = page.evaluate(f"""() => ['weights', 'contrib'].map((k) =>
        document.querySelector('{DEEP_LAB} [data-caption="' + k + '"]').textContent)""")
    assert names == captions and all(n and not n.isascii() for n in names), (names, captions)
