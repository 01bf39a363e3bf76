"""Second visits, offline reloads, file:// and damaged files, in real Chromium (issues 13 and 16).

The service worker (static/js/sw.js, written to the site root as sw.js by nnviz.runtime) keeps the
content-hashed runtime files and what a page loaded; these tests drive it through its own site
folders so that they can damage, rebuild and go offline without touching other tests' sites.
"""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from conftest import (DEMO_MODEL, FIXTURE_ADAPTER, PARITY_TOL, REPO, assert_all_local,
                      build_fixture_site, forward, nnviz_runtime, serve_folder)

WASM = "pyodide/pyodide.asm.wasm"
PREDICT = f"() => nnviz.predict('{DEMO_MODEL}', new Array(784).fill(0.5)).then((r) => r.probs)"


@pytest.fixture
def own_site(tmp_path):
    """A fresh fixture site of this test's own, served on 127.0.0.1."""
    site = build_fixture_site(tmp_path / "site")
    with serve_folder(site.root) as url:
        yield site, url


@pytest.fixture
def context(browser):
    ctx = browser.new_context(service_workers="allow")
    ctx.requests = []
    ctx.on("request", lambda r: ctx.requests.append(r.url))
    yield ctx
    ctx.close()


def manifest(root):
    return json.loads((root / "runtime" / "manifest.json").read_text())


def first_visit(context, url):
    """Open the demo page, wait for the runtime and for the service worker to hold the runtime."""
    page = context.new_page()
    page.set_default_timeout(90_000)
    page.goto(url + "en/demo.html")
    page.evaluate("() => nnviz.start()")
    page.evaluate("""async () => {
        const reg = await navigator.serviceWorker.ready;
        while (!navigator.serviceWorker.controller) await new Promise((r) => setTimeout(r, 50));
        const keys = await caches.keys();
        const cache = await caches.open(keys.find((k) => k.startsWith('nnviz-')));
        while (!(await cache.match(location.href))) await new Promise((r) => setTimeout(r, 50));
    }""")
    return page


def cache_names(page):
    return page.evaluate("() => caches.keys()")


def test_second_visit_works_offline(own_site, context):
    site, url = own_site
    page = first_visit(context, url)
    wait_for_snapshot(page, manifest(site.root)["version"])
    assert sorted(cache_names(page)) == ["nnviz-" + manifest(site.root)["version"], "nnviz.startup"]
    # each runtime file was checked when stored, and says so: second visits answer from it unhashed
    marks = page.evaluate("""async ([urls]) => {
        const cache = await caches.open((await caches.keys()).find((k) => k.startsWith('nnviz-')));
        return Promise.all(urls.map(async (u) => (await cache.match(u)).headers.get('X-Nnviz-Sha256')));
    }""", [[url + "runtime/" + n for n in manifest(site.root)["files"].values()]])
    assert marks == [n.rsplit(".", 2)[-2] for n in manifest(site.root)["files"].values()]
    context.set_offline(True)
    page.reload()
    probs = page.evaluate(PREDICT)
    assert len(probs) == 10 and abs(sum(probs) - 1) < 1e-9
    assert page.get_attribute("html", "data-runtime") == "ready"
    assert_all_local(context.requests)


def test_a_page_request_starts_while_the_service_worker_boots(tmp_path, context):
    """Navigation preload: once the service worker is active, a page's request is sent by the
    browser at once (it carries Service-Worker-Navigation-Preload) and the worker answers with it,
    instead of booting first and fetching again."""
    site, log = build_fixture_site(tmp_path / "site"), []
    with serve_folder(site.root, log=log) as url:
        page = first_visit(context, url)
        assert page.evaluate("async () => (await navigator.serviceWorker.ready).navigationPreload.getState()")["enabled"]
        del log[:]
        page.reload()
        assert page.evaluate(PREDICT)
        pages = [h for path, h in log if path.startswith("/en/demo.html")]
        assert pages and all(h.get("Service-Worker-Navigation-Preload") == "true" for h in pages), pages
        assert len(pages) == 1, "the worker fetched the page again instead of using the preload"


