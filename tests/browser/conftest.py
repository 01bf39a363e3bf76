"""Real-browser fixtures: Debian's Chromium driven by Playwright (PyPI), never a downloaded browser.

Sites under test (the `site` fixture):
  * "fixture": a minimal site built here in a session temp dir: the vendored runtime
    (nnviz.runtime), static/js/{nnviz,worker}.js, a randomly initialised
    784-16-16-10 model saved as data/models/mnist-h16x16.npz, and one chapter-like page
    en/demo.html with a [data-live-demo] holding a fallback <img>. Fast and independent of
    training and rendering.
  * "real": the built site, $NNVIZ_SITE or <repo>/site (tests/conftest.py's site_dir), on its
    first page with a live demo. Missing site: skipped locally, a failure when $CI is set.
  Each test runs on one of them (site_kinds): the real site once built, else the fixture;
  NNVIZ_BROWSER_SITE=fixture or =real picks one.

Every page records every request its browser context makes (workers included); after each test
all of them must have gone to 127.0.0.1. Chromium also resolves no other host, so a stray
request fails instead of leaving the machine.
"""
from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import struct
import sys
import threading
import zlib
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
DEMO_MODEL = "mnist-h16x16"

try:
    import nnviz.forward  # noqa: F401
except ImportError:  # running from a clone without `pip install -e .`
    sys.path.insert(0, str(REPO / "src"))
if str(REPO / "tests") not in sys.path:  # imported from outside pytest (the benchmark)
    sys.path.insert(0, str(REPO / "tests"))
from nnviz import cited, forward  # noqa: E402
from nnviz import runtime as nnviz_runtime  # noqa: E402
from nnviz.pages import CSP  # noqa: E402,F401 - the pages' own policy, also sent as a header here
from skips import missing  # noqa: E402,F401  (the one skip helper; test_draw imports it from here)


@dataclass
class Site:
    kind: str          # "fixture" or "real"
    root: Path
    demo_page: str     # path of a page with a [data-live-demo], relative to root

    def model_path(self, name: str = DEMO_MODEL) -> Path:
        return self.root / "data" / "models" / f"{name}.npz"


# --------------------------------------------------------------------------- the fixture site

def random_model(layers=(784, 16, 16, 10), seed=0, name=DEMO_MODEL) -> forward.Model:
    """Untrained but realistic weights (N(0,1)/sqrt(n) init, MNIST-like standardisation)."""
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal((m, n)) / np.sqrt(m) for m, n in zip(layers[:-1], layers[1:])]
    biases = [0.1 * rng.standard_normal(n) for n in layers[1:]]
    mean = rng.uniform(0.0, 0.3, layers[0])
    std = rng.uniform(0.2, 0.45, layers[0])
    spec = {"name": name, "dataset": "mnist", "layers": list(layers), "activation": "relu"}
    return forward.Model(spec, weights, biases, mean, std)


def context_from_site(data: Path) -> dict:
    """The render context the build passes to partials, rebuilt from a built site's data/ folder
    (see demos/README.md): models, analyses, datasets with samples, the comparison if exported."""
    load = lambda path: json.loads(path.read_text(encoding="utf-8"))
    models = {e["name"]: e for e in load(data / "models.json")}
    analysis = {name: load(data / name / "analysis.json") for name in models
                if (data / name / "analysis.json").is_file()}
    datasets = {samples.parent.name: {"classes": load(samples)["classes"]}
                for samples in sorted(data.glob("*/samples.json"))}
    compare = {}
    for path in sorted(data.glob("compare/*.json"))[:1]:
        compare = load(path)
    neurons = {path.parent.name: sorted({(n["layer"], n["unit"]) for n in load(path)["neurons"]})
               for path in sorted(data.glob("*/neurons.json"))}
    return {"models": models, "vars": {}, "notices": [],
            "data": {"analysis": analysis, "compare": compare, "datasets": datasets, "neurons": neurons, "cited": cited.CITED}}


