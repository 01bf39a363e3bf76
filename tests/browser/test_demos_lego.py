"""The Lego-block figure's zoom and heat map (issue 11 item 10), in real Chromium, on the page
test_demos_charts.py renders from the real build's exports (its fixtures are reused here):
every hidden-neuron picture enlarges in a dialog (click, tap, Enter; Escape and Close return
focus), and the whole output layer is drawn as a heat map in the palette's colours.
"""
from __future__ import annotations

import pytest

from nnviz import palette
from nnviz.strings import neuron
from test_demos_charts import LEGO, READY, charts, charts_server, open_page  # noqa: F401  (fixtures)


def wfmt(w):
    return ("+" if w > 0 else "−" if w < 0 else "") + f"{abs(w):.2f}"


def rgb_of(hex_colour):
    return "rgb(%d, %d, %d)" % tuple(int(hex_colour[k:k + 2], 16) for k in (1, 3, 5))


def test_lego_heat_map_is_the_whole_output_layer(open_page, charts):
    pg = open_page()
    a = charts["analysis"][LEGO]
    ow, lego = a["out_weights"], a["lego"]
    top = max(abs(w) for row in ow for w in row)
    cells = pg.eval_on_selector_all(".nnv-lego td.nnv-hc", """els => els.map(c => ({d: +c.dataset.digit,
        u: +c.dataset.unit, w: c.dataset.weight, name: c.dataset.name, ringed: c.classList.contains("nnv-ringed"),
        bg: getComputedStyle(c).backgroundColor, w_px: c.getBoundingClientRect().width}))""")
    assert len(cells) == 10 * len(ow) and len(ow) == 30
    for c in cells:
        w = ow[c["u"]][c["d"]]
        assert c["w"] == wfmt(w) and c["name"] == neuron(c["u"])
        assert c["bg"] == rgb_of(palette.diverging_hex(w, top)), c
        pictured = {u for u, _ in lego[str(c["d"])]["pos"] + lego[str(c["d"])]["neg"]}
        assert c["ringed"] == (c["u"] in pictured), c
    assert min(c["w_px"] for c in cells) > 15, "the heat map fills the figure's width at 1280 px"
    # keyboard: one tab stop, arrow keys move along a row, Enter enlarges that cell's neuron
    pg.focus('.nnv-lego td.nnv-hc[data-digit="0"][data-unit="0"]')
    pg.keyboard.press("ArrowRight")
    pg.keyboard.press("ArrowDown")
    assert pg.evaluate("[document.activeElement.dataset.digit, document.activeElement.dataset.unit]") == ["1", "1"]
    pg.keyboard.press("Enter")
    dialog = pg.locator(".nnv-lego dialog.nnv-zoomed")
    assert dialog.is_visible()
    assert dialog.locator(".nnv-zoomed-title").inner_text() == neuron(1)
    assert wfmt(ow[1][1]) in dialog.locator(".nnv-zoomed-w").inner_text()
    pg.keyboard.press("Escape")
    assert not dialog.is_visible()
    assert pg.evaluate("[document.activeElement.dataset.digit, document.activeElement.dataset.unit]") == ["1", "1"]


