"""Part 3: the built site in headless Chromium: page load, bytes, predict vs a JS peer, drawing labs."""
from __future__ import annotations

import functools
import gzip
import json
import re
import shutil
import sys
import threading
import time
from http.server import ThreadingHTTPServer
from machine import CHAPTER, CHROMIUM, HERE, LIVE_FALLBACK, REPO, TOL, log, median, np




# =============================================================================== 3. browser

def load_test_helpers():
    """tests/browser/test_draw.py (measure_draw_latency, open_lab, lab selectors) and its conftest
    (CHROMIUM_ARGS, the Handler with real MIME types and the site's CSP)."""
    sys.path.insert(0, str(REPO / "tests" / "browser"))
    import conftest
    import test_draw
    return conftest, test_draw


def serve(root, handler_base, isolated):
    """A threaded http.server on 127.0.0.1 at a free port. isolated=True adds COOP/COEP, which makes
    the page cross-origin isolated: performance.now() then has 5 us resolution instead of 100 us."""
    class H(handler_base):
        def end_headers(self):
            if isolated:
                self.send_header("Cross-Origin-Opener-Policy", "same-origin")
                self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
            super().end_headers()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(H, directory=str(root)))
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}/"


INIT_SCRIPT = """(() => {
  const b = window.__bench = {};
  const mark = (k) => { if (!(k in b)) b[k] = performance.now(); };
  document.addEventListener('nnviz:ready', () => mark('ready'));
  document.addEventListener('nnviz:failed', () => mark('failed'));
  document.addEventListener('nnviz:progress', () => mark('first_progress'));
  // Time to ready is measured with the runtime started as early as the page allows: if no live demo
  // starts it by itself (IntersectionObserver, first frames after DOMContentLoaded), start it then.
  document.addEventListener('DOMContentLoaded', () => requestAnimationFrame(() => requestAnimationFrame(() => {
    b.started_by_itself = document.documentElement.dataset.runtime !== 'idle';
    if (!b.started_by_itself && window.nnviz) window.nnviz.start();
  })));
  new MutationObserver(() => {
    if (document.documentElement && document.documentElement.dataset.runtime === 'loading') mark('loading');
  }).observe(document, {attributes: true, subtree: true, attributeFilter: ['data-runtime']});
})();"""

SCROLL_THROUGH = """async () => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  for (let y = 0; y < document.documentElement.scrollHeight; y += window.innerHeight) {
    window.scrollTo(0, y); await sleep(40);
  }
  window.scrollTo(0, 0);
}"""


class Recorder:
    """Every request of a browser context (page and workers) with its outcome."""

    def __init__(self, context):
        self.requests, self.finished, self.failed = [], [], []
        context.on("request", lambda r: self.requests.append(r.url))
        context.on("requestfinished", lambda r: self.finished.append(r))
        context.on("requestfailed", lambda r: self.failed.append(r))

    def quiet_for(self, seconds, limit=60):
        """Wait until no request has finished for `seconds` (worker fetches included)."""
        t_end, last, seen = time.time() + limit, time.time(), len(self.finished)
        while time.time() < t_end:
            time.sleep(0.1)
            if len(self.finished) != seen:
                seen, last = len(self.finished), time.time()
            elif time.time() - last >= seconds:
                return

    def stray(self):
        from urllib.parse import urlparse
        bad = []
        for u in self.requests:
            p = urlparse(u)
            if p.scheme in ("data", "blob", "about"):
                continue
            if p.hostname != "127.0.0.1":
                bad.append(u)
        return bad


def category(path):
    if path.startswith("runtime/"):
        return "runtime"
    if path.startswith("data/models/"):
        return "models (.npz)"
    if path.endswith(".html"):
        return "html"
    if path.endswith((".png", ".jpg", ".svg", ".webp")):
        return "images"
    if path.endswith((".woff2", ".woff", ".ttf")):
        return "fonts"
    if path.endswith(".css"):
        return "css"
    if path.endswith((".js", ".mjs")):
        return "js"
    if path.endswith(".json"):
        return "json"
    return "other"


