"""The drawing lab (demos/draw) in real Chromium: strokes with mouse, touch and keyboard, and the
numbers on screen checked against CPython running the very same adapter and forward pass.

Sites (one per run, as conftest.site_kinds picks: the real one once built, else the fixture):
  * "fixture": a chapter with both labs (mnist-softmax, then mnist-h16x16), rendered by
    nnviz.render from demos/draw/partial.html into a temp folder, with the vendored runtime, the
    models of the local training cache (.cache/models, the ones the build uses) or, failing that, a
    model trained for 2 epochs here (or random weights if MNIST is not available either).
  * "real": the built site ($NNVIZ_SITE or <repo>/site), on its page holding the labs.

`measure_draw_latency(page)` (pointer event -> repaint, median over 50 strokes) is imported by
the benchmark. Screenshots at 1280 and 375 px go to $NNVIZ_SCREENSHOTS when that is set.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import sys

if str(Path(__file__).parent) not in sys.path:  # imported from outside pytest (the benchmark)
    sys.path.insert(0, str(Path(__file__).parent))
from conftest import (PARITY_TOL, assert_all_local, float32_would_fail, missing,  # noqa: E402
                      nnviz_runtime, random_model, serve_folder, site_kinds)
from nnviz import forward  # noqa: E402
from nnviz.common import pct  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DEEP, SOFT = "mnist-h16x16", "mnist-softmax"
DEEP_LAB = f'[data-live-demo="draw"][data-model="{DEEP}"]'
SOFT_LAB = f'[data-live-demo="draw"][data-model="{SOFT}"]'
TOL = PARITY_TOL


def load_adapter():
    spec = importlib.util.spec_from_file_location("nnviz_demo_draw", REPO / "demos" / "draw" / "adapter.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


draw = load_adapter()


# --------------------------------------------------------------------------- the fixture site

CHAPTER = """---
title: Draw a digit
summary: The drawing lab, alone on a page.
order: 1
---
{prose}

## Without a hidden layer

{prose}

::: demo draw model=mnist-softmax

## Two hidden layers

{prose}

::: demo draw model=mnist-h16x16

{prose}

{prose}
"""
CHAPTER_ZH = """---
title: 写一个数字
summary: 手写实验室。
order: 1
---
{prose}