def chapter_site(site_dir: Path, base: Path, chapters: dict) -> tuple[Path, Path]:
    """(root, out) for pages rendered from a temporary chapter tree against a built site:
    chapters {"<lang>/<slug>.md": source}; root links the repo's templates, demos, static and
    scripts, out links the built site's data/ and runtime/ (render with nnviz.render.render_site)."""
    root, out = base / "root", base / "site"
    for rel, text in chapters.items():
        (root / "chapters" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "chapters" / rel).write_text(text, encoding="utf-8")
    for name in ("templates", "demos", "static", "scripts"):
        (root / name).symlink_to(REPO / name)
    out.mkdir()
    for name in ("data", "runtime"):
        (out / name).symlink_to(site_dir / name)
    return root, out


def chapter(title: str, directives: list[str]) -> str:
    """A chapter source holding only `directives` (for pages that test demos on their own)."""
    return "---\ntitle: " + title + "\n---\n\n" + "\n\n".join(directives) + "\n"


def png_bytes(width=28, height=28) -> bytes:
    """A small valid grey PNG (a diagonal stroke), made without any imaging library."""
    rows = b"".join(b"\x00" + bytes(255 if abs(x - y) < 3 else 0 for x in range(width))
                    for y in range(height))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


FIXTURE_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="nnviz-root" content="../">
<title>Runtime fixture</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="../static/css/fixture.css">
<script type="module" src="../static/js/nnviz.js"></script>
</head>
<body data-text-loading="Loading the live demos… {percent}" data-text-ready="Live demos ready."
  data-text-failed="The live demos could not load; the pictures show their static versions."
  data-text-file="Opened as a file: run make serve for the live demos.">
<h1>What a network learns</h1>
<p id="prose">This paragraph is the chapter text; it must stay readable without the runtime.</p>
<progress data-runtime-progress max="1" value="0"></progress>
<p data-runtime-status></p>
<figure data-live-demo="draw" data-model="mnist-h16x16">
  <img class="fallback" src="../figures/demo-draw.png" alt="A drawn digit and the network's answer" width="28" height="28">
  <figcaption>Draw a digit.</figcaption>
  <p class="runtime-note" data-runtime-status></p>
</figure>
</body>
</html>
"""

# Added to the fixture's nnviz.zip as nnviz.demos.fixture_probe, to test nnviz.call on adapters.
FIXTURE_ADAPTER = """import numpy as np
from nnviz import forward

def describe(model, pixels, extra):
    x = np.asarray(pixels, dtype=np.float64)
    return {"name": model.name, "layers": model.layers, "pixels": [x.size, float(x.mean())],
            "extra": extra, "w1_row0": model.weights[0][0],
            "argmax": np.argmax(forward.predict(model, x))}

def boom():
    return 1 / 0

def _private():
    return "hidden"