@pytest.mark.parametrize("width", [1280, 375])
def test_lego_pictures_enlarge_on_click_tap_and_enter(browser, charts_server, charts, width):
    lego = charts["analysis"][LEGO]["lego"]
    ctx = browser.new_context(viewport={"width": width, "height": 900}, has_touch=width < 400)
    try:
        pg = ctx.new_page()
        pg.goto(f"{charts_server}en/charts.html")
        pg.wait_for_function(READY)
        dialog = pg.locator(".nnv-lego dialog.nnv-zoomed")
        if width < 400:                              # a phone shows one digit: pick 3 first, by tap
            pg.tap(".nnv-lego label[for$='-d3']")
        u, w = lego["3"]["neg"][1]
        opener = f'.nnv-lego .nnv-card[data-digit="3"] .nnv-neg .nnv-zoom[data-unit="{u}"]'
        small = pg.locator(opener).bounding_box()
        (pg.tap if width < 400 else pg.click)(opener)
        assert dialog.is_visible()
        img = dialog.locator("img.nnv-zoomed-img")
        pg.wait_for_function("i => i.complete && i.naturalWidth === 28", arg=img.element_handle())
        assert img.get_attribute("src").endswith(f"data/{LEGO}/w1/{u}.png")
        big = img.bounding_box()
        assert big["width"] >= 200 and big["width"] >= 3 * small["width"], (small, big)
        assert big["x"] >= 0 and big["x"] + big["width"] <= width
        assert dialog.locator(".nnv-zoomed-title").inner_text() == neuron(u)
        assert wfmt(w) in dialog.locator(".nnv-zoomed-w").inner_text()
        pg.keyboard.press("Escape")
        assert not dialog.is_visible()
        assert pg.evaluate("document.activeElement.dataset.unit") == str(u), "focus goes back to the picture"
        # keyboard: Enter on the focused picture opens it, the Close button closes it
        pg.keyboard.press("Enter")
        assert dialog.is_visible()
        assert pg.evaluate("document.activeElement.classList.contains('nnv-zoomed-close')")
        pg.keyboard.press("Enter")
        assert not dialog.is_visible()
        assert pg.evaluate("document.activeElement.dataset.unit") == str(u)
    finally:
        ctx.close()


def test_a_finger_on_the_heat_map_gets_a_loupe_whose_buttons_open_the_neuron(browser, charts_server, charts):
    """On a phone a heat-map cell is narrower than a fingertip: a tap opens the loupe (44 px
    buttons named like their cells) instead of guessing; tapping the loupe's button for a
    neighbour opens that neuron's dialog. A mouse click still opens the cell at once."""
    ow = charts["analysis"][LEGO]["out_weights"]
    ctx = browser.new_context(viewport={"width": 375, "height": 800}, has_touch=True, is_mobile=True)
    try:
        pg = ctx.new_page()
        pg.goto(f"{charts_server}en/charts.html")
        pg.wait_for_function(READY)
        dialog = pg.locator(".nnv-lego dialog.nnv-zoomed")
        cell = pg.locator('.nnv-lego td.nnv-hc[data-digit="4"][data-unit="7"]')
        cell.scroll_into_view_if_needed()
        assert cell.bounding_box()["width"] < 32, "the cells are finger-sized now: the loupe can go"
        cell.tap()
        loupe = pg.locator(".loupe")
        assert loupe.is_visible() and not dialog.is_visible()
        sizes = pg.eval_on_selector_all(".loupe .loupe-cell", "bs => bs.map(b => { const r = b.getBoundingClientRect();"
                                        " return [r.width, r.height, r.left, r.right, b.getAttribute('aria-label') || b.textContent]; })")
        assert len(sizes) == 9
        assert all(w >= 32 and h >= 32 and left >= 0 and right <= 375 and name.strip() for w, h, left, right, name in sizes), sizes
        pg.locator('.loupe .loupe-cell[data-digit="4"][data-unit="8"]').tap()   # the neighbour to the right
        assert dialog.is_visible()
        assert dialog.locator(".nnv-zoomed-title").inner_text() == neuron(8)
        assert wfmt(ow[8][4]) in dialog.locator(".nnv-zoomed-w").inner_text()
        pg.keyboard.press("Escape")
    finally:
        ctx.close()
    pg = browser.new_page(viewport={"width": 375, "height": 800})
    try:
        pg.goto(f"{charts_server}en/charts.html")
        pg.wait_for_function(READY)
        pg.click('.nnv-lego td.nnv-hc[data-digit="4"][data-unit="7"]')
        assert pg.locator(".nnv-lego dialog.nnv-zoomed").is_visible() and pg.locator(".loupe").count() == 0
    finally:
        pg.close()