::: demo draw model=mnist-h16x16
"""
PROSE_ZH = "网络只看得到 784 个数字。这一段代替正文，让页面在手机上足够长、可以滚动。" * 4
PROSE = ("A network only ever sees 784 numbers. This paragraph stands in for the chapter's text, "
         "long enough that the page scrolls on a phone, so that drawing can be checked not to scroll it. ") * 3


def fixture_models():
    """({name: Model}, trained: bool, note). The build's cached models when present, else a quick
    2-epoch training run, else random weights."""
    try:
        from nnviz import data, train
        from nnviz.cache import cache_key
        from nnviz.specs import BY_NAME
        ds = data.load("mnist")
    except Exception as e:  # no MNIST here: random weights still test all the plumbing
        return ({DEEP: random_model(), SOFT: random_model((784, 10), seed=1, name=SOFT)}, False,
                f"random weights (MNIST unavailable: {type(e).__name__})"), None
    models, notes = {}, []
    cache = Path(os.environ.get("NNVIZ_MODEL_CACHE") or REPO / ".cache") / "models"
    for name in (DEEP, SOFT):
        spec = BY_NAME[name]
        path = cache / f"{name}-{cache_key(spec, ds.digest)}.npz"
        if path.is_file():
            models[name] = forward.load(path, name=name)
            notes.append(f"{name}: build cache")
        else:
            model, _ = train.train(dataclasses.replace(spec, epochs=2), ds, progress=_Quiet())
            models[name] = forward.load(forward.to_bytes(model), name=name)
            notes.append(f"{name}: trained 2 epochs")
    return (models, True, ", ".join(notes)), ds


class _Quiet:
    def update(self, *a, **k):
        pass

    def done(self, *a, **k):
        pass


def model_entry(model):
    s = model.spec
    return {"name": model.name, "dataset": "mnist", "layers": list(model.layers),
            "activation": s.get("activation", "relu"), "classes": [str(d) for d in range(10)],
            "test_accuracy": None, "train_accuracy": None, "params": 0, "epochs": s.get("epochs", 0),
            "train_seconds": 0, "file": f"data/models/{model.name}.npz", "note": ""}


def build_draw_site(out: Path) -> tuple[dict, bool, str]:
    """Render the fixture chapter with nnviz.render into `out`, plus runtime, models and samples."""
    from nnviz import export
    from nnviz.render import render_site
    (models, trained, note), ds = fixture_models()
    for model in models.values():
        (out / "data" / "models").mkdir(parents=True, exist_ok=True)
        (out / "data" / "models" / f"{model.name}.npz").write_bytes(forward.to_bytes(model))
        export.export_weight_grids(out, model)
    if ds is None:  # synthetic "test digits": rings and bars
        @dataclass
        class FakeDs:
            name: str
            x_test: np.ndarray
            y_test: np.ndarray
            classes: tuple
        yy, xx = np.mgrid[0:28, 0:28]
        ring = np.clip(1 - np.abs(np.hypot(yy - 14, xx - 14) - 7) / 1.5, 0, 1)
        bar = ((xx >= 13) & (xx <= 15) & (yy >= 4) & (yy <= 23)).astype(float)
        imgs = np.stack([ring, bar] * 10)
        ds = FakeDs("mnist", np.round(255 * imgs).astype(np.uint8), np.array([0, 1] * 10), tuple("0123456789"))
    export.export_samples(out, ds, range(300))
    root = out.parent / (out.name + "-src")
    (root / "chapters" / "en").mkdir(parents=True)
    (root / "chapters" / "en" / "draw.md").write_text(CHAPTER.format(prose=PROSE))
    (root / "chapters" / "zh").mkdir(parents=True)
    (root / "chapters" / "zh" / "draw.md").write_text(CHAPTER_ZH.format(prose=PROSE_ZH), encoding="utf-8")
    for name in ("templates", "demos", "static"):
        (root / name).symlink_to(REPO / name)
    context = {"models": {n: model_entry(m) for n, m in models.items()}, "vars": {}, "notices": [],
               "data": {"analysis": {}, "compare": {}, "datasets": {"mnist": {"classes": list("0123456789")}}}}
    render_site(root, out, context, strict=True, progress=lambda *a: None)
    nnviz_runtime.vendor(out, REPO, progress=lambda *a: None)
    (out / "data" / "models.json").write_text(json.dumps(list(context["models"].values())))
    return models, trained, note


@dataclass
class DrawSite:
    kind: str
    root: Path
    page: str             # relative URL of the page with both labs
    trained: bool         # real weights: the model's answers mean something
    note: str

    def model(self, name):
        return forward.load(self.root / "data" / "models" / f"{name}.npz", name=name)


def find_lab_page(root: Path) -> str | None:
    for page in sorted(root.rglob("*.html")):
        text = page.read_text(encoding="utf-8", errors="replace")
        if 'data-live-demo="draw"' in text and f'data-model="{DEEP}"' in text:
            return page.relative_to(root).as_posix()
    return None


@pytest.fixture(scope="session", params=site_kinds())
def draw_site(request, tmp_path_factory) -> DrawSite:
    if request.param == "fixture":
        out = tmp_path_factory.mktemp("draw") / "site"
        _, trained, note = build_draw_site(out)
        return DrawSite("fixture", out, "en/draw.html", trained, note)
    root = Path(os.environ.get("NNVIZ_SITE") or REPO / "site")
    if not (root / "index.html").is_file():
        missing(f"no built site at {root} (run `make site`, or set NNVIZ_SITE)")
    page = find_lab_page(root)
    if page is None:
        missing(f"no page of {root} holds the drawing lab for {DEEP}")
    if not (root / "runtime" / "manifest.json").is_file():
        missing(f"{root} has no runtime/")
    return DrawSite("real", root, page, True, "the built site")


@pytest.fixture(scope="session")
def draw_server(draw_site):
    with serve_folder(draw_site.root) as url:
        yield url


@pytest.fixture(scope="session")
def chromium(browser):
    """The shared Chromium of conftest.py (a second Playwright in one process would clash)."""
    return browser


def new_page(chromium, draw_site, draw_server, **context_args):
    context = chromium.new_context(**{"viewport": {"width": 1280, "height": 900}, **context_args})
    requests, messages = [], []
    context.on("request", lambda r: requests.append(r.url))
    pg = context.new_page()
    pg.set_default_timeout(90_000)
    pg.on("console", lambda m: messages.append(f"console.{m.type}: {m.text}"))
    pg.on("pageerror", lambda e: messages.append(f"pageerror: {e}"))
    pg.requests, pg.messages, pg.site, pg.url_of = requests, messages, draw_site, draw_server + draw_site.page
    return context, pg


@pytest.fixture
def lab_page(chromium, draw_site, draw_server):
    context, pg = new_page(chromium, draw_site, draw_server)
    yield pg
    context.close()
    assert_all_local(pg.requests)
    errors = [m for m in pg.messages if m.startswith("pageerror")]
    assert not errors, errors


# --------------------------------------------------------------------------- helpers

def open_lab(page, lab=DEEP_LAB, url=None):
    """Go to the labs' page, wait for the runtime and the lab's first repaint; returns the lab element."""
    page.goto(url or page.url_of)
    el = page.locator(lab)
    page.locator(f"{lab} .draw-grid").scroll_into_view_if_needed()
    try:
        page.evaluate("() => nnviz.start()")
    except Exception as e:
        raise AssertionError(f"runtime did not load: {e}\n" + "\n".join(page.messages[-20:]))
    wait_repaint(page, lab)
    return el


def wait_repaint(page, lab=DEEP_LAB):
    """Wait until the lab shows the result for its latest drawing, with nothing in flight."""
    page.wait_for_function(
        """(sel) => { const el = document.querySelector(sel);
                      return el && el.drawLab && el.nnvizLast && !el.drawLab.busy
                             && el.nnvizLast.seq === el.drawLab.seq; }""", arg=lab)
    return page.evaluate("(sel) => document.querySelector(sel).nnvizLast", lab)


def grid_box(page, lab=DEEP_LAB):
    grid = page.locator(f"{lab} .draw-grid")
    grid.scroll_into_view_if_needed()
    return grid.bounding_box()


def to_client(box, x, y):
    """Grid coordinates (0..28) -> page coordinates."""
    return box["x"] + x / 28 * box["width"], box["y"] + y / 28 * box["height"]


def mouse_stroke(page, points, lab=DEEP_LAB):
    box = grid_box(page, lab)
    page.mouse.move(*to_client(box, *points[0]))
    page.mouse.down()
    for p in points[1:]:
        page.mouse.move(*to_client(box, *p), steps=3)
    page.mouse.up()


def bar_points(x=14.0, top=4.5, bottom=23.5):
    return [(x, top + (bottom - top) * t / 12) for t in range(13)]


def loop_points(cx=14.0, cy=14.0, rx=6.0, ry=8.5, n=40):
    return [(cx + rx * np.sin(2 * np.pi * k / n), cy - ry * np.cos(2 * np.pi * k / n)) for k in range(n + 2)]


def cpython_repaint(model, last):
    """What the adapter says in CPython for exactly the pixels and options the page sent."""
    options = {k: v for k, v in last["options"].items()}
    return draw.repaint(model, np.asarray(last["pixels"], dtype=np.float64), options)


def assert_matches_cpython(model, last):
    cpu = cpython_repaint(model, last)
    float32_would_fail([np.asarray(cpu["probs"])])
    assert np.max(np.abs(np.asarray(last["input"]) - cpu["input"])) <= TOL
    diff = np.max(np.abs(np.asarray(last["probs"]) - cpu["probs"]))
    assert diff <= TOL, f"max |browser - CPython| = {diff:.3g}"
    # and forward.py directly, on the 784 pixels the model was fed
    direct = forward.predict(model, np.asarray(last["input"], dtype=np.float64))
    assert np.max(np.abs(np.asarray(last["probs"]) - direct)) <= TOL
    for a, b in zip(last["activations"], forward.forward(model, np.asarray(last["input"], dtype=np.float64))):
        assert np.max(np.abs(np.asarray(a) - b)) <= TOL
    assert last["pred"] == cpu["pred"] == int(np.argmax(direct))
    return cpu


def shown_probs(page, lab=DEEP_LAB):
    """(bar heights as fractions, percent texts, verdict digit, verdict confidence text)."""
    return page.evaluate("""(sel) => {
        const el = document.querySelector(sel);
        const outs = Array.from(el.querySelectorAll('.draw-out'));
        return {
          heights: outs.map((b) => parseFloat(b.querySelector('.draw-bar-fill').style.height) / 100),
          texts: outs.map((b) => b.querySelector('.draw-out-pct').textContent),
          pred: outs.findIndex((b) => b.classList.contains('is-pred')),
          digit: el.querySelector('.draw-verdict-digit').textContent,
          conf: el.querySelector('.draw-verdict-conf').textContent,
        }; }""", lab)


def percent_text(p):
    """The lab's confidence text (sure() in demos/draw/dom.js): whole percents from 10% up to
    99.5%, one decimal outside that, with the site's rule that a p < 1 never reads 100%."""
    return pct(p, 0 if 0.1 <= p < 0.995 else 1)


