"""The browser runtime, tested in real Chromium against CPython's forward.py.

Browser tests run on each site of the `site` fixture (conftest.py): the minimal fixture site and,
once built, the real site. The first tests need no browser: they check the vendoring itself.
"""
from __future__ import annotations

import io
import json
import re
import zipfile

import numpy as np
import pytest

from pathlib import Path

from conftest import PARITY_TOL, assert_all_local, float32_would_fail, serve_folder  # tests/browser/conftest.py
from nnviz import forward  # conftest puts src/ on sys.path when nnviz is not installed

REPO = Path(__file__).resolve().parents[2]
DEMO_MODEL = "mnist-h16x16"  # the model every live-demo page can use (see conftest)
TOL = PARITY_TOL


# --------------------------------------------------------------------------- vendoring (no browser)

def test_package_zip_is_deterministic_and_holds_our_forward_pass(vendor_module):
    vendor = vendor_module
    first, second = vendor.package_zip(REPO), vendor.package_zip(REPO)
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as z:
        names = z.namelist()
        assert names == sorted(names) and {"nnviz/__init__.py", "nnviz/forward.py"} <= set(names)
        assert z.read("nnviz/forward.py") == (REPO / "src/nnviz/forward.py").read_bytes()
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    for adapter in (REPO / "demos").glob("*/adapter.py"):
        assert f"nnviz/demos/{adapter.parent.name}.py" in names


def test_numpy_wheel_hash_mismatch_fails_naming_file_expected_and_actual(tmp_path, monkeypatch, vendor_module):
    vendor = vendor_module
    fake = tmp_path / vendor.NUMPY_WHEEL
    fake.write_bytes(b"not numpy")
    with pytest.raises(vendor.VendorError) as err:
        vendor.check_numpy(fake, vendor.NUMPY_SHA256)
    message = str(err.value)
    assert str(fake) in message and vendor.NUMPY_SHA256 in message
    assert vendor.sha256_of(fake) in message
    # right pinned hash, but a pyodide-lock.json that disagrees: named too
    monkeypatch.setattr(vendor, "NUMPY_SHA256", vendor.sha256_of(fake))
    with pytest.raises(vendor.VendorError, match="pyodide-lock.json"):
        vendor.check_numpy(fake, "0" * 64)


def test_pinned_numpy_matches_pyodide_lock(vendor_module, missing):
    vendor = vendor_module
    lock = REPO / "node_modules" / "pyodide" / "pyodide-lock.json"
    if not lock.is_file():
        missing("node_modules/pyodide missing: run `npm ci`")
    assert vendor.lock_numpy_sha256(lock) == vendor.NUMPY_SHA256


def test_runtime_files_carry_their_content_hash_and_sw_js_this_builds_manifest(fixture_site):
    import hashlib
    root = fixture_site.root
    manifest = json.loads((root / "runtime" / "manifest.json").read_text())
    assert set(manifest["files"]) >= {"nnviz.zip", "pyodide/pyodide.asm.wasm", "pyodide/python_stdlib.zip"}
    for plain, name in manifest["files"].items():
        data = (root / "runtime" / name).read_bytes()
        assert name == plain.rsplit(".", 1)[0] + f".{hashlib.sha256(data).hexdigest()[:16]}." + plain.rsplit(".", 1)[1]
        assert manifest["bytes"][plain] == len(data)
        assert not (root / "runtime" / plain).exists(), f"plain-name copy of {plain} left in the site"
    sw = (root / "sw.js").read_text()
    embedded = re.search(r"^const MANIFEST = (\{.*\});", sw, re.M)
    assert embedded and json.loads(embedded.group(1)) == manifest