"""

FIXTURE_CSS = """[data-live-demo] .runtime-note { display: none; }
[data-live-demo].runtime-failed .runtime-note { display: block; }
.spacer { height: 4000px; }
"""

# The same page with its demo far below the fold: the runtime must not load until it nears.
FIXTURE_FAR_PAGE = FIXTURE_PAGE.replace('<figure data-live-demo', '<div class="spacer"></div>\n<figure data-live-demo')


def build_fixture_site(out: Path) -> Site:
    nnviz_runtime.vendor(out, REPO, progress=lambda *a: None,
                         extra={"nnviz/demos/fixture_probe.py": FIXTURE_ADAPTER})
    js = out / "static" / "js"
    js.mkdir(parents=True)
    for name in ("nnviz.js", "worker.js"):
        shutil.copyfile(REPO / "static" / "js" / name, js / name)
    (out / "static" / "css").mkdir()
    (out / "static" / "css" / "fixture.css").write_text(FIXTURE_CSS)
    (out / "figures").mkdir()
    (out / "figures" / "demo-draw.png").write_bytes(png_bytes())
    models = out / "data" / "models"
    models.mkdir(parents=True)
    model = random_model()
    models.joinpath(f"{DEMO_MODEL}.npz").write_bytes(forward.to_bytes(model))
    (out / "data" / "models.json").write_text(json.dumps([
        dict(model.spec, test_accuracy=None)], indent=1))
    (out / "en").mkdir()
    (out / "en" / "demo.html").write_text(FIXTURE_PAGE)
    (out / "en" / "far.html").write_text(FIXTURE_FAR_PAGE)
    (out / "index.html").write_text('<!doctype html><title>fixture</title><a href="en/demo.html">demo</a>')
    return Site("fixture", out, "en/demo.html")


@pytest.fixture(scope="session")
def vendor_module():
    """nnviz.runtime, the module that vendors the browser runtime."""
    return nnviz_runtime


@pytest.fixture(scope="session")
def make_model():
    """random_model(layers=..., seed=..., name=...) -> forward.Model."""
    return random_model


@pytest.fixture(scope="session")
def fixture_site(tmp_path_factory) -> Site:
    return build_fixture_site(tmp_path_factory.mktemp("fixture-site"))


# --------------------------------------------------------------------------- the real site

def first_demo_page(root: Path) -> str | None:
    for page in sorted(root.rglob("*.html")):
        if "data-live-demo" in page.read_text(encoding="utf-8", errors="replace"):
            return page.relative_to(root).as_posix()
    return None


@pytest.fixture(scope="session")
def real_site(site_dir) -> Site:
    needed = ["runtime/manifest.json", "sw.js", "static/js/nnviz.js",
              "static/js/worker.js", f"data/models/{DEMO_MODEL}.npz"]
    absent = [p for p in needed if not (site_dir / p).is_file()]
    if absent:
        missing(f"{site_dir} lacks {', '.join(absent)}")
    page = first_demo_page(site_dir)
    if page is None:
        missing(f"no page in {site_dir} has a [data-live-demo]")
    return Site("real", site_dir, page)


def site_kinds():
    """The sites the `site` (and test_draw's `draw_site`) tests run on: NNVIZ_BROWSER_SITE picks
    one; otherwise the real site when it is built (always under $CI, where a missing one fails),
    else the fixture. Not both: the fixture renders the same demos, runtime and worker on a smaller
    page, so running each test on both doubled the slowest tests' cost (a Pyodide start-up each)
    for no extra coverage; a test that needs the fixture's own parts asks for it by parametrising
    `site` indirectly (test_runtime.py)."""
    choice = os.environ.get("NNVIZ_BROWSER_SITE", "").strip()
    if choice in ("fixture", "real"):
        return [choice]
    built = (Path(os.environ.get("NNVIZ_SITE") or REPO / "site") / "index.html").is_file()
    return ["real"] if built or os.environ.get("CI") else ["fixture"]


@pytest.fixture(scope="session", params=site_kinds())
def site(request) -> Site:
    return request.getfixturevalue(f"{request.param}_site")


# --------------------------------------------------------------------------- server and browser

class Handler(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map,
                      ".wasm": "application/wasm", ".mjs": "text/javascript",
                      ".js": "text/javascript", ".json": "application/json",
                      ".npz": "application/octet-stream", ".zip": "application/zip",
                      ".whl": "application/zip", ".svg": "image/svg+xml",
                      ".woff2": "font/woff2", ".css": "text/css"}

    def end_headers(self):
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, *args):
        pass


@dataclass
class Server:
    url: str    # http://127.0.0.1:PORT/
    site: Site


class QuietServer(ThreadingHTTPServer):
    """A page closed mid-download (a test ending while pictures still load) breaks its connection:
    that is the browser's right, not an error worth a traceback in the log."""

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextlib.contextmanager
def serve_folder(folder, log=None):
    """Serve `folder` on 127.0.0.1 at a free port, in a thread, with real MIME types and the CSP
    header; yields the base URL ("http://127.0.0.1:PORT/"). With a list `log`, each request's
    (path, headers) is appended to it."""
    handler = Handler
    if log is not None:
        class handler(Handler):
            def send_head(self):
                log.append((self.path, dict(self.headers)))
                return super().send_head()
    httpd = QuietServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="session")