def clear(page, lab=DEEP_LAB):
    page.click(f'{lab} [data-action="clear"]')
    return wait_repaint(page, lab)


# --------------------------------------------------------------------------- tests

def test_mouse_strokes_bar_and_loop_match_cpython(lab_page):
    page = lab_page
    model = page.site.model(DEEP)
    open_lab(page)
    mouse_stroke(page, bar_points())
    bar = wait_repaint(page)
    assert sum(bar["pixels"]) > 10, "the stroke left no ink"
    cpu = assert_matches_cpython(model, bar)
    shown = shown_probs(page)
    assert np.allclose(shown["heights"], bar["probs"], atol=1e-4)
    assert shown["pred"] == cpu["pred"] and shown["digit"] == str(cpu["pred"])
    assert "%" in shown["conf"]
    if page.site.trained:
        assert cpu["pred"] == 1, f"CPython reads the vertical bar as {cpu['pred']} ({page.site.note})"

    clear(page)
    mouse_stroke(page, loop_points())
    loop = wait_repaint(page)
    cpu = assert_matches_cpython(model, loop)
    shown2 = shown_probs(page)
    assert shown2["heights"] != shown["heights"], "the bars did not change"
    assert np.allclose(shown2["heights"], loop["probs"], atol=1e-4)
    assert shown2["digit"] == str(cpu["pred"])
    if page.site.trained:
        assert cpu["pred"] == 0, f"CPython reads the loop as {cpu['pred']} ({page.site.note})"
    # the preprocessing strip shows MNIST's steps: centred input has its centre of mass at (14, 14)
    com = draw.centre_of_mass(np.asarray(loop["input"]).reshape(28, 28))
    assert abs(com[0] - 14) <= 0.5 + 1e-9 and abs(com[1] - 14) <= 0.5 + 1e-9
    print(f"\n[{page.site.kind}: {page.site.note}] bar -> {bar['pred']} ({bar['conf']:.3f}), "
          f"loop -> {loop['pred']} ({loop['conf']:.3f})")