def test_a_damaged_cached_file_is_detected_and_fetched_again(own_site, context):
    site, url = own_site
    name = manifest(site.root)["files"][WASM]
    real = (site.root / "runtime" / name).read_bytes()
    page = first_visit(context, url)
    wasm_url = url + "runtime/" + name
    page.evaluate("""async ([url]) => {
        const cache = await caches.open((await caches.keys()).find((k) => k.startsWith('nnviz-')));
        const bytes = new Uint8Array((await (await cache.match(url)).arrayBuffer()).slice(0, 1000));
        await cache.put(url, new Response(bytes, {headers: {"Content-Type": "application/wasm"}}));
    }""", [wasm_url])
    page.reload()
    probs = page.evaluate(PREDICT)   # the damaged copy was not used
    assert len(probs) == 10
    cached = page.evaluate("""async ([url]) => {
        const cache = await caches.open((await caches.keys()).find((k) => k.startsWith('nnviz-')));
        return Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256',
            await (await cache.match(url)).arrayBuffer())), (b) => b.toString(16).padStart(2, '0')).join('');
    }""", [wasm_url])
    assert cached == hashlib.sha256(real).hexdigest(), "the cache still holds the damaged copy"


def test_a_new_build_replaces_the_old_cache(own_site, context):
    site, url = own_site
    old = manifest(site.root)
    page = first_visit(context, url)
    wait_for_snapshot(page, old["version"])
    assert sorted(cache_names(page)) == ["nnviz-" + old["version"], "nnviz.startup"]
    # a new build: the probe adapter changed, so nnviz.zip (and the version) changes
    changed = FIXTURE_ADAPTER + "\ndef version():\n    return 'new build'\n"
    for stale in (site.root / "runtime").rglob("*"):
        if stale.is_file():
            stale.unlink()
    nnviz_runtime.vendor(site.root, REPO, progress=lambda *a: None,
                         extra={"nnviz/demos/fixture_probe.py": changed})
    new = manifest(site.root)
    assert new["version"] != old["version"]
    page.reload()
    page.evaluate("""async ([want]) => {
        const reg = await navigator.serviceWorker.getRegistration();
        await reg.update();
        const own = async () => (await caches.keys()).filter((k) => k.startsWith('nnviz-')).join();
        while ((await own()) !== want) await new Promise((r) => setTimeout(r, 50));
    }""", ["nnviz-" + new["version"]])
    page.reload()
    assert page.evaluate("() => nnviz.call('fixture_probe.version', [])") == "new build"
    wait_for_snapshot(page, new["version"])     # the old build's snapshot is gone, this build's kept
    assert sorted(cache_names(page)) == ["nnviz-" + new["version"], "nnviz.startup"]


# --------------------------------------------------------------------------- the real site

def test_file_url_keeps_the_page_readable_and_says_once_how_to_serve(browser, real_site):
    for lang, word in (("en", "make serve"), ("zh", "网页服务器")):
        page_path = real_site.root / real_site.demo_page.replace("en/", f"{lang}/", 1)
        ctx = browser.new_context(service_workers="allow")
        requests, errors = [], []
        ctx.on("request", lambda r: requests.append(r.url))
        page = ctx.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(page_path.as_uri())
        page.wait_for_load_state("load")
        note = page.locator(".runtime-file-note")
        assert note.count() == 1, f"{lang}: expected one file:// note, found {note.count()}"
        assert word in note.inner_text() and "make serve" in note.inner_text()
        assert page.get_attribute("html", "data-runtime") == "failed"
        for img in page.locator("[data-live-demo] img.fallback").all():
            img.scroll_into_view_if_needed()
            assert img.is_visible() and img.evaluate("(el) => el.complete && el.naturalWidth > 0")
        assert not errors, errors
        assert all(u.startswith(("file://", "data:")) for u in requests), requests
        ctx.close()


@pytest.mark.parametrize("site", ["real"], indirect=True)   # the chapter has several demos on one model
def test_a_damaged_model_shows_the_labs_message_on_every_demo_using_it(page, real_site):
    models = {}
    for el in page.server.site.root.joinpath(real_site.demo_page).read_text().split('data-model="')[1:]:
        models[el.split('"')[0]] = models.get(el.split('"')[0], 0) + 1
    model = max(models, key=models.get)
    assert models[model] >= 2, f"no model is shared by two live demos: {models}"
    page.route(f"**/data/models/{model}.npz", lambda route: route.fulfill(status=200, body=b"PK\x03\x04 damaged"))
    page.goto(page.server.url + real_site.demo_page)
    demos = page.locator(f'[data-live-demo][data-model="{model}"]')
    page.wait_for_function("""([m, n]) => document.querySelectorAll(
        `[data-live-demo][data-model="${m}"] .runtime-error`).length === n""", arg=[model, demos.count()],
        timeout=120_000)
    texts = {d.locator(".runtime-error").inner_text() for d in demos.all()}
    assert len(texts) == 1, texts
    text = texts.pop()
    assert f"data/models/{model}.npz" in text and "ModelError" in text, text
    for demo in demos.all():
        assert "runtime-failed" in demo.get_attribute("class")
        lab = demo.locator(".draw-verdict-conf")
        if lab.count():
            assert lab.inner_text() == text


