"""The training lab in real Chromium, on the built site: train.py in Pyodide equals train.py in
CPython, the no-hidden-layer network passes 85% within two epochs on 5,000 images, pause / resume /
reset do what they say, scrambling keeps the accuracy, and it works by keyboard and touch at 375 px
in both languages."""
from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import assert_all_local, serve_folder
from nnviz import lab
from nnviz import train as tr
from nnviz.strings import neuron

FIRST, SECOND = "#demo-lab-1", "#demo-lab-2"     # resolved by lab_ids() on the real page


@pytest.fixture(scope="module")
def lab_site(site_dir):
    for lang in ("en", "zh"):
        page = site_dir / lang / "looking-inside.html"
        if not page.is_file() or 'data-live-demo="train"' not in page.read_text(encoding="utf-8"):
            pytest.fail(f"{page} has no training lab")
    with serve_folder(site_dir) as url:
        yield site_dir, url


def open_lab_page(browser, url, contexts, lang="en", **options):
    """A page with the chapter loaded and the runtime ready; its context goes into `contexts`."""
    context = browser.new_context(**options)
    requests = []
    context.on("request", lambda r: requests.append(r.url))
    page = context.new_page()
    page.set_default_timeout(180_000)
    page.requests = requests
    contexts.append((context, requests))
    page.goto(url + f"{lang}/looking-inside.html")
    page.evaluate("nnviz.start()")
    page.wait_for_function("() => document.documentElement.dataset.runtime === 'ready'")
    return page


def close_all(contexts):
    for context, requests in contexts:
        context.close()
        assert_all_local(requests)


@pytest.fixture
def open_page(browser, lab_site):
    """open_page(lang="en", **context options) -> a page with the chapter loaded and the runtime ready."""
    contexts = []
    yield lambda lang="en", **options: open_lab_page(browser, lab_site[1], contexts, lang, **options)
    close_all(contexts)


@pytest.fixture(scope="module")
def worker_page(browser, lab_site):
    """One ready page for the tests that only talk to the worker (no clicks): one Pyodide start-up."""
    contexts = []
    yield open_lab_page(browser, lab_site[1], contexts)
    close_all(contexts)


def lab_ids(page):
    return page.evaluate("[...document.querySelectorAll('[data-live-demo=\"train\"]')].map((f) => '#' + f.id)")


def wait_epoch(page, sel, epoch):
    page.wait_for_function("([s, n]) => Number(document.querySelector(s).dataset.epoch) >= n", arg=[sel, epoch])


def cpython_run(site_dir, options, steps):
    man = json.loads((site_dir / "data" / "train" / "mnist.json").read_text())
    data = lab.unpack((site_dir / "data" / "train" / man["file"]).read_bytes(), man)
    run = lab.Lab(data, options)
    for _ in range(steps):
        run.step(1)
    return run


@pytest.mark.parametrize("options", [{"hidden": 0, "size": 5000, "l2": 1e-4, "lr": 1e-3},
                                     {"hidden": 10, "size": 1000, "l2": 1e-3, "lr": 3e-3, "scramble": True}])
def test_browser_training_equals_cpython_train_py(worker_page, lab_site, options):
    page = worker_page
    k = 45                                  # crosses an epoch's end for size 1000 (20 batches)
    got = page.evaluate("""async ([options, k]) => {
        const man = await (await fetch(nnviz.root + "data/train/mnist.json")).json();
        const bytes = new Uint8Array(await (await fetch(nnviz.root + "data/train/" + man.file)).arrayBuffer());
        await nnviz.call("train.load", [bytes, man]);
        await nnviz.call("train.reset", ["parity", options]);
        for (let i = 0; i < k; i += 10) await nnviz.call("train.step", ["parity", Math.min(10, k - i)]);
        return nnviz.call("train.weights", ["parity"]);
    }""", [options, k])
    ref = cpython_run(lab_site[0], options, k)
    assert ref.run.steps == k
    diffs = [np.abs(np.array(b) - a).max() for a, b in zip(ref.run.weights + ref.run.biases, got["weights"] + got["biases"])]
    assert len(diffs) == 2 * len(ref.run.weights)
    assert max(diffs) <= 1e-9, diffs
    assert max(np.abs(a).max() for a in ref.run.weights) > 1e-3        # the run moved the weights