def test_noise_gets_a_confident_answer_shown_with_its_confidence(lab_page):
    page = lab_page
    model = page.site.model(DEEP)
    open_lab(page)
    page.click(f'{DEEP_LAB} [data-action="noise"]')
    page.wait_for_function("(sel) => document.querySelector(sel).nnvizLast.pixels.filter((v) => v > 0).length > 700",
                           arg=DEEP_LAB)
    last = wait_repaint(page)
    cpu = assert_matches_cpython(model, last)
    note = page.locator(f"{DEEP_LAB} .draw-note")
    page.wait_for_function("(sel) => document.querySelector(sel + ' .draw-note').textContent.includes('%')", arg=DEEP_LAB)
    text = note.inner_text()
    assert str(cpu["pred"]) in text and "noise" in text, text
    assert percent_text(cpu["conf"]) in text, (text, cpu["conf"])
    shown = shown_probs(page)
    assert shown["digit"] == str(cpu["pred"]) and shown["conf"].startswith(percent_text(cpu["conf"]))
    print(f"\n[{page.site.kind}] noise -> {cpu['pred']} with p = {cpu['conf']:.3f}: {text!r}")


def test_url_state_restores_drawing_and_selected_neuron(lab_page):
    page = lab_page
    model = page.site.model(DEEP)
    open_lab(page)
    mouse_stroke(page, loop_points(rx=5, ry=7))
    page.click(f'{DEEP_LAB} .draw-neuron[data-layer="2"][data-unit="5"]')
    drawn = wait_repaint(page)
    page.wait_for_function("() => /demo-\\d+=1~[^&]*n2-5/.test(location.hash)")
    url = page.url
    assert len(url) < 1200, f"state URL is {len(url)} characters"
    page.goto("about:blank")
    open_lab(page, url=url)
    last = wait_repaint(page)
    want = np.round(np.clip(drawn["pixels"], 0, 1) * 15) / 15
    assert np.max(np.abs(np.asarray(last["pixels"]) - want)) < 1e-6, "the drawing was not restored"
    assert last["options"]["neuron"] == [2, 5]
    assert page.locator(f'{DEEP_LAB} .draw-neuron[data-layer="2"][data-unit="5"]').get_attribute("aria-pressed") == "true"
    assert_matches_cpython(model, last)
    name = page.locator(f"{DEEP_LAB} .draw-inspect-name").inner_text()
    # neurons are numbered from 1 everywhere (h1 … hn): the neuron at index 5 is h6
    assert re.findall(r"\d+", name) == ["2", "6"], f"the inspector names {name!r}, not hidden layer 2's neuron h6"
    # the other lab on the page kept its own (empty) state
    soft = page.evaluate(f"() => Array.from(document.querySelector('{SOFT_LAB}').drawLab.ink).some((v) => v > 0)")
    assert soft is False


def test_touch_drawing_works_and_does_not_scroll(chromium, draw_site, draw_server):
    context, page = new_page(chromium, draw_site, draw_server, has_touch=True, is_mobile=True,
                             viewport={"width": 390, "height": 740}, device_scale_factor=2)
    try:
        open_lab(page)
        box = grid_box(page)
        scroll0 = page.evaluate("() => window.scrollY")
        cdp = context.new_cdp_session(page)
        pts = [to_client(box, x, y) for x, y in bar_points(x=13)]
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": pts[0][0], "y": pts[0][1]}]})
        for x, y in pts[1:]:
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        last = wait_repaint(page)
        ink = np.asarray(last["pixels"]).reshape(28, 28)
        assert ink.sum() > 10, "touch left no ink"
        rows = np.flatnonzero(ink.max(axis=1) > 0.5)
        assert rows[-1] - rows[0] >= 15, "the touch stroke was cut short (did the page scroll instead?)"
        assert page.evaluate("() => window.scrollY") == scroll0, "drawing scrolled the page"
        assert_matches_cpython(draw_site.model(DEEP), last)
        overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{overflow}px horizontal overflow on a phone"
    finally:
        context.close()