def transfer(rec, base, site):
    """Bytes received per category (body as sent + headers), and what gzip -6 would make of the bodies."""
    cats, total_body, total_hdr, total_gz, n = {}, 0, 0, 0, 0
    for r in rec.finished:
        if not r.url.startswith(base):
            continue
        s = r.sizes()
        path = r.url[len(base):].split("?")[0].split("#")[0]
        body, hdr = s["responseBodySize"], s["responseHeadersSize"]
        f = site / path
        gz = len(gzip.compress(f.read_bytes(), 6)) if f.is_file() else body
        c = cats.setdefault(category(path), {"requests": 0, "body_bytes": 0, "gzip_bytes": 0})
        c["requests"] += 1
        c["body_bytes"] += body
        c["gzip_bytes"] += gz
        total_body, total_hdr, total_gz, n = total_body + body, total_hdr + hdr, total_gz + gz, n + 1
    return {"requests": n, "body_bytes": total_body, "header_bytes": total_hdr, "bytes": total_body + total_hdr,
            "gzip_body_bytes_estimate": total_gz, "blocked_or_failed": len(rec.failed),
            "by_type": dict(sorted(cats.items()))}


def new_context(browser, init=True):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    rec = Recorder(ctx)
    if init:
        ctx.add_init_script(INIT_SCRIPT)
    page = ctx.new_page()
    page.set_default_timeout(120_000)
    page.messages = []
    page.on("console", lambda m: page.messages.append(f"console.{m.type}: {m.text}"))
    page.on("pageerror", lambda e: page.messages.append(f"pageerror: {e}"))
    return ctx, rec, page


def page_load(browser, url, runs):
    """Navigation -> FCP (first text on screen) and -> nnviz.ready, in fresh contexts (empty cache)."""
    out = []
    for i in range(runs):
        ctx, rec, page = new_context(browser)
        try:
            page.goto(url, wait_until="load")
            page.wait_for_function("() => window.__bench.ready || window.__bench.failed")
            auto = page.evaluate("() => window.__bench.started_by_itself")
            m = page.evaluate("""() => {
                const nav = performance.getEntriesByType('navigation')[0];
                const fcp = performance.getEntriesByName('first-contentful-paint')[0];
                const fp = performance.getEntriesByName('first-paint')[0];
                return {fcp_ms: fcp ? fcp.startTime : null, first_paint_ms: fp ? fp.startTime : null,
                        dom_content_loaded_ms: nav.domContentLoadedEventEnd, load_ms: nav.loadEventEnd,
                        runtime_start_ms: window.__bench.loading ?? null,
                        ready_ms: window.__bench.ready ?? null, failed: 'failed' in window.__bench,
                        versions: null};
            }""")
            if m["failed"]:
                raise RuntimeError("runtime failed to load:\n" + "\n".join(page.messages[-10:]))
            m["versions"] = page.evaluate("async () => await nnviz.ready")
            m["runtime_started_by_itself"] = auto
            m["runtime_load_ms"] = m["ready_ms"] - m["runtime_start_ms"] if m["runtime_start_ms"] is not None else None
            out.append(m)
            log(f"  load {i + 1}/{runs}: FCP {m['fcp_ms']:.0f} ms, ready {m['ready_ms']:.0f} ms "
                f"(runtime load {m['runtime_load_ms']:.0f} ms)")
        finally:
            stray = rec.stray()
            ctx.close()
        if stray:
            raise RuntimeError(f"requests left 127.0.0.1: {stray[:5]}")
    keys = ("fcp_ms", "first_paint_ms", "dom_content_loaded_ms", "load_ms", "ready_ms", "runtime_load_ms")
    return {"runs": out, **{f"{k}_median": median([r[k] for r in out if r[k] is not None]) for k in keys},
            "versions": out[-1]["versions"] if out else None,
            "runtime_started_by_itself": all(r["runtime_started_by_itself"] for r in out)}


def bytes_transferred(browser, base, site):
    """The English chapter, scrolled top to bottom: with runtime/ blocked, and with the runtime
    loaded and the live demos' first answers shown."""
    res = {}
    for label, block in (("without_runtime", True), ("with_runtime", False)):
        ctx, rec, page = new_context(browser)
        try:
            if block:
                ctx.route("**/runtime/**", lambda route: route.abort())
            page.goto(base + CHAPTER, wait_until="load")
            page.evaluate(SCROLL_THROUGH)
            if not block:
                page.evaluate("() => nnviz.start()")
                page.wait_for_function("() => window.__bench.ready || window.__bench.failed")
                page.evaluate(SCROLL_THROUGH)   # demos that wait for the runtime ask for their models now
            rec.quiet_for(2.0)
            res[label] = transfer(rec, base, site)
            res[label]["runtime_state"] = page.evaluate("() => document.documentElement.dataset.runtime")
            stray = rec.stray()
        finally:
            ctx.close()
        if stray:
            raise RuntimeError(f"requests left 127.0.0.1: {stray[:5]}")
        log(f"  bytes {label}: {res[label]['bytes'] / 1e6:.2f} MB in {res[label]['requests']} requests "
            f"(runtime {res[label]['runtime_state']})")
    return res