def test_compress_writes_identical_gz_and_br_copies_and_reuses_them(tmp_path, vendor_module):
    import brotli
    import gzip
    site, cache = tmp_path / "site", tmp_path / "cache"
    (site / "a").mkdir(parents=True)
    big = ("<p>" + "weights as pictures " * 400 + "</p>").encode()
    (site / "a" / "page.html").write_bytes(big)
    (site / "small.json").write_bytes(b"{}")                       # too small to bother
    (site / "noise.wasm").write_bytes(np.random.default_rng(0).bytes(4096))   # does not shrink
    (site / "pic.png").write_bytes(big)                            # not a compressible type
    assert vendor_module.compress(site, cache) == 2
    assert gzip.decompress((site / "a" / "page.html.gz").read_bytes()) == big
    assert brotli.decompress((site / "a" / "page.html.br").read_bytes()) == big
    assert sorted(p.name for p in site.rglob("*.*[rz]")) == ["page.html.br", "page.html.gz"]
    first = (site / "a" / "page.html.gz").read_bytes()
    (site / "a" / "page.html.gz").unlink()
    for cached in cache.iterdir():      # the second run takes the cached result, not a fresh one
        cached.write_bytes(gzip.compress(big, 1, mtime=0) if cached.suffix == ".gz" else cached.read_bytes())
    vendor_module.compress(site, cache)
    assert (site / "a" / "page.html.gz").read_bytes() == gzip.compress(big, 1, mtime=0) != first


# --------------------------------------------------------------------------- browser helpers

def open_demo(page, wait_ready=True):
    page.goto(page.server.url + page.server.site.demo_page)
    if wait_ready:
        try:
            versions = page.evaluate("() => nnviz.start()")
        except Exception as e:
            raise AssertionError(f"runtime did not load: {e}\n" + "\n".join(page.messages[-20:]))
        return versions


def browser_predict(page, images, model=DEMO_MODEL):
    """Predict each image with its own nnviz.predict call, all in flight at once."""
    return page.evaluate(
        """async ([model, images]) => Promise.all(images.map((px) => nnviz.predict(model, px)))""",
        [model, [img.tolist() for img in images]])


def mnist_test_pixels(n, missing):
    try:
        from nnviz.data import load
        ds = load("mnist")
    except Exception as e:  # the data module or its download may be unavailable here
        missing(f"MNIST unavailable via nnviz.data.load('mnist'): {type(e).__name__}: {e}")
    x = np.asarray(ds.x_test[:n], dtype=np.float64).reshape(n, -1) / 255.0
    assert x.shape == (n, 784)
    return x


def assert_parity(model, images, results):
    cpu = forward.forward(model, images)
    float32_would_fail(cpu)
    worst = 0.0
    for i, got in enumerate(results):
        assert len(got["activations"]) == len(cpu)
        for layer, (a_browser, a_cpu) in enumerate(zip(got["activations"], cpu), start=1):
            diff = np.max(np.abs(np.asarray(a_browser) - a_cpu[i]))
            assert diff <= TOL, f"image {i}, layer {layer}: max |browser - CPython| = {diff:.3g}"
            worst = max(worst, diff)
        assert got["probs"] == got["activations"][-1]
        assert int(np.argmax(got["probs"])) == int(np.argmax(cpu[-1][i])), f"image {i}: argmax differs"
    return worst


# --------------------------------------------------------------------------- browser tests

FOREIGN_PAGE = """<!doctype html><title>foreign</title>
<img src="http://images.example.org/pixel.png" alt="">
<script type="module" src="foreign.js"></script>"""


def test_foreign_requests_fail_the_check(browser, tmp_path):
    """Negative control for the check every page fixture runs: a page that loads from another
    origin is caught (and the request never leaves the machine: Chromium resolves no other host)."""
    (tmp_path / "index.html").write_text(FOREIGN_PAGE)
    (tmp_path / "foreign.js").write_text('fetch("https://cdn.example.com/lib.js").catch(() => {});')
    context = browser.new_context(bypass_csp=True)   # the CSP alone would block these loads
    requests = []
    context.on("request", lambda r: requests.append(r.url))
    try:
        with serve_folder(tmp_path) as url:
            page = context.new_page()
            with page.expect_request("https://cdn.example.com/lib.js"):
                page.goto(url + "index.html")
            page.wait_for_load_state("load")
    finally:
        context.close()
    assert url + "index.html" in requests
    with pytest.raises(AssertionError, match="2 request\\(s\\) left 127.0.0.1"):
        assert_all_local(requests)
    assert_all_local([u for u in requests if "127.0.0.1" in u])   # the local ones alone pass