@pytest.mark.parametrize("site", ["real"], indirect=True)   # the real drawing lab
def test_the_lab_takes_ink_while_the_runtime_loads_and_answers_when_ready(page, real_site):
    """Before the runtime is ready the lab takes a stroke and shows loading progress; the answer
    then comes without the reader drawing again."""
    import re
    html = (real_site.root / real_site.demo_page).read_text(encoding="utf-8")
    lab_id = re.search(r'id="(demo-\d+)" data-demo="draw"', html).group(1)   # the first drawing lab
    held = []
    page.route("**/runtime/pyodide/pyodide.asm.*.wasm", lambda route: held.append(route))
    page.goto(page.server.url + real_site.demo_page + "#" + lab_id)
    lab = page.locator("#" + lab_id)
    page.wait_for_function("() => document.documentElement.dataset.runtime === 'loading'")
    pad = lab.locator("canvas").first
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.2)
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] * (0.2 + 0.06 * i))
    page.mouse.up()
    page.wait_for_function("id => location.hash.includes(id + '=')", arg=lab_id)   # the stroke was taken
    status = lab.locator("[data-runtime-status]")
    assert "%" in status.inner_text(), status.inner_text()
    assert lab.get_attribute("data-pred") is None
    while not held:
        page.wait_for_timeout(100)
    held[0].continue_()
    page.wait_for_function("id => document.getElementById(id).dataset.pred !== undefined", arg=lab_id, timeout=120_000)
    assert page.get_attribute("html", "data-runtime") == "ready"


# --------------------------------------------------------------------------- start-up snapshot

def snapshot_entries(page, kind="snapshot"):
    """[[url, x-sha256 header, sha256 of the body]] of the worker's kept `kind` entries."""
    return page.evaluate("""async ([kind]) => {
        const cache = await caches.open('nnviz.startup'), out = [];
        for (const request of await cache.keys()) {
            if (!request.url.includes(`/runtime/${kind}.`)) continue;
            const response = await cache.match(request);
            const digest = await crypto.subtle.digest('SHA-256', await response.arrayBuffer());
            out.push([request.url, response.headers.get('x-sha256'),
                      Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('')]);
        }
        return out;
    }""", [kind])


def wait_for_snapshot(page, version, kind="snapshot"):
    """Wait until the worker's cache holds exactly this build's `kind` (snapshot or pycache), with
    its digest; returns its URL."""
    page.evaluate("""async ([want, kind]) => {
        const cache = await caches.open('nnviz.startup');
        const urls = async () => (await cache.keys()).map((r) => r.url).filter((u) => u.includes(`/runtime/${kind}.`));
        while ((await urls()).join() !== want) await new Promise((r) => setTimeout(r, 50));
    }""", [f"{page.url.split('/en/')[0]}/runtime/{kind}.{version}.bin", kind])
    [(url, header, actual)] = snapshot_entries(page, kind)
    assert header == actual, "the kept snapshot's digest does not match its bytes"
    return url


def started_from(page):
    """"files" or "snapshot", and "compiled" or "kept" (numpy's bytecode)."""
    return tuple(page.evaluate("() => nnviz.ready.then((v) => [v.start, v.bytecode])"))


def predictions(page, images):
    return np.asarray(page.evaluate("([m, xs]) => nnviz.predict(m, xs).then((r) => r.probs)",
                                    [DEMO_MODEL, images.tolist()]))


def test_a_second_visit_starts_from_the_snapshot_with_bit_identical_answers(own_site, context):
    site, url = own_site
    version = manifest(site.root)["version"]
    images = np.random.default_rng(7).uniform(0, 1, (16, 784))
    images[0] = 0.0
    page = first_visit(context, url)
    assert started_from(page) == ("files", "compiled")
    fresh = predictions(page, images)
    wait_for_snapshot(page, version)
    wait_for_snapshot(page, version, "pycache")
    page.reload()
    assert started_from(page) == ("snapshot", "kept")
    restored = predictions(page, images)
    assert np.array_equal(restored, fresh), "the snapshot gave other numbers than a fresh start"
    model = forward.load(site.model_path(), name=DEMO_MODEL)
    assert np.max(np.abs(restored - forward.predict(model, images))) <= PARITY_TOL
    probe = "() => nnviz.call('fixture_probe.describe', [nnviz.model('%s'), new Array(784).fill(0.5), 3])"
    assert page.evaluate(probe % DEMO_MODEL)["extra"] == 3   # our package (an adapter) is there too
    assert_all_local(context.requests)