def server(site):
    """The site (fixture or real) served by serve_folder."""
    with serve_folder(site.root) as url:
        yield Server(url, site)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).is_file():
        missing(f"{CHROMIUM} not found: run scripts/install_chromium.sh (Debian package chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("Playwright is not installed: pip install playwright==1.64.1 "
                "(never `playwright install`: we drive Debian's chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield NoServiceWorkers(b)
        b.close()


class NoServiceWorkers:
    """The browser, whose new contexts block service workers unless a test asks for them
    (service_workers="allow": tests/browser/test_offline.py). A context whose page registered
    sw.js can hang Chromium's context close, and a hung close once took the whole CI run."""

    def __init__(self, browser):
        self._browser = browser

    def new_context(self, **options):
        options.setdefault("service_workers", "block")
        return self._browser.new_context(**options)

    def __getattr__(self, name):
        return getattr(self._browser, name)


# Browser and CPython run the same float64 numpy code: they agree to ~1e-14. A result that went
# through float32 anywhere differs by ~1e-8, so it must fail this (float32_would_fail checks that).
PARITY_TOL = 1e-12


def float32_would_fail(arrays):
    """The parity tolerance is tight enough to catch a float32 slip on exactly these results."""
    slip = max(np.max(np.abs(np.asarray(a, np.float32).astype(np.float64) - a)) for a in arrays)
    assert slip > 100 * PARITY_TOL, f"rounding these results to float32 moves them only {slip:.3g}"


def is_local(url: str) -> bool:
    parsed = urlparse(url)
    if parsed.scheme in ("data", "blob", "about"):
        return True
    return parsed.scheme in ("http", "https", "ws", "wss") and parsed.hostname == "127.0.0.1"


def assert_all_local(urls):
    stray = [u for u in urls if not is_local(u)]
    assert urls, "no requests were recorded"
    assert not stray, f"{len(stray)} request(s) left 127.0.0.1: {stray[:10]}"


def recorded_page(browser, server):
    """(context, page) where page.requests lists every request URL (page and workers) and
    page.messages the console output and page errors."""
    context = browser.new_context()
    requests, messages = [], []
    context.on("request", lambda r: requests.append(r.url))
    pg = context.new_page()
    pg.set_default_timeout(90_000)
    pg.on("console", lambda m: messages.append(f"console.{m.type}: {m.text}"))
    pg.on("pageerror", lambda e: messages.append(f"pageerror: {e}"))
    pg.requests, pg.messages, pg.server = requests, messages, server
    pg.assert_all_local = lambda: assert_all_local(requests)
    return context, pg


@pytest.fixture
def page(browser, server):
    """A fresh context and page (see recorded_page). After the test all requests must be local."""
    context, pg = recorded_page(browser, server)
    yield pg
    context.close()
    if pg.requests:
        assert_all_local(pg.requests)


@pytest.fixture(scope="module")
def ready_page(browser, server):
    """The site's demo page with the runtime started, shared by a module's tests that only ask the
    worker and read the page (one Pyodide start-up instead of one per test); page.versions is
    what nnviz.start() answered. Afterwards all requests must have been local."""
    context, pg = recorded_page(browser, server)
    pg.goto(server.url + server.site.demo_page)
    try:
        pg.versions = pg.evaluate("() => nnviz.start()")
    except Exception as e:
        raise AssertionError(f"runtime did not load: {e}\n" + "\n".join(pg.messages[-20:]))
    yield pg
    context.close()
    assert_all_local(pg.requests)


@contextlib.contextmanager
def page_opener(browser, base_url, timeout_ms=90_000):
    """Yields open(path, **context options) -> a loaded Playwright page on base_url + path, each in
    its own context; afterwards: no page error, and every request stayed on 127.0.0.1."""
    contexts, requests, errors = [], [], []

    def open_(path, **options):
        ctx = browser.new_context(**options)
        contexts.append(ctx)
        ctx.on("request", lambda r: requests.append(r.url))
        pg = ctx.new_page()
        pg.set_default_timeout(timeout_ms)
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.goto(base_url + path)
        pg.wait_for_load_state("load")
        return pg
    try:
        yield open_
    finally:
        for ctx in contexts:
            ctx.close()
    assert not errors, errors
    if requests:
        assert_all_local(requests)