def write_bench_page(site, inputs):
    bench = site / "bench"
    bench.mkdir()
    shutil.copy2(HERE / "page.html", bench / "page.html")
    shutil.copy2(HERE / "peer.js", bench / "peer.js")
    (bench / "inputs.json").write_text(json.dumps([list(map(float, x)) for x in inputs]))


PEER_BENCH = """async ([models, calls, warmup]) => {
  await nnviz.ready;
  const inputs = (await (await fetch('inputs.json')).json()).map((x) => Float64Array.from(x));
  const maxdiff = (a, b) => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i])); return m; };
  const argmax = (a) => a.indexOf(Math.max(...a));
  const stat = (xs) => { const s = [...xs].sort((p, q) => p - q);
    const at = (q) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
    return {median_ms: at(0.5), p95_ms: at(0.95), min_ms: s[0], max_ms: s[s.length - 1], n: s.length}; };
  const out = {crossOriginIsolated: self.crossOriginIsolated, models: {}};
  for (const m of models) {
    await peer.load(m);
    await peer.worker.load(m);
    // parity on every input: Pyodide (our forward.py) vs the JS peer, main thread and worker
    let dMain = 0, dWorker = 0, dActs = 0, sameArgmax = true;
    const pyProbs = [];
    for (const x of inputs) {
      const py = await nnviz.predict(m, x), js = peer.predict(m, x), jw = await peer.worker.predict(m, x);
      dMain = Math.max(dMain, maxdiff(py.probs, js.probs));
      dWorker = Math.max(dWorker, maxdiff(py.probs, jw.probs));
      py.activations.forEach((a, l) => { dActs = Math.max(dActs, maxdiff(a, js.activations[l])); });
      sameArgmax = sameArgmax && argmax(py.probs) === argmax(js.probs) && argmax(py.probs) === argmax(jw.probs);
      pyProbs.push(py.probs);
    }
    // latency, interleaved call by call so the three see the same machine
    const tPy = [], tWorker = [], tMain = [];
    for (let i = 0; i < warmup + calls; i++) {
      const x = inputs[i % inputs.length];
      let t = performance.now();
      await nnviz.predict(m, x);
      const a = performance.now() - t;
      t = performance.now();
      await peer.worker.predict(m, x);
      const b = performance.now() - t;
      t = performance.now();
      for (let k = 0; k < 20; k++) peer.predict(m, x);
      const c = (performance.now() - t) / 20;
      if (i >= warmup) { tPy.push(a); tWorker.push(b); tMain.push(c); }
    }
    out.models[m] = {parity: {max_abs_diff_probs_main: dMain, max_abs_diff_probs_worker: dWorker,
                              max_abs_diff_activations: dActs, same_argmax: sameArgmax, images: inputs.length},
                     pyodide_probs: pyProbs,
                     pyodide_predict: stat(tPy), js_worker_predict: stat(tWorker), js_main_thread_forward: stat(tMain)};
  }
  return out;
}"""


