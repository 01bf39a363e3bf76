"""Issue 13: a deep link to the drawing lab -> its first live answer, against the floor.

The floor is a bare worker that only does importScripts(pyodide.js) + loadPyodide({packages:
["numpy"]}) + `import numpy`, from the same files (plain names linked to the site's hashed files).
Everything between the floor and the lab's first answer is ours. Each run is a fresh browser
context (empty HTTP cache, no service worker): "cold"; then the same context opens the link again
once the service worker holds the runtime and the worker has kept its start-up snapshot and
pycache: "second visit". The worker's performance marks (nnviz:*) give where the time goes. The server here sends the build's .br /
.gz copies as C5 asks, and counts the bytes it sends.
"""
from __future__ import annotations

import email.utils
import json
import os
import re
import time
from http.server import SimpleHTTPRequestHandler

from browser import serve
from machine import loadavg, log, median

HASHED = re.compile(r"\.[0-9a-f]{8,}\.[a-z0-9]+$")

FLOOR_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>floor</title>
<script src="floor-page.js"></script></head><body><p>floor</p></body></html>"""
FLOOR_PAGE_JS = """window.__floor = new Promise((resolve, reject) => {
  const w = new Worker("floor-worker.js");
  w.onmessage = (e) => e.data.error ? reject(new Error(e.data.error)) : resolve(performance.now());
});"""
FLOOR_WORKER_JS = """importScripts("pyodide/pyodide.js");
loadPyodide({indexURL: new URL("pyodide/", location.href).href, packages: ["numpy"]})
  .then((py) => { py.runPython("import numpy"); postMessage({done: true}); },
        (e) => postMessage({error: String(e)}));"""

# Recorded in the page from navigation on: first answer of the lab, long tasks, paints.
INIT = """(() => {
  const b = window.__start = {long: []};
  document.addEventListener('draw:repaint', () => { if (!b.answer) b.answer = performance.now(); }, true);
  document.addEventListener('nnviz:ready', () => { b.ready = performance.now(); });
  new PerformanceObserver((l) => { for (const e of l.getEntries()) b.long.push([e.startTime, e.duration]); })
    .observe({type: 'longtask', buffered: true});
})();"""


def c5_handler(base, sent, csp):
    """`base` (the tests' handler: MIME types, CSP) answering as C5 says: F.br / F.gz when the
    request accepts it, immutable caching for hashed names; adds each body's size to sent[0]."""
    class H(base):
        def send_head(self):
            path = self.translate_path(self.path)
            accept = self.headers.get("Accept-Encoding", "")
            for ext, name in ((".br", "br"), (".gz", "gzip")):
                if name in accept and os.path.isfile(path + ext):
                    mtime = int(os.path.getmtime(path))
                    since = self.headers.get("If-Modified-Since")
                    if since and email.utils.parsedate_to_datetime(since).timestamp() >= mtime:
                        self.send_response(304)
                        self.end_headers()
                        return None
                    f = open(path + ext, "rb")
                    self.send_response(200)
                    self.send_header("Last-Modified", self.date_time_string(mtime))
                    self.send_header("Content-Type", self.guess_type(path))
                    self.send_header("Content-Encoding", name)
                    self.send_header("Content-Length", str(os.fstat(f.fileno()).st_size))
                    self.send_header("Vary", "Accept-Encoding")
                    self.end_headers()
                    return f
            return super().send_head()

        def end_headers(self):
            hashed = HASHED.search(self.path.split("?")[0])
            self.send_header("Cache-Control", "public, max-age=31536000, immutable" if hashed else "no-cache")
            self.send_header("Content-Security-Policy", csp)   # the pages' own (a stricter one blocked their inline styles)
            SimpleHTTPRequestHandler.end_headers(self)

        def copyfile(self, source, outputfile):
            before = source.tell()
            super().copyfile(source, outputfile)
            sent[0] += source.tell() - before
    return H


def add_floor(site):
    """site/runtime/floor/: the bare worker and plain-name links to this build's runtime files."""
    floor = site / "runtime" / "floor"
    (floor / "pyodide").mkdir(parents=True, exist_ok=True)
    manifest = json.loads((site / "runtime" / "manifest.json").read_text())
    for plain, name in manifest["files"].items():
        if plain.startswith("pyodide/"):
            (floor / plain).unlink(missing_ok=True)
            (floor / plain).symlink_to(site / "runtime" / name)
    (floor / "index.html").write_text(FLOOR_PAGE)
    (floor / "floor-page.js").write_text(FLOOR_PAGE_JS)
    (floor / "floor-worker.js").write_text(FLOOR_WORKER_JS)


def lab_state(browser, base, chapter):
    """A lab link that carries a drawn digit: draw a stroke once, read the URL the lab wrote."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    page.goto(f"{base}{chapter}")
    LAB = page.locator('[data-demo="draw"]').first.get_attribute("id")   # the chapter's first drawing lab
    page.goto(f"{base}{chapter}#{LAB}")
    page.evaluate("() => nnviz.ready")
    pad = page.locator(f"#{LAB} canvas").first
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.2)
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * (0.2 + 0.06 * i))
    page.mouse.up()
    page.wait_for_function("() => location.hash.includes('=')")
    url = page.url
    ctx.close()
    return url


def first_answer(page, url):
    """Open `url`; -> {answer_ms, fcp_ms, ready_ms, longest_task_ms (before the answer), started
    ("files" or "snapshot" + numpy's bytecode "compiled" or "kept"), steps {worker's nnviz:* mark:
    ms since navigation, first of each}}."""
    page.goto(url)
    page.wait_for_function("() => window.__start.answer", timeout=120_000)
    m = page.evaluate("""async () => {
        const b = window.__start, fcp = performance.getEntriesByName('first-contentful-paint')[0];
        const before = b.long.filter(([t]) => t < b.answer).map(([, d]) => d);
        const versions = await nnviz.ready, steps = {};
        for (const e of performance.getEntriesByType('mark')) {
            const name = e.name.replace(/^nnviz:/, '');
            if (name !== e.name && !(name in steps)) steps[name] = e.startTime;
        }
        return {answer_ms: b.answer, ready_ms: b.ready ?? null, fcp_ms: fcp ? fcp.startTime : null,
                longest_task_ms: before.length ? Math.max(...before) : 0, long_tasks: before.length,
                started: versions.start + ', bytecode ' + versions.bytecode, steps};
    }""")
    return m


def wait_for_offline_copy(page):
    page.evaluate("""async () => {
        await navigator.serviceWorker.ready;
        while (!navigator.serviceWorker.controller) await new Promise((r) => setTimeout(r, 50));
        const cache = await caches.open((await caches.keys()).find((k) => k.startsWith('nnviz-')));
        while (!(await cache.match(location.href.split('#')[0]))) await new Promise((r) => setTimeout(r, 50));
        const kept = await caches.open('nnviz.startup');   // the worker's snapshot and pycache
        while ((await kept.keys()).length < 2) await new Promise((r) => setTimeout(r, 50));
    }""")


def bench_startup(browser, site, handler_base, chapter, runs):
    """Medians over `runs` fresh contexts of: floor, cold and second-visit first answers, bytes."""
    add_floor(site)
    sent = [0]
    from nnviz.pages import CSP
    load = {"before": loadavg()}
    httpd, base = serve(site, c5_handler(handler_base, sent, CSP), isolated=False)
    try:
        url = lab_state(browser, base, chapter)
        floor, cold, second = [], [], []
        for i in range(runs):
            ctx = browser.new_context(viewport={"width": 1280, "height": 900})
            page = ctx.new_page()
            page.goto(base + "runtime/floor/index.html")
            floor.append(page.evaluate("() => window.__floor"))
            ctx.close()

            ctx = browser.new_context(viewport={"width": 1280, "height": 900})
            ctx.add_init_script(INIT)
            page = ctx.new_page()
            sent[0] = 0
            cold.append({**first_answer(page, url), "bytes": None})
            wait_for_offline_copy(page)
            time.sleep(0.5)      # let the worker's last writes settle before the byte count
            cold[-1]["bytes"] = sent[0]
            page.close()
            page = ctx.new_page()
            sent[0] = 0
            second.append(first_answer(page, url))
            time.sleep(0.5)
            second[-1]["bytes"] = sent[0]
            ctx.close()
            log(f"  startup {i + 1}/{runs}: floor {floor[-1]:.0f} ms, cold answer {cold[-1]['answer_ms']:.0f} ms "
                f"({cold[-1]['bytes'] / 1e6:.2f} MB), second visit {second[-1]['answer_ms']:.0f} ms "
                f"({second[-1]['bytes'] / 1e3:.0f} kB)")
    finally:
        httpd.shutdown()
        httpd.server_close()
    load["after"] = loadavg()

    def summary(rows):
        out = {k: median([r[k] for r in rows if r[k] is not None])
               for k in ("answer_ms", "ready_ms", "fcp_ms", "longest_task_ms", "bytes")}
        out["floor_ratio"] = median([r["answer_ms"] / f for r, f in zip(rows, floor)])  # per run: same load
        out["started"] = sorted({r["started"] for r in rows})
        out["steps"] = {k: median([r["steps"][k] for r in rows if k in r["steps"]]) for k in rows[0]["steps"]}
        return out
    return {"url": url[len(base):], "runs": runs, "load": load, "floor_ms": median(floor), "floor_runs": floor,
            "cold": summary(cold), "second": summary(second), "cold_runs": cold, "second_runs": second}


def bench(tmp, site_src, runs):
    """The startup part of `make bench` on a temp copy of the built site."""
    import shutil
    from playwright.sync_api import sync_playwright
    from browser import load_test_helpers
    from machine import CHAPTER, CHROMIUM
    conftest, _ = load_test_helpers()
    site = tmp / "startup-site"
    shutil.copytree(site_src, site, symlinks=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=conftest.CHROMIUM_ARGS)
        try:
            return {"chromium": browser.version, **bench_startup(browser, site, conftest.Handler, CHAPTER, runs)}
        finally:
            browser.close()