def test_runtime_loads_offline_and_marks_the_page(ready_page):
    page, versions = ready_page, ready_page.versions
    assert versions["pyodide"] == "0.27.7" and versions["numpy"] == "2.0.2"
    assert page.get_attribute("html", "data-runtime") == "ready"
    for demo in page.locator("[data-live-demo]").all():
        assert "runtime-ready" in demo.get_attribute("class")
    urls = page.requests
    manifest = json.loads((page.server.site.root / "runtime" / "manifest.json").read_text())
    for plain in ("pyodide/pyodide.asm.wasm", "pyodide/python_stdlib.zip",
                  "pyodide/numpy-2.0.2-cp312-cp312-pyodide_2024_0_wasm32.whl", "nnviz.zip"):
        needed = "runtime/" + manifest["files"][plain]
        assert any(u.endswith(needed) for u in urls), f"{needed} was never requested: {urls}"
        assert not any(u.endswith("runtime/" + plain) for u in urls), f"plain name {plain} requested"
    page.assert_all_local()


def test_parity_with_cpython_on_mnist_test_images(ready_page, missing):
    page = ready_page
    model = forward.load(page.server.site.model_path(), name=DEMO_MODEL)
    images = mnist_test_pixels(128, missing)
    worst = assert_parity(model, images, browser_predict(page, images))
    print(f"\n[{page.server.site.kind}] MNIST parity on {len(images)} images: max |diff| = {worst:.3g}")


def test_parity_with_cpython_on_random_inputs_and_batches(ready_page):
    page = ready_page
    model = forward.load(page.server.site.model_path(), name=DEMO_MODEL)
    images = np.random.default_rng(1).uniform(0, 1, (100, 784))
    images[:10] = 0.0  # blank canvases
    assert_parity(model, images, browser_predict(page, images))
    batch = page.evaluate("([m, x]) => nnviz.predict(m, x)", [DEMO_MODEL, images[:5].tolist()])
    assert np.max(np.abs(np.asarray(batch["probs"]) - forward.predict(model, images[:5]))) <= TOL
    # typed arrays are accepted as well as plain arrays
    typed = page.evaluate("([m, x]) => nnviz.predict(m, new Float64Array(x))", [DEMO_MODEL, images[0].tolist()])
    assert np.max(np.abs(np.asarray(typed["probs"]) - forward.predict(model, images[0]))) <= TOL


def with_timeout_meta(page, ms):
    """Serve the demo page with <meta name="nnviz-runtime-timeout" content=ms> added to its head."""
    def handler(route):
        response = route.fetch()
        html = re.sub(r"(<head[^>]*>)", rf'\1<meta name="nnviz-runtime-timeout" content="{ms}">',
                      response.text(), count=1)
        route.fulfill(response=response, body=html)
    page.route("**/" + page.server.site.demo_page, handler)