# Records, from before the page's own scripts run, every draw.repaint request the page posts to a
# worker (per model: each lab on the page has its own) and every answer, and every pointermove.
WORKER_PROBE = """
window.__probe = {posts: {}, inflight: {}, maxInflight: {}, moves: 0, ids: new Map()};
const post = Worker.prototype.postMessage;
Worker.prototype.postMessage = function (msg, ...rest) {
  const p = window.__probe;
  if (msg && msg.fn === "draw.repaint") {
    const lab = JSON.stringify(msg.args[0]);
    p.posts[lab] = (p.posts[lab] || 0) + 1;
    p.inflight[lab] = (p.inflight[lab] || 0) + 1;
    p.maxInflight[lab] = Math.max(p.maxInflight[lab] || 0, p.inflight[lab]);
    p.ids.set(msg.id, lab);
  }
  return post.call(this, msg, ...rest);
};
// Our listener goes first, so an answer is counted before the page's handler can post the next.
const PageWorker = window.Worker;
window.Worker = class extends PageWorker {
  constructor(...args) {
    super(...args);
    this.addEventListener("message", (e) => {
      const p = window.__probe, lab = e.data && p.ids.get(e.data.id);
      if (lab) { p.ids.delete(e.data.id); p.inflight[lab]--; } });
  }
};
addEventListener("pointermove", () => window.__probe.moves++, true);
"""


BURST = """(sel) => {
    const el = document.querySelector(sel), grid = el.querySelector('.draw-grid'), p = window.__probe;
    const lab = JSON.stringify(nnviz.model(el.dataset.model));
    const r = grid.getBoundingClientRect();
    const fire = (type, k) => grid.dispatchEvent(new PointerEvent(type, {pointerId: 9, pointerType: 'mouse',
        isPrimary: true, bubbles: true, cancelable: true, button: 0, buttons: type === 'pointerup' ? 0 : 1,
        clientX: r.left + (6 + k * 0.4) / 28 * r.width, clientY: r.top + (5 + k * 0.45) / 28 * r.height}));
    p.maxInflight[lab] = p.inflight[lab] || 0;
    const before = p.posts[lab] || 0;
    fire('pointerdown', 0);
    for (let k = 1; k <= 40; k++) fire('pointermove', k);
    fire('pointerup', 40);
    return {lab, before, during: (p.posts[lab] || 0) - before};
}"""


def test_drawing_never_computes_on_the_main_thread(lab_page):
    """The structural property behind a smooth drawing (timings belong in `make bench`): the main
    thread never loads Python, so the forward pass can only run in the worker; a burst of 40
    pointer moves in one task (input faster than any worker) posts at most one request, and the
    whole burst at most two (the one out, then one for the latest drawing); the last drawing is
    the one shown, and it matches CPython."""
    page = lab_page
    page.add_init_script(WORKER_PROBE)
    open_lab(page)
    mouse_stroke(page, bar_points())                     # real mouse input goes through the worker too
    wait_repaint(page)
    burst = page.evaluate(BURST, DEEP_LAB)
    last = wait_repaint(page)
    probe = page.evaluate("() => ({...window.__probe, ids: window.__probe.ids.size})")
    main = page.evaluate("""() => ({pyodide: typeof window.loadPyodide, py: typeof window.pyodide,
        fetched: performance.getEntriesByType('resource').map((r) => r.name)
                 .filter((u) => /pyodide\\.asm|python_stdlib|nnviz\\.zip|numpy-/.test(u))})""")
    assert main == {"pyodide": "undefined", "py": "undefined", "fetched": []}, \
        f"the main thread loaded the Python runtime: {main}"
    lab = burst["lab"]
    assert burst["before"] > 0, "no repaint request went to a worker"
    assert burst["during"] <= 1, f"42 input events in one task posted {burst['during']} requests"
    assert probe["posts"][lab] - burst["before"] <= 2, f"the burst cost {probe['posts'][lab] - burst['before']} requests"
    assert probe["maxInflight"][lab] == 1, f"{probe['maxInflight'][lab]} requests of one lab were out at once"
    assert set(probe["inflight"].values()) == {0} and probe["ids"] == 0, f"a repaint request was never answered: {probe}"
    ink = np.asarray(last["pixels"]).reshape(28, 28)
    assert ink[22:25, 21:24].max() > 0, "the repaint shown does not include the burst's last point (22, 23)"
    assert_matches_cpython(page.site.model(DEEP), last)


