"""The 784-16-16-10 network's most confident mistakes beside its drawing lab (demos/mistakes with
show=glaring lab=yes), in real Chromium on the built chapter: the gallery lists the analysis's
glaring mistakes, and a tap, a mouse click or Enter on one loads that very test image into the lab,
whose answer is then the one the gallery shows. One phone page (375 px, touch) starts the runtime
once for all three ways in.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from nnviz.common import pct

from conftest import page_opener, serve_folder

MODEL = "mnist-h16x16"
GALLERY = f'figure.demo-mistakes[data-model="{MODEL}"]'
LAB = f'[data-live-demo="draw"][data-model="{MODEL}"]'
PHONE = {"viewport": {"width": 375, "height": 740}, "has_touch": True, "is_mobile": True, "device_scale_factor": 2}


@pytest.fixture(scope="module")
def chapter(site_dir):
    """(base URL, the en page's path, the model's glaring mistakes, the sample sprite's manifest)."""
    pages = [p for p in sorted(site_dir.glob("en/*.html")) if f'data-model="{MODEL}"' in p.read_text(encoding="utf-8")
             and "demo-mistakes" in p.read_text(encoding="utf-8")]
    assert pages, f"no English page of {site_dir} shows {MODEL}'s mistakes beside its lab"
    glaring = json.loads((site_dir / "data" / MODEL / "analysis.json").read_text())["mistakes"]["glaring"]
    samples = json.loads((site_dir / "data" / "mnist" / "samples.json").read_text())
    with serve_folder(site_dir) as url:
        yield url, pages[0].relative_to(site_dir).as_posix(), glaring, samples


def gallery_items(page):
    return page.evaluate(f"""() => [...document.querySelectorAll('{GALLERY} .mk-item')].map((li) => {{
        const b = li.querySelector('button.mk-load'), r = b.getBoundingClientRect();
        return {{index: +li.dataset.index, labels: li.querySelector('.mk-labels').textContent.replace(/\\s+/g, ' ').trim(),
                 p: li.querySelector('.mk-p').textContent, name: b.querySelector('.mk-sr').textContent, shown: !li.hidden,
                 w: r.width, h: r.height}}; }})""")


def load_and_wait(page, act, seq):
    """Do `act`, then wait until the lab has repainted a newer drawing than `seq`; its last repaint."""
    act()
    page.wait_for_function("""([sel, seq]) => { const el = document.querySelector(sel);
        return el.nnvizLast && el.drawLab.seq > seq && !el.drawLab.busy && el.nnvizLast.seq === el.drawLab.seq; }""",
                           arg=[LAB, seq], timeout=30_000)
    page.wait_for_function("""(sel) => { const r = document.querySelector(sel + ' .draw-verdict').getBoundingClientRect();
        return r.top >= 0 && r.bottom <= innerHeight; }""", arg=LAB, timeout=10_000)     # scrolled to the answer
    return page.evaluate(f"""() => {{ const el = document.querySelector('{LAB}'), v = el.querySelector('.draw-verdict');
        const r = v.getBoundingClientRect();
        return {{...el.nnvizLast, seq: el.drawLab.seq, note: el.querySelector('.draw-note').textContent,
                 verdictTop: r.top, verdictBottom: r.bottom, focus: document.activeElement.className,
                 centre: el.querySelector('[data-control="centre"]').checked}}; }}""")


def test_gallery_lists_the_most_confident_mistakes_as_buttons(browser, chapter):
    url, path, glaring, samples = chapter
    with page_opener(browser, url) as open_:
        for width in (1280, 375):
            page = open_(path, **(PHONE if width == 375 else {"viewport": {"width": 1280, "height": 900}}))
            page.locator(GALLERY).scroll_into_view_if_needed()
            items = gallery_items(page)
            assert [it["index"] for it in items] == [r["index"] for r in glaring]
            for it, r in zip(items, glaring):
                assert it["labels"] == f"{r['true']} → {r['pred']}", it
                assert it["p"] == pct(r["p_pred"], 2) and str(r["index"]) in it["name"], it   # >99.99%, never 100%
                assert r["index"] in samples["index"], f"test image {r['index']} is not in the sample sprite"
            shown = [it for it in items if it["shown"]]
            assert 12 <= len(shown) <= 16, len(shown)
            small = [(it["index"], round(it["w"]), round(it["h"])) for it in shown if min(it["w"], it["h"]) < 32]
            assert not small, f"gallery buttons under 32 px at {width} px: {small}"


def test_tap_click_and_enter_load_a_mistake_into_the_lab(browser, chapter, real_dataset):
    url, path, glaring, samples = chapter
    mnist = real_dataset("mnist")
    with page_opener(browser, url) as open_:
        page = open_(path, **PHONE)
        page.locator(GALLERY).scroll_into_view_if_needed()
        page.evaluate("() => nnviz.start()")
        page.wait_for_function("(sel) => document.querySelector(sel).drawLab.ready", arg=LAB)
        button = lambda k: page.locator(f"{GALLERY} button.mk-load").nth(k)
        ways = [("tap", lambda b: b.tap()), ("click", lambda b: b.click()),
                ("Enter", lambda b: (b.focus(), page.keyboard.press("Enter")))]
        seq = page.evaluate("(sel) => document.querySelector(sel).drawLab.seq", LAB)
        for k, (how, act) in enumerate(ways):
            r = glaring[k]
            button(k).scroll_into_view_if_needed()
            got = load_and_wait(page, lambda: act(button(k)), seq)
            seq = got["seq"]
            slot = samples["index"].index(r["index"])
            assert samples["labels"][slot] == r["true"]
            assert not got["centre"] and got["options"]["centre"] is False, f"{how}: the test image was re-prepared"
            assert got["pred"] == r["pred"] and abs(got["conf"] - r["p_pred"]) < 1e-4, (how, got["pred"], got["conf"], r)
            want = mnist.x_test[r["index"]].reshape(-1) / 255.0     # the official test image itself
            assert np.max(np.abs(np.asarray(got["pixels"]) - want)) < 1e-6, f"{how}: the lab holds another image"
            assert np.max(np.abs(np.asarray(got["input"]) - want)) < 1e-6, f"{how}: the network was fed another image"
            assert f"#{r['index']}" in got["note"], (how, got["note"])
            assert 0 <= got["verdictTop"] and got["verdictBottom"] <= 740, f"{how}: the lab's answer is off-screen: {got}"
            assert got["focus"] == "draw-grid", f"{how}: focus stayed behind in the gallery ({got['focus']})"