@pytest.mark.parametrize("blocked_pattern, how", [
    ("**/runtime/pyodide/**", "abort"),       # Pyodide core blocked
    ("**/runtime/pyodide/*.whl", "abort"),    # numpy blocked
    ("**/runtime/nnviz.*.zip", "404"),        # our package missing
    ("**/static/js/worker.js", "404"),        # worker script missing
    ("**/runtime/pyodide/pyodide.asm.*.wasm", "hang"),     # never answers: the stall timeout fires
    ("**/runtime/pyodide/pyodide.asm.*.wasm", "truncate"),  # cannot compile: fails at once
])
def test_blocked_runtime_keeps_text_and_fallback_pictures(page, blocked_pattern, how):
    blocked = []

    def block(route):
        blocked.append(route.request.url)
        if how == "abort":
            route.abort()
        elif how == "404":
            route.fulfill(status=404, body="blocked by test")
        elif how == "truncate":
            body = route.fetch().body()
            route.fulfill(status=200, body=body[: len(body) // 3], content_type="application/wasm")
        # "hang": leave the request unanswered

    page.route(blocked_pattern, block)
    if how == "hang":
        with_timeout_meta(page, 3000)
    if how == "truncate":   # no stall timer can fire within the wait below: the error itself must
        with_timeout_meta(page, 600_000)
    page.goto(page.server.url + page.server.site.demo_page)
    page.locator("[data-live-demo]").first.scroll_into_view_if_needed()  # the runtime starts near a demo
    page.wait_for_selector("html[data-runtime=failed]", timeout=60_000)
    assert blocked, f"{blocked_pattern} was never requested"
    error = page.evaluate("() => nnviz.ready.then(() => 'resolved', (e) => e.message)")
    assert "failed to load" in error
    assert "failed to load" in page.evaluate(
        f"() => nnviz.predict('{DEMO_MODEL}', new Array(784).fill(0)).then(() => 'ok', (e) => e.message)")
    demos = page.locator("[data-live-demo]")
    assert demos.count() >= 1
    for i in range(demos.count()):
        demo = demos.nth(i)
        assert "runtime-failed" in demo.get_attribute("class")
        images = demo.locator("img")
        assert images.count() >= 1, "a live demo must contain a static fallback <img>"
        for j in range(images.count()):
            img = images.nth(j)
            img.scroll_into_view_if_needed()
            assert img.is_visible()
            assert img.evaluate("(el) => el.complete && el.naturalWidth > 0"), "fallback image did not load"
    heading = page.locator("h1").first
    assert heading.is_visible() and heading.inner_text().strip()
    assert len(page.locator("body").inner_text()) > 50
    if how == "hang":
        assert "no progress for 3 s" in error, error
    if how == "truncate":
        assert "could not be compiled" in error and "damaged" in error, error
    for status in page.locator("[data-live-demo] [data-runtime-status]").all():
        if status.is_visible():
            assert status.inner_text().strip(), "the demo's runtime note is empty"


SAVE_DATA = "Object.defineProperty(navigator, 'connection', {get: () => ({saveData: true})})"


@pytest.mark.parametrize("site", ["fixture"], indirect=True)   # its page has the demo below the fold
def test_runtime_starts_when_idle_but_waits_for_a_demo_under_save_data(page):
    page.goto(page.server.url + "en/far.html")   # demo far below: the runtime still starts
    page.wait_for_selector("html[data-runtime=ready]", timeout=90_000)
    page.context.add_init_script(SAVE_DATA)
    page.requests.clear()
    page.goto(page.server.url + "en/far.html", wait_until="load")
    # structural, not timed: after two frames every IntersectionObserver has delivered its first
    # (not intersecting) entry, and idle callbacks have run; under saveData nothing else starts it
    two_frames = """() => new Promise((r) => { requestAnimationFrame(() => requestAnimationFrame(() => r(true)));
                                              setTimeout(() => r(false), 30000); })"""
    assert page.evaluate(two_frames), "no animation frame came in 30 s"   # evaluate has no timeout
    page.evaluate("() => new Promise((r) => requestIdleCallback(() => requestIdleCallback(r)))")
    assert page.get_attribute("html", "data-runtime") == "idle"
    assert not [u for u in page.requests if "/runtime/" in u or "worker.js" in u], page.requests
    page.locator("[data-live-demo]").scroll_into_view_if_needed()
    page.wait_for_selector("html[data-runtime=ready]", timeout=90_000)
    # a predict call also starts it, wherever the demo is
    page.goto(page.server.url + "en/far.html")
    probs = page.evaluate(f"() => nnviz.predict('{DEMO_MODEL}', new Array(784).fill(0)).then((r) => r.probs)")
    assert len(probs) == 10 and abs(sum(probs) - 1) < 1e-12


def corrupt_model_bytes(make_model):
    """An .npz whose spec says 784-16-16-10 but whose W2 is (16, 15)."""
    m = make_model()
    arrays = {"spec": np.array(json.dumps(m.spec)), "mean": m.mean, "std": m.std,
              "W1": m.weights[0], "b1": m.biases[0], "W2": m.weights[1][:, :15], "b2": m.biases[1],
              "W3": m.weights[2], "b3": m.biases[2]}
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def test_corrupt_or_missing_model_gives_a_clear_error(page, make_model):
    corrupt = corrupt_model_bytes(make_model)
    page.route(f"**/data/models/{DEMO_MODEL}.npz",
               lambda route: route.fulfill(status=200, body=corrupt,
                                           content_type="application/octet-stream"))
    page.route("**/data/models/garbage.npz",
               lambda route: route.fulfill(status=200, body=b"this is not a zip file"))
    open_demo(page)
    catch = "([m]) => nnviz.predict(m, new Array(784).fill(0.5)).then(() => 'no error', (e) => e.message)"
    error = page.evaluate(catch, [DEMO_MODEL])
    assert "ModelError" in error and f"{DEMO_MODEL}.npz" in error, error
    assert "W2 has shape (16, 15)" in error and "expects (16, 16)" in error, error
    assert "\n" not in error and "Traceback" not in error, error
    error = page.evaluate(catch, ["garbage"])
    assert "not a valid nnviz model file" in error, error
    error = page.evaluate(catch, ["no-such-model"])
    assert "no-such-model" in error and "HTTP 404" in error, error
    error = page.evaluate(catch, ["../../etc/passwd"])
    assert "invalid model name" in error, error
    error = page.evaluate("() => nnviz.call('nosuchdemo.run', []).then(() => 'no error', (e) => e.message)")
    assert "unknown demo 'nosuchdemo'" in error, error
    # the runtime survives bad models
    ok = page.evaluate("() => nnviz.call('info', [])")
    assert ok["numpy"] == "2.0.2"


@pytest.mark.parametrize("site", ["fixture"], indirect=True)
def test_adapter_calls_get_the_loaded_model(page):
    """nnviz.call("<demo>.<func>", args) runs nnviz.demos.<demo>.<func>(*args); nnviz.model(name)
    arguments arrive as forward.Model; numpy results come back as plain lists.
    Only the fixture site has the probe adapter."""
    open_demo(page)
    out = page.evaluate("""([m]) => nnviz.call('fixture_probe.describe',
                              [nnviz.model(m), new Float64Array(784).fill(0.5), {k: [1, 2]}])""", [DEMO_MODEL])
    model = forward.load(page.server.site.model_path(), name=DEMO_MODEL)
    assert out["name"] == DEMO_MODEL and out["layers"] == [784, 16, 16, 10]
    assert out["pixels"] == [784, 0.5] and out["extra"] == {"k": [1, 2]}
    assert np.allclose(out["w1_row0"], model.weights[0][0], rtol=0, atol=0)
    assert out["argmax"] == int(np.argmax(forward.predict(model, np.full(784, 0.5))))
    error = page.evaluate("() => nnviz.call('fixture_probe.boom', []).then(() => 'no error', (e) => e.message)")
    assert error == "ZeroDivisionError: division by zero", error
    error = page.evaluate("() => nnviz.call('fixture_probe._private', []).then(() => 'no error', (e) => e.message)")
    assert "has no function '_private'" in error, error


def test_latency_and_load_time(page, record_property):
    """Measured, loosely bounded (catches e.g. reloading the model per call); numbers printed."""
    page.goto(page.server.url + page.server.site.demo_page)
    page.evaluate("() => nnviz.start()")
    ready_ms = page.evaluate("() => performance.now()")  # upper bound: time since navigation
    stats = page.evaluate("""async ([model]) => {
        const px = Array.from({length: 784}, (_, i) => (i * 37 % 255) / 255);
        for (let i = 0; i < 30; i++) await nnviz.predict(model, px);
        const t = [];
        for (let i = 0; i < 200; i++) {
            const t0 = performance.now();
            await nnviz.predict(model, px);
            t.push(performance.now() - t0);
        }
        t.sort((a, b) => a - b);
        return {median: t[100], p95: t[190], max: t[199]};
    }""", [DEMO_MODEL])
    runtime = page.server.site.root / "runtime"
    size = sum(p.stat().st_size for p in runtime.rglob("*") if p.is_file())
    for key, value in [("ready_ms", ready_ms), ("predict_median_ms", stats["median"]),
                       ("predict_p95_ms", stats["p95"]), ("runtime_bytes", size)]:
        record_property(key, value)
    print(f"\n[{page.server.site.kind}] nnviz.ready after {ready_ms:.0f} ms; predict {DEMO_MODEL} "
          f"median {stats['median']:.3f} ms, p95 {stats['p95']:.3f} ms, max {stats['max']:.3f} ms "
          f"(200 calls); runtime/ = {size:,} bytes")
    assert stats["median"] < 50, stats