def test_keyboard_draws_and_selects(lab_page):
    page = lab_page
    open_lab(page)
    grid = page.locator(f"{DEEP_LAB} .draw-grid")
    grid.focus()
    page.keyboard.down(" ")
    for _ in range(8):
        page.keyboard.press("ArrowDown")
    page.keyboard.up(" ")
    last = wait_repaint(page)
    ink = np.asarray(last["pixels"]).reshape(28, 28)
    assert ink[14:23, 14].min() > 0.9, "space + arrows did not paint a line"
    page.keyboard.press("Control+z")
    last = wait_repaint(page)
    assert sum(last["pixels"]) == 0, "undo did not remove the keyboard stroke"
    # Tab reaches the tools, the toggles, the sliders and the neurons; all have visible focus
    reached = []
    for _ in range(40):
        page.keyboard.press("Tab")
        info = page.evaluate("""() => { const a = document.activeElement;
            return {cls: a.className, action: a.dataset.action || a.dataset.control || '',
                    outline: getComputedStyle(a).outlineStyle, layer: a.dataset.layer || ''}; }""")
        reached.append(info)
    actions = {r["action"] for r in reached}
    assert {"clear", "noise", "invert", "digit", "centre", "dx", "scale"} <= actions, actions
    assert any("draw-neuron" in r["cls"] for r in reached)
    assert all(r["outline"] != "none" for r in reached if "draw-neuron" in r["cls"] or r["action"])
    # arrow keys move between neurons and select them
    page.locator(f'{DEEP_LAB} .draw-neuron[data-layer="1"][data-unit="0"]').focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowDown")
    last = wait_repaint(page)
    assert last["options"]["neuron"][0] == 2
    assert page.evaluate("() => document.activeElement.dataset.layer") == "2"


def test_inspect_neuron_shows_weights_and_its_arithmetic(lab_page):
    page = lab_page
    model = page.site.model(DEEP)
    open_lab(page)
    mouse_stroke(page, bar_points())
    for layer, unit in [(1, 3), (2, 7), (3, 1)]:
        page.click(f'{DEEP_LAB} .draw-neuron[data-layer="{layer}"][data-unit="{unit}"]')
        last = wait_repaint(page)
        assert last["options"]["neuron"] == [layer, unit]
        cpu = cpython_repaint(model, last)["neuron"]
        arith = page.locator(f"{DEEP_LAB} .draw-arith").inner_text()
        z_text = page.locator(f"{DEEP_LAB} .draw-z .draw-term-value").inner_text().replace("−", "-")
        assert abs(float(z_text) - cpu["z"]) < 1e-3, (arith, cpu["z"])
        if layer == 1:
            canvas = page.locator(f'{DEEP_LAB} [data-map="weights"] canvas')
            assert canvas.count() == 1
            assert page.locator(f"{DEEP_LAB} .draw-folded").is_visible()
            # hovering a pixel spells out its term: weight x ink = contribution (row 14, column 14)
            canvas.scroll_into_view_if_needed()
            box = canvas.bounding_box()
            page.mouse.move(box["x"] + 14.5 / 28 * box["width"], box["y"] + 14.5 / 28 * box["height"])
            hover = page.locator(f"{DEEP_LAB} .draw-hover").inner_text().replace("−", "-")
            k = 14 * 28 + 14
            assert "(row 14, column 14)" in hover and f"{abs(cpu['contrib'][k]):.3f}" in hover, hover
        else:
            assert page.locator(f'{DEEP_LAB} [data-map="weights"] .draw-cell').count() == 16
        if layer == 3:
            assert "%" in page.locator(f"{DEEP_LAB} .draw-value .draw-term-value").inner_text()


def test_preprocessing_toggle_shift_scale_and_shift_map(lab_page):
    page = lab_page
    model = page.site.model(DEEP)
    open_lab(page)
    mouse_stroke(page, bar_points(x=5, top=2, bottom=12))
    on = wait_repaint(page)
    page.click(f'{DEEP_LAB} [data-control="centre"]')
    off = wait_repaint(page)
    assert off["options"]["centre"] is False
    assert np.allclose(off["input"], off["pixels"]), "with preprocessing off the model must see the raw drawing"
    assert not np.allclose(on["input"], off["input"])
    assert_matches_cpython(model, off)
    page.click(f'{DEEP_LAB} [data-control="centre"]')
    page.locator(f'{DEEP_LAB} [data-control="dx"]').fill("3")
    page.locator(f'{DEEP_LAB} [data-control="scale"]').fill("0.8")
    moved = wait_repaint(page)
    assert moved["options"]["dx"] == 3 and moved["options"]["scale"] == 0.8
    assert_matches_cpython(model, moved)
    page.click(f"{DEEP_LAB} .draw-shift summary")
    page.wait_for_function("(sel) => document.querySelector(sel).nnvizLast.options.shift_map", arg=DEEP_LAB)
    mapped = wait_repaint(page)
    assert mapped["options"]["shift_map"] is True
    page.wait_for_function("(sel) => /\\d+.*169/.test(document.querySelector(sel + ' .draw-shift-sum').textContent)", arg=DEEP_LAB)
    cpu = cpython_repaint(model, mapped)["shift_map"]
    stable = round(cpu["stable"] * 169)
    assert f"{stable} " in page.locator(f"{DEEP_LAB} .draw-shift-sum").inner_text()