@pytest.mark.parametrize("kind, damage", [("snapshot", "flipped byte"), ("snapshot", "not a snapshot"),
                                         ("pycache", "flipped byte"), ("pycache", "not a snapshot")])
def test_a_damaged_snapshot_is_detected_and_made_again(own_site, context, kind, damage):
    """A kept snapshot or pycache whose bytes no longer match their digest, or whose bytes are not
    what they should be at all (digest intact), is not used: Python starts from the files, answers,
    and a good copy replaces the bad one."""
    site, url = own_site
    version = manifest(site.root)["version"]
    page = first_visit(context, url)
    page.evaluate(PREDICT)       # the first answer: the pycache is kept after it
    kept = wait_for_snapshot(page, version, kind)
    messages = []
    page.on("console", lambda m: messages.append(m.text))
    bad = page.evaluate("""async ([url, damage]) => {
        const cache = await caches.open('nnviz.startup');
        const response = await cache.match(url);
        const bytes = new Uint8Array(await response.arrayBuffer());
        let digest = response.headers.get('x-sha256');
        if (damage === 'flipped byte') bytes[bytes.length >> 1] ^= 0xff;
        else {
            bytes.fill(7, 0, 4096);
            digest = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)),
                                (b) => b.toString(16).padStart(2, '0')).join('');
        }
        await cache.put(url, new Response(bytes, {headers: {'x-sha256': digest}}));
        return digest;
    }""", [kept, damage])
    page.reload()
    used = {"snapshot": 0, "pycache": 1}[kind]
    assert started_from(page)[used] == ("files", "compiled")[used]
    probs = page.evaluate(PREDICT)
    assert len(probs) == 10 and abs(sum(probs) - 1) < 1e-9
    said = "damaged" if damage == "flipped byte" else ("did not load", "did not unpack")[used]
    assert any(kind in m and said in m for m in messages), messages
    page.evaluate("""async ([url, bad]) => {     // until a good copy has replaced the bad one
        const cache = await caches.open('nnviz.startup');
        const good = async () => {     // the body matches its digest, and it is not the foreign one
            const r = await cache.match(url);
            if (!r || r.headers.get('x-sha256') === bad) return false;
            const d = new Uint8Array(await crypto.subtle.digest('SHA-256', await r.clone().arrayBuffer()));
            return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('') === r.headers.get('x-sha256');
        };
        while (!(await good())) await new Promise((r) => setTimeout(r, 50));
    }""", [kept, None if damage == "flipped byte" else bad])
    wait_for_snapshot(page, version, kind)
    page.reload()
    assert started_from(page) == ("snapshot", "kept")
    assert page.evaluate(PREDICT) == probs


@pytest.mark.parametrize("site", ["real"], indirect=True)   # the real chapter: a long page to parse
@pytest.mark.parametrize("hash_, early", [("#{id}={state}", True), ("#{id}&{id}={state}", True),
                                          ("#{id}", False), ("", False)])
def test_a_state_link_starts_the_runtime_before_the_page_is_parsed(page, real_site, hash_, early):
    """A link carrying demo state ("#id=…", or "#section&id=…" as the labs write it) starts the
    worker while the page is still being parsed; a plain link waits for the page (idle start)."""
    import re
    html = (real_site.root / real_site.demo_page).read_text(encoding="utf-8")
    lab_id = re.search(r'id="(demo-\d+)" data-demo="draw"', html).group(1)
    page.goto(page.server.url + real_site.demo_page + hash_.format(id=lab_id, state="1~x"))
    page.wait_for_function("() => performance.getEntriesByName('nnviz:start').length > 0")
    started, parsed = page.evaluate("""() => [performance.getEntriesByName('nnviz:start')[0].startTime,
        performance.getEntriesByType('navigation')[0].domInteractive]""")
    assert (started < parsed) == early, f"worker started at {started:.0f} ms, page parsed at {parsed:.0f} ms"