def peer_bench(browser, base, site, models, inputs, calls, warmup):
    from nnviz import forward as fw
    ctx, rec, page = new_context(browser, init=False)
    try:
        page.goto(base + "bench/page.html", wait_until="load")
        page.evaluate("() => nnviz.start()")
        res = page.evaluate(PEER_BENCH, [list(models), calls, warmup])
        stray = rec.stray()
    finally:
        ctx.close()
    if stray:
        raise RuntimeError(f"requests left 127.0.0.1: {stray[:5]}")
    x = np.asarray(inputs, dtype=np.float64)
    for name, r in res["models"].items():
        cpy = fw.predict(fw.load(site / "data" / "models" / f"{name}.npz"), x)
        r["parity"]["max_abs_diff_pyodide_vs_cpython"] = float(np.max(np.abs(np.asarray(r.pop("pyodide_probs")) - cpy)))
        p = r["parity"]
        p["ok"] = bool(p["same_argmax"] and max(p["max_abs_diff_probs_main"], p["max_abs_diff_probs_worker"],
                                                p["max_abs_diff_activations"], p["max_abs_diff_pyodide_vs_cpython"]) <= TOL)
        r["ratio_pyodide_vs_js_worker"] = round(r["pyodide_predict"]["median_ms"] / r["js_worker_predict"]["median_ms"], 2)
        r["ratio_pyodide_vs_js_main_thread"] = round(r["pyodide_predict"]["median_ms"] / r["js_main_thread_forward"]["median_ms"], 1)
        log(f"  predict {name}: Pyodide median {r['pyodide_predict']['median_ms']:.3f} ms "
            f"p95 {r['pyodide_predict']['p95_ms']:.3f} ms; JS worker {r['js_worker_predict']['median_ms']:.3f} ms; "
            f"JS main thread {r['js_main_thread_forward']['median_ms'] * 1000:.1f} us; parity ok={p['ok']} "
            f"(max diff {max(p['max_abs_diff_probs_main'], p['max_abs_diff_probs_worker']):.2g})")
    return res


def draw_latency(browser, base, test_draw, labs):
    out = {}
    ctx, rec, page = new_context(browser, init=False)
    try:
        page.url_of = base + CHAPTER
        for model, sel in labs.items():
            if not out:
                test_draw.open_lab(page, sel, url=base + CHAPTER)
            else:
                page.locator(f"{sel} .draw-grid").scroll_into_view_if_needed()
            stats = test_draw.measure_draw_latency(page, lab=sel)
            stats.pop("samples", None)
            out[model] = stats
            log(f"  draw {model}: pointer -> repaint median {stats['median_ms']:.1f} ms, p95 {stats['p95_ms']:.1f} ms "
                f"(DOM {stats['dom_median_ms']:.1f} ms)")
        stray = rec.stray()
    finally:
        ctx.close()
    if stray:
        raise RuntimeError(f"requests left 127.0.0.1: {stray[:5]}")
    return out


def bench_browser(tmp, site_src, calls, warmup, load_runs):
    from playwright.sync_api import sync_playwright
    from nnviz import data
    conftest, test_draw = load_test_helpers()
    site = tmp / "browser-site"
    shutil.copytree(site_src, site)
    html = (site / CHAPTER).read_text(encoding="utf-8")
    live = sorted(set(re.findall(r'data-live-demo="[^"]+"[^>]*?\s+data-model="([^"]+)"', html, re.S))) or list(LIVE_FALLBACK)
    labs = {m: f'[data-live-demo="draw"][data-model="{m}"]' for m in ("mnist-h16x16", "mnist-softmax")
            if re.search(rf'data-live-demo="draw"\s+data-model="{m}"', html)}
    ds = data.load("mnist", progress=lambda *a: None)
    inputs = [ds.x_test[i].reshape(-1) / 255.0 for i in range(30)]
    inputs += [np.zeros(784), np.random.default_rng(0).uniform(0, 1, 784)]   # blank and noise
    write_bench_page(site, inputs)
    plain, base = serve(site, conftest.Handler, isolated=False)       # as `make serve`, with the site's CSP
    isolated, ibase = serve(site, conftest.Handler, isolated=True)    # bench page only: fine timers
    res = {"site": str(site_src), "chapter": CHAPTER, "live_models": live,
           "server": "http.server (ThreadingHTTPServer) on 127.0.0.1, no compression, Cache-Control: no-cache; "
                     "every run in a fresh browser context (empty cache)",
           "calls": calls, "warmup": warmup}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=conftest.CHROMIUM_ARGS)
            res["chromium"] = browser.version
            try:
                log(f"browser: page load x{load_runs} ({CHAPTER})")
                res["load"] = page_load(browser, base + CHAPTER, load_runs)
                log("browser: bytes transferred")
                res["bytes"] = bytes_transferred(browser, base, site)
                log(f"browser: predict latency, Pyodide vs plain-JS peer ({', '.join(live)})")
                res["predict"] = peer_bench(browser, ibase, site, live, inputs, calls, warmup)
                log(f"browser: drawing labs ({', '.join(labs)})")
                res["draw"] = draw_latency(browser, base, test_draw, labs)
            finally:
                browser.close()
    finally:
        for h in (plain, isolated):
            h.shutdown()
            h.server_close()
    res["requests_outside_127_0_0_1"] = 0   # every part above raises otherwise
    return res


# =============================================================================== report