def test_test_digit_invert_and_blank(lab_page):
    page = lab_page
    model = page.site.model(DEEP)
    open_lab(page)
    page.click(f'{DEEP_LAB} [data-action="digit"]')
    page.wait_for_function("(sel) => document.querySelector(sel + ' .draw-note').textContent.includes('#')", arg=DEEP_LAB)
    digit = wait_repaint(page)
    assert sum(digit["pixels"]) > 20
    assert_matches_cpython(model, digit)
    page.click(f'{DEEP_LAB} [data-action="invert"]')
    page.wait_for_function("(sel) => document.querySelector(sel).nnvizLast.pixels.filter((v) => v > 0.99).length > 400",
                           arg=DEEP_LAB)
    inverted = wait_repaint(page)
    assert np.allclose(inverted["pixels"], 1 - np.asarray(digit["pixels"]), atol=1e-6)
    assert_matches_cpython(model, inverted)
    blank = clear(page)
    assert sum(blank["pixels"]) == 0
    cpu = assert_matches_cpython(model, blank)
    note = page.locator(f"{DEEP_LAB} .draw-note").inner_text()
    assert "empty" in note and f"answers {cpu['pred']}," in note, note
    page.click(f'{DEEP_LAB} [data-action="undo"]')
    again = wait_repaint(page)
    assert np.allclose(again["pixels"], inverted["pixels"])


def test_softmax_lab_why_a_and_not_b(lab_page):
    page = lab_page
    model = page.site.model(SOFT)
    open_lab(page, SOFT_LAB)
    assert page.locator(f"{SOFT_LAB} .draw-neuron").count() == 10  # only the output layer
    mouse_stroke(page, loop_points(), SOFT_LAB)
    last = wait_repaint(page, SOFT_LAB)
    cpu = assert_matches_cpython(model, last)
    why = cpu["why"]
    assert (why["a"], why["b"]) == (cpu["pred"], cpu["second"])
    title = page.locator(f"{SOFT_LAB} .draw-why-title").inner_text()
    assert str(cpu["pred"]) in title and str(cpu["second"]) in title
    arith = page.locator(f"{SOFT_LAB} .draw-why-arith").inner_text().replace("−", "-")
    assert f"{why['diff']:.3f}" in arith, (arith, why)
    page.select_option(f'{SOFT_LAB} [data-control="why-b"]', "8" if cpu["pred"] != 8 else "3")
    manual = wait_repaint(page, SOFT_LAB)
    assert manual["options"]["why"] == [cpu["pred"], 8 if cpu["pred"] != 8 else 3]
    assert_matches_cpython(model, manual)


def test_layout_at_1280_and_375_without_overflow(chromium, draw_site, draw_server):
    shots = os.environ.get("NNVIZ_SCREENSHOTS")
    for width in (1280, 375):
        context, page = new_page(chromium, draw_site, draw_server, viewport={"width": width, "height": 1000})
        try:
            open_lab(page)
            mouse_stroke(page, loop_points())
            page.click(f"{DEEP_LAB} .draw-shift summary")
            wait_repaint(page)
            overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{overflow}px horizontal overflow at {width}px"
            for lab in (DEEP_LAB, SOFT_LAB):
                wide = page.evaluate("""(sel) => { const lab = document.querySelector(sel);
                    const r = lab.getBoundingClientRect();
                    return Array.from(lab.querySelectorAll('*')).filter((e) => {
                      const b = e.getBoundingClientRect();
                      return b.width && (b.right > r.right + 1 || b.left < r.left - 1); }).map((e) => e.className); }""", lab)
                assert not wide, f"elements stick out of the lab at {width}px: {wide[:5]}"
            if shots:
                Path(shots).mkdir(parents=True, exist_ok=True)
                page.locator(DEEP_LAB).screenshot(path=f"{shots}/draw-{width}.png")
                page.locator(SOFT_LAB).screenshot(path=f"{shots}/draw-softmax-{width}.png")
        finally:
            context.close()


def test_chinese_page_and_dark_mode(chromium, draw_site, draw_server):
    zh = draw_site.page.replace("en/", "zh/", 1)
    if not (draw_site.root / zh).is_file():
        missing(f"no Chinese page {zh} in {draw_site.root}")
    context, page = new_page(chromium, draw_site, draw_server, color_scheme="dark")
    try:
        open_lab(page, url=draw_server + zh)
        assert page.locator(f"{DEEP_LAB} .draw-verdict-label").inner_text() == "网络认为是"
        mouse_stroke(page, bar_points())
        last = wait_repaint(page)
        assert_matches_cpython(draw_site.model(DEEP), last)
        assert "把握" in page.locator(f"{DEEP_LAB} .draw-verdict-conf").inner_text()
        # dark mode: the paper of the drawing grid is dark, the ink light
        paper = page.evaluate(f"""() => {{ const c = document.querySelector('{DEEP_LAB} .draw-grid');
            return Array.from(c.getContext('2d').getImageData(2, 2, 1, 1).data.slice(0, 3)); }}""")
        assert sum(paper) < 3 * 80, paper
        if os.environ.get("NNVIZ_SCREENSHOTS"):
            page.locator(DEEP_LAB).screenshot(path=f"{os.environ['NNVIZ_SCREENSHOTS']}/draw-zh-dark.png")
    finally:
        context.close()