def test_start_pause_resume_reset_and_accuracy_within_two_epochs(open_page):
    page = open_page()
    first = lab_ids(page)[0]
    fig = page.locator(first)
    assert fig.locator("select[name=hidden]").input_value() == "0"
    assert fig.locator("select[name=size]").input_value() == "5000"
    run = fig.locator('[data-action="run"]')
    run.click()
    wait_epoch(page, first, 2)
    accs = page.evaluate(f"document.querySelector('{first}').trainLab")  # hooks exist
    assert accs is not None
    acc = float(fig.get_attribute("data-acc"))
    assert acc > 0.85, acc
    assert fig.locator('[data-count="acc"]').inner_text().endswith("%")
    run.click()                                                          # pause
    page.wait_for_function("([s, v]) => document.querySelector(s).dataset.state === v", arg=[first, 'paused'])
    steps = int(fig.get_attribute("data-steps"))
    seen = page.evaluate(f"nnviz.call('train.view', ['{first[1:]}']).then((v) => v.steps)")
    assert seen == steps and run.inner_text() == "Resume"
    assert page.evaluate(f"nnviz.call('train.view', ['{first[1:]}']).then((v) => v.steps)") == steps
    run.click()                                                          # resume
    page.wait_for_function("([s, n]) => Number(document.querySelector(s).dataset.steps) > n", arg=[first, steps])
    fig.locator('[data-action="reset"]').click()
    assert fig.get_attribute("data-steps") == "0" and fig.get_attribute("data-epoch") == "0"
    page.wait_for_function("([s, v]) => document.querySelector(s).dataset.state === v", arg=[first, 'idle'])
    assert run.inner_text() == "Start"
    canvases = fig.locator(".train-units canvas")
    assert canvases.count() == 10
    assert max(page.evaluate(f"document.querySelector('{first}').trainLab.paintTimes")) < 1000  # repaint ran


def test_scramble_keeps_the_accuracy(open_page):
    page = open_page()
    first = lab_ids(page)[0]
    fig = page.locator(first)
    results = {}
    for scramble in (False, True):
        fig.locator("input[name=scramble]").set_checked(scramble)
        fig.locator('[data-action="reset"]').click()
        fig.locator('[data-action="run"]').click()
        wait_epoch(page, first, 2)
        fig.locator('[data-action="run"]').click()
        page.wait_for_function("([s, v]) => document.querySelector(s).dataset.state === v", arg=[first, 'paused'])
        h = page.evaluate(f"nnviz.call('train.view', ['{first[1:]}']).then((v) => v.history)")
        results[scramble] = h["test_acc"][1]
        assert fig.locator(".train-scrambled").is_visible() == scramble
    assert abs(results[True] - results[False]) <= 0.005, results      # the stated margin: 0.5 points


def test_keyboard_and_touch_at_375px_in_chinese(open_page):
    page = open_page("zh", viewport={"width": 375, "height": 800}, has_touch=True, is_mobile=True)
    second = lab_ids(page)[1]
    fig = page.locator(second)
    assert fig.locator('[data-action="run"]').inner_text() == "开始"
    assert fig.locator("select[name=hidden]").input_value() == "30"
    fig.locator("input[name=l2]").focus()
    page.keyboard.press("End")                                           # keyboard: λ up to 0.01
    assert fig.locator("output[name=l2-out]").inner_text() == "0.01"
    fig.locator('[data-action="run"]').focus()
    page.keyboard.press("Enter")
    page.wait_for_function("(s) => Number(document.querySelector(s).dataset.steps) > 0", arg=second)
    fig.locator('[data-action="run"]').tap()                            # touch: pause
    page.wait_for_function("([s, v]) => document.querySelector(s).dataset.state === v", arg=[second, 'paused'])
    assert fig.locator('[data-action="run"]').inner_text() == "继续"
    assert fig.locator(".train-units canvas").count() == 30
    unit = fig.locator(".train-units button").nth(3)
    unit.focus()
    page.keyboard.press("Enter")                                         # keyboard: inspect a neuron
    assert unit.get_attribute("aria-pressed") == "true"
    assert fig.locator(".train-big figcaption").inner_text() == f"隐藏神经元 {neuron(3, plain=True)}"
    fig.locator(".train-units button").nth(7).tap()                     # touch: another one
    assert fig.locator(".train-big figcaption").inner_text() == f"隐藏神经元 {neuron(7, plain=True)}"
    assert unit.get_attribute("aria-pressed") == "false"
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 375
    box = fig.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 375


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_network_name_fits_its_select_at_1280_px(browser, lab_site, lang):
    """A closed <select> cuts its text silently ("No hidden layer (10 temp…"): every option's text,
    measured in the select's own font, must fit inside it beside the arrow (no runtime needed)."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        page.goto(lab_site[1] + f"{lang}/looking-inside.html")
        fits = page.evaluate("""() => [...document.querySelectorAll('.train-settings select')].flatMap(sel => {
            const cs = getComputedStyle(sel), ctx = document.createElement('canvas').getContext('2d');
            ctx.font = cs.font;
            const room = sel.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight) - 20;  // the arrow
            return [...sel.options].map(o => [o.text, Math.ceil(ctx.measureText(o.text).width), Math.floor(room)]);
        })""")
    finally:
        page.close()
    assert fits and all(w <= room for _, w, room in fits), [f for f in fits if f[1] > f[2]]