def test_blocked_runtime_shows_the_fallback(chromium, draw_site, draw_server):
    context, page = new_page(chromium, draw_site, draw_server)
    try:
        page.route("**/runtime/pyodide/**", lambda route: route.abort())
        page.goto(page.url_of)
        page.locator(DEEP_LAB).scroll_into_view_if_needed()
        page.wait_for_selector("html[data-runtime=failed]", timeout=60_000)
        lab = page.locator(DEEP_LAB)
        assert "runtime-failed" in lab.get_attribute("class")
        img = lab.locator("img.fallback")
        img.scroll_into_view_if_needed()
        assert img.is_visible() and img.evaluate("(el) => el.complete && el.naturalWidth > 0")
        assert lab.locator(".runtime-note").is_visible()
        assert not lab.locator(".draw-grid").is_visible()
    finally:
        context.close()


# --------------------------------------------------------------------------- latency (the benchmark imports this)

def measure_draw_latency(page, lab=DEEP_LAB, strokes=50):
    """Pointer event -> repaint on the lab at `lab` (already loaded and ready, see open_lab).

    For each of `strokes` short strokes, dispatched in the page as real PointerEvents on the grid
    at a different moment of the frame each time (0-15 ms after a frame starts, as a hand would):
    t0 = the pointerdown event's timeStamp; the lab repaints its DOM once the worker answers for a
    drawing that includes it (t_dom); the next requestAnimationFrame timestamp after that is when
    the new picture reaches the screen. Latency = that rAF timestamp - t0 (so it includes waiting
    for the next frame). The lab is idle before each stroke, so every stroke pays one full worker
    round trip. Also measured: a pointermove sent while that request is still out, which must wait
    for it (at most one request in flight), then for its own round trip.
    Returns {median_ms, p95_ms, dom_median_ms, move_median_ms, n, samples}."""
    page.evaluate("() => nnviz.start()")
    wait_repaint(page, lab)
    return page.evaluate("""async ([sel, strokes]) => {
        const el = document.querySelector(sel);
        const lab = el.drawLab;
        const grid = el.querySelector('.draw-grid');
        const frame = () => new Promise((r) => requestAnimationFrame(r));
        const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
        const idle = async () => { while (lab.busy || el.nnvizLast.seq !== lab.seq) await frame(); };
        const repaintOf = (seq) => new Promise((resolve) => {
          const on = (e) => { if (e.detail.seq >= seq) { el.removeEventListener('draw:repaint', on); resolve(performance.now()); } };
          el.addEventListener('draw:repaint', on);
        });
        const fire = (type, x, y) => {
          const r = grid.getBoundingClientRect();
          const ev = new PointerEvent(type, {pointerId: 7, pointerType: 'mouse', isPrimary: true, bubbles: true,
            cancelable: true, button: 0, buttons: type === 'pointerup' ? 0 : 1,
            clientX: r.left + x / 28 * r.width, clientY: r.top + y / 28 * r.height});
          grid.dispatchEvent(ev);
          return ev.timeStamp;
        };
        const down = [], dom = [], move = [];
        for (let i = 0; i < strokes; i++) {
          if (i % 10 === 0) { lab.setInk(new Float32Array(784)); await idle(); }
          await idle();
          await frame();
          await sleep((i * 7) % 16);
          const x = 6 + (i * 7) % 16, y = 5 + (i * 3) % 10;
          const t0 = fire('pointerdown', x, y);
          const painted = repaintOf(lab.seq);
          const t1 = fire('pointermove', x + 1, y + 6);
          const moved = repaintOf(lab.seq);
          const tDom = await painted;
          down.push((await frame()) - t0);
          dom.push(tDom - t0);
          await moved;
          move.push((await frame()) - t1);
          fire('pointerup', x + 1, y + 6);
        }
        await idle();
        const stat = (a) => { const s = [...a].sort((p, q) => p - q);
          return {median: s[Math.floor(s.length / 2)], p95: s[Math.min(s.length - 1, Math.floor(s.length * 0.95))]}; };
        const d = stat(down);
        return {median_ms: d.median, p95_ms: d.p95, dom_median_ms: stat(dom).median,
                move_median_ms: stat(move).median, n: down.length, samples: down};
    }""", [lab, strokes])
