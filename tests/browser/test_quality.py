"""The quality bar of the built site (issue 7): links, security, accessibility and dark mode.

All on the real site ($NNVIZ_SITE or <repo>/site, see conftest.py), served on 127.0.0.1 with the
strict CSP header of conftest.CSP. The first tests read the files only; the others drive Debian's
Chromium:

  * every href/src/srcset/poster in every page and every url() in every stylesheet is a file of
    the site (external <a href> links excepted: they are references, not loads);
  * every page carries the CSP meta (`script-src 'self' 'wasm-unsafe-eval'`, nothing inline), and
    the live demos load and compute under the served CSP without a single violation;
  * axe-core (npm, node_modules/axe-core) finds no serious or critical violation on any page, in
    light and in dark mode, once the runtime is ready; every interactive control of every page is
    reached by Tab, is visible when focused and has an accessible name; images have alt text;
  * dark mode follows prefers-color-scheme (dark background, light text), checked on computed
    styles and on screenshots at 1280 and 375 px ($NNVIZ_SCREENSHOTS keeps them, else tmp).
"""
from __future__ import annotations

import functools
import os
import posixpath
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pytest

from conftest import REPO, assert_all_local, serve_folder  # tests/browser/conftest.py
from nnviz import forward  # noqa: E402

AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
CHAPTERS = ("en/looking-inside.html", "zh/looking-inside.html")
INDEXES = ("index.html", "zh/index.html")
READY_TIMEOUT = 240_000      # ms: the runtime on a loaded 2-core machine
MAX_SCROLL_STEPS = 400       # 400 x 720 px: far longer than any page

# Serious axe violations in demos owned by others, reported and routed but not yet fixed.
# Each entry: (rule, a class every failing element has) -> why it is still open. A page with only
# these violations is an xfail naming them; any other serious/critical violation fails.
# Empty: the confusion/diffmatrix contrast and cell names and the draw output names are fixed.
KNOWN: dict[tuple[str, str], str] = {}


# --------------------------------------------------------------------------- the site and its files

@pytest.fixture(scope="module")
def site_root(real_site) -> Path:
    return real_site.root


@pytest.fixture(scope="module")
def pages(site_root) -> list[str]:
    found = sorted(p.relative_to(site_root).as_posix() for p in site_root.rglob("*.html")
                   if not p.relative_to(site_root).as_posix().startswith(("static/", "runtime/")))
    for needed in INDEXES + CHAPTERS:
        assert needed in found, f"{needed} is missing from the built site ({found})"
    return found


class PageScan(HTMLParser):
    """URLs a page loads or links to, its ids, its scripts and inline code, its images."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.urls, self.ids, self.scripts, self.inline, self.csp, self.imgs = [], set(), [], [], [], []

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        line = self.getpos()[0]
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and "name" in a:
            self.ids.add(a["name"])
        for key in ("href", "src", "poster"):
            if key in a and tag != "base":
                self.urls.append((tag, key, a[key].strip(), line))
        if tag == "object" and "data" in a:
            self.urls.append((tag, "data", a["data"].strip(), line))
        for key in ("srcset", "imagesrcset"):
            for part in filter(None, (s.strip() for s in a.get(key, "").split(","))):
                self.urls.append((tag, key, part.split()[0], line))
        for u in re.findall(r"url\(\s*['\"]?([^'\")]+)", a.get("style", "")):
            self.urls.append((tag, "style", u.strip(), line))
        if tag == "script":
            self.scripts.append((a.get("src"), a.get("type", ""), line))
            if not a.get("src"):
                self.inline.append(f"line {line}: inline <script>")
        for k, v in a.items():
            if k.startswith("on"):
                self.inline.append(f"line {line}: <{tag} {k}=...>")
            if k in ("href", "src", "action", "formaction") and v.strip().lower().startswith("javascript:"):
                self.inline.append(f"line {line}: <{tag} {k}=\"javascript:...\">")
        if tag == "meta" and a.get("http-equiv", "").lower() == "content-security-policy":
            self.csp.append(a.get("content", ""))
        if tag == "img":
            self.imgs.append((a, line))

    handle_startendtag = handle_starttag


@functools.cache
def scan(path: Path) -> PageScan:
    p = PageScan()
    p.feed(path.read_text(encoding="utf-8"))
    p.close()
    return p


def resolve(site_root: Path, base_rel: str, url: str):
    """(problem or None, target rel path or None, fragment) for a URL found in file base_rel."""
    parsed = urlparse(url)
    if parsed.scheme or url.startswith("//"):
        return None, None, None            # remote: judged by the caller
    path = unquote(parsed.path)
    if not path:
        return None, base_rel, parsed.fragment
    target = posixpath.normpath(posixpath.join(posixpath.dirname(base_rel), path))
    if target.startswith("../") or target == "..":
        return f"points outside the site ({target})", None, None
    if (site_root / target).is_dir():
        target = posixpath.join(target, "index.html")
    if not (site_root / target).is_file():
        return f"no such file: {target}", None, None
    return None, target, parsed.fragment


def test_every_link_and_asset_resolves_to_a_file_of_the_site(site_root, pages):
    problems, checked = [], 0
    for rel in pages:
        for tag, attr, url, line in scan(site_root / rel).urls:
            scheme = urlparse(url).scheme.lower()
            if scheme in ("http", "https", "mailto") or url.startswith("//"):
                if tag != "a":       # a stylesheet, script, image... from elsewhere: never
                    problems.append(f"{rel}:{line}: <{tag} {attr}=\"{url}\"> loads from outside the site")
                continue
            if scheme == "data" and tag != "a":
                continue
            if scheme:
                problems.append(f"{rel}:{line}: <{tag} {attr}=\"{url}\">: unexpected URL scheme")
                continue
            checked += 1
            problem, target, fragment = resolve(site_root, rel, url)
            if problem:
                problems.append(f"{rel}:{line}: <{tag} {attr}=\"{url}\"> {problem}")
            elif fragment and target.endswith(".html") and fragment not in scan(site_root / target).ids:
                problems.append(f"{rel}:{line}: <{tag} {attr}=\"{url}\">: {target} has no id '{fragment}'")
    for css in sorted(site_root.rglob("*.css")):
        rel = css.relative_to(site_root).as_posix()
        text = css.read_text(encoding="utf-8", errors="replace")
        for url in re.findall(r"url\(\s*['\"]?([^'\")]+?)['\"]?\s*\)", text) + \
                re.findall(r"@import\s+['\"]([^'\"]+)['\"]", text):
            url = url.strip()
            if url.startswith(("data:", "#")):
                continue
            checked += 1
            if urlparse(url).scheme or url.startswith("//"):
                problems.append(f"{rel}: url({url}) loads from outside the site")
                continue
            problem, _, _ = resolve(site_root, rel, url)
            if problem:
                problems.append(f"{rel}: url({url}) {problem}")
    assert checked > 100, f"only {checked} local URLs found: is the scan broken?"
    assert not problems, f"{len(problems)} broken:\n" + "\n".join(problems[:40])


def test_every_model_file_of_models_json_exists(site_root):
    import json
    models = json.loads((site_root / "data" / "models.json").read_text())
    missing = [m["file"] for m in models if not (site_root / m["file"]).is_file()]
    assert models and not missing, missing


# --------------------------------------------------------------------------- security (files)

def csp_directives(policy: str) -> dict[str, list[str]]:
    out = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            out[words[0].lower()] = words[1:]
    return out


def test_every_page_carries_the_csp_and_has_no_inline_code(site_root, pages):
    for rel in pages:
        page = scan(site_root / rel)
        assert len(page.csp) == 1, f"{rel}: {len(page.csp)} CSP <meta> tags"
        d = csp_directives(page.csp[0])
        assert d.get("script-src") == ["'self'", "'wasm-unsafe-eval'"], f"{rel}: script-src {d.get('script-src')}"
        assert d.get("default-src") == ["'self'"], f"{rel}: default-src {d.get('default-src')}"
        for key in ("connect-src", "worker-src", "img-src", "style-src"):
            assert all(s in ("'self'", "data:", "blob:", "'unsafe-inline'") for s in d.get(key, [])), (rel, key, d[key])
        assert d.get("object-src") == ["'none'"] and d.get("base-uri") == ["'self'"], f"{rel}: {d}"
        assert not page.inline, f"{rel}: " + "; ".join(page.inline)
        for src, _, line in page.scripts:
            problem, target, _ = resolve(site_root, rel, src)
            assert problem is None and target.startswith("static/"), f"{rel}:{line}: script {src}: {problem}"


def test_images_have_text_alternatives_in_the_html(site_root, pages):
    bad = []
    for rel in pages:
        for attrs, line in scan(site_root / rel).imgs:
            decorative = attrs.get("aria-hidden") == "true" or attrs.get("role") in ("presentation", "none")
            if "alt" not in attrs or (not attrs["alt"].strip() and not decorative):
                bad.append(f"{rel}:{line}: <img src=\"{attrs.get('src')}\"> without alt text")
    assert not bad, "\n".join(bad[:30])


# --------------------------------------------------------------------------- the browser

@pytest.fixture(scope="module")
def site_url(real_site):
    """The real site on 127.0.0.1 (a free port) with the CSP header, in a thread."""
    with serve_folder(real_site.root) as url:
        yield url


RECORD_CSP = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(
  {directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile + ':' + e.lineNumber,
   sample: e.sample}));
"""


class Tab:
    """A page in its own context, recording requests, errors, console output and failed loads."""

    def __init__(self, browser, url, scheme="light", width=1280):
        self.context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
        self.context.add_init_script(RECORD_CSP)
        self.requests, self.errors, self.failed = [], [], []
        self.context.on("request", lambda r: self.requests.append(r.url))
        self.page = self.context.new_page()
        self.page.set_default_timeout(READY_TIMEOUT)
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}")
                     if m.type == "error" or "Content Security Policy" in m.text else None)
        self.page.on("response", lambda r: self.failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        self.url = url

    def open(self, rel, ready=True):
        self.page.goto(self.url + rel)
        if ready:
            settle(self.page)
        return self.page

    def close(self):
        self.context.close()
        if self.requests:
            assert_all_local(self.requests)


def settle(page):
    """Start the runtime, scroll through the page so every demo initialises, wait until every live
    demo is ready and the network is quiet, then go back to the top.

    No step waits without a bound: Playwright's evaluate has no timeout, and once in CI the
    animation frames this used to await never came (the test hung until pytest-timeout). Each
    scroll now waits for two frames or 250 ms, whichever is first, and counts the frames that
    did not come; the readiness wait polls on a timer, not on frames, and says how many stalled."""
    live = page.locator("[data-live-demo]").count()
    if live:
        try:
            page.evaluate("() => nnviz.start()")
        except Exception as e:
            raise AssertionError(f"the runtime did not load: {e}") from None
    walk = scroll_through(page)
    if walk["stalled"]:             # frames stop for a page Chromium thinks is in the background
        page.bring_to_front()
        walk = scroll_through(page)
    assert walk["steps"] < MAX_SCROLL_STEPS, f"{page.url}: the page kept growing while scrolled ({walk})"
    if live:
        try:
            page.wait_for_function("""() => [...document.querySelectorAll('[data-live-demo]')]
                                          .every((d) => d.classList.contains('runtime-ready'))""",
                                   timeout=READY_TIMEOUT, polling=200)
        except Exception as e:
            raise AssertionError(f"{page.url}: live demos not ready ({walk['stalled']} of "
                                 f"{2 * walk['steps']} animation frames never came): {e}") from None
    page.wait_for_load_state("networkidle")
    page.evaluate("() => window.scrollTo(0, 0)")


def scroll_through(page):
    """Scroll down in steps of 0.8 screens, two frames (or 250 ms) at each: {steps, stalled, height}."""
    return page.evaluate("""async (maxSteps) => {
        const frame = () => new Promise((r) => { requestAnimationFrame(() => r(1)); setTimeout(() => r(0), 250); });
        let steps = 0, stalled = 0;
        for (let y = 0; y < document.documentElement.scrollHeight && steps < maxSteps; y += Math.floor(innerHeight * 0.8)) {
            window.scrollTo(0, y);   // two frames: IntersectionObserver callbacks have run
            stalled += 2 - (await frame()) - (await frame());
            steps++;
        }
        return {steps, stalled, height: document.documentElement.scrollHeight};
    }""", MAX_SCROLL_STEPS)


@pytest.fixture
def tabs(browser, site_url):
    opened = []

    def new(**kw):
        t = Tab(browser, site_url, **kw)
        opened.append(t)
        return t
    yield new
    for t in opened:
        t.close()


@pytest.fixture(scope="module")
def settled(browser, site_url):
    """settled(rel, scheme) -> a Tab with rel open and settled, shared by the checks that only
    read the page (axe, colour scheme, text alternatives): a chapter takes seconds to settle."""
    opened = {}

    def get(rel, scheme="light"):
        if (rel, scheme) not in opened:
            opened[rel, scheme] = Tab(browser, site_url, scheme=scheme)
            opened[rel, scheme].open(rel)
        return opened[rel, scheme]
    yield get
    for t in opened.values():
        t.close()


# --------------------------------------------------------------------------- security (browser)

@pytest.mark.parametrize("rel", CHAPTERS)
def test_live_demos_work_under_the_served_csp(tabs, rel, site_root):
    tab = tabs()
    page = tab.open(rel)
    assert page.get_attribute("html", "data-runtime") == "ready"
    probs = page.evaluate("() => nnviz.predict('mnist-h16x16', new Array(784).fill(0.2)).then((r) => r.probs)")
    assert len(probs) == 10 and abs(sum(probs) - 1) < 1e-9
    # a live demo computes: draw the test digit in the first drawing lab and read its answer
    lab = page.locator("[data-live-demo] canvas.draw-grid").first
    assert lab.count(), f"{rel} has no drawing lab"
    lab.scroll_into_view_if_needed()
    box = lab.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.2)
    page.mouse.down()
    for k in range(1, 12):
        page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * (0.2 + 0.05 * k), steps=2)
    page.mouse.up()
    root = lab.evaluate_handle("(c) => c.closest('[data-live-demo]')")
    page.wait_for_function("""(el) => el.drawLab && el.nnvizLast && !el.drawLab.busy
                                      && el.nnvizLast.seq === el.drawLab.seq""", arg=root)
    last = root.evaluate("(el) => el.nnvizLast")
    assert sum(last["pixels"]) > 1, "the stroke left no ink"
    model = forward.load(site_root / "data" / "models" / f"{root.get_attribute('data-model')}.npz")
    want = forward.predict(model, np.asarray(last["input"], dtype=np.float64))
    assert np.max(np.abs(np.asarray(last["probs"]) - want)) <= 1e-12, "the lab's answer is not forward.py's"
    assert root.evaluate("(el) => el.querySelector('.draw-verdict-digit').textContent") == str(int(np.argmax(want)))
    assert page.evaluate("() => window.__cspViolations") == []
    assert tab.errors == [] and tab.failed == []
    # the recorder works: an inline script is refused and reported
    page.evaluate("() => { const s = document.createElement('script'); s.textContent = 'window.__ran = 1';"
                  " document.body.append(s); }")
    page.wait_for_function("() => window.__cspViolations.length > 0", timeout=10_000)
    assert page.evaluate("() => window.__ran") is None
    assert page.evaluate("() => window.__cspViolations[0].directive").startswith("script-src")


# --------------------------------------------------------------------------- accessibility

def run_axe(page, tags=None):
    page.evaluate(AXE.read_text())   # evaluated by the driver, so the page's CSP allows it
    return page.evaluate("""async (tags) => {
        const opts = {resultTypes: ['violations']};
        if (tags) opts.runOnly = {type: 'rule', values: tags};
        const r = await axe.run(document, opts);
        return r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map((n) => ({target: n.target.join(' '), html: n.html.slice(0, 160),
                                       summary: (n.failureSummary || '').replace(/\\s+/g, ' ').slice(0, 240)}))}));
    }""", tags)


def judge(violations, where):
    """Fail on any serious/critical violation not in KNOWN; xfail if only known ones remain."""
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    unknown, known = [], set()
    for v in serious:
        for n in v["nodes"]:
            hit = next((k for k in KNOWN if k[0] == v["id"] and re.search(rf'class="[^"]*\b{k[1]}\b', n["html"])), None)
            if hit:
                known.add(hit)
            else:
                unknown.append(f"[{v['impact']}] {v['id']} ({v['help']}): {n['target']}\n      {n['html']}\n"
                               f"      {n['summary']}")
    assert not unknown, f"{where}: {len(unknown)} serious/critical axe violation(s):\n  " + "\n  ".join(unknown[:25])
    if known:
        pytest.xfail(f"{where}: only known, routed violations (see KNOWN): "
                     + ", ".join(f"{rule} on .{cls}" for rule, cls in sorted(known)))


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("rel", INDEXES + CHAPTERS)
def test_axe_finds_no_serious_violation(settled, rel, scheme):
    if not AXE.is_file():
        pytest.fail(f"{AXE} missing: run `npm ci` (axe-core is pinned in package.json)")
    page = settled(rel, scheme).page
    violations = run_axe(page)
    assert page.evaluate("() => window.axe.version")
    judge(violations, f"{rel} ({scheme})")


FOCUS_INFO = """(seen) => {
    const el = document.activeElement;
    if (!el || el === document.body || el === document.documentElement) return null;
    const box = (e) => { const r = e.getBoundingClientRect(); const cs = getComputedStyle(e);
        return {w: r.width, h: r.height, top: r.top, bottom: r.bottom, left: r.left, right: r.right,
                shown: cs.visibility !== 'hidden' && Number(cs.opacity) > 0 && r.width >= 2 && r.height >= 2}; };
    let b = box(el);
    if (!b.shown && el.labels && el.labels.length) b = box(el.labels[0]);   // a visually hidden input
    const first = !el.hasAttribute('data-qa-tab');
    el.setAttribute('data-qa-tab', String(seen));
    const path = []; let e = el;
    while (e && e !== document.body && path.length < 4) {
        path.unshift(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
                     (e.classList.length ? '.' + [...e.classList].slice(0, 2).join('.') : ''));
        e = e.parentElement;
    }
    const demo = el.closest('[id^="demo-"]');
    return {first, path: path.join(' > '), demo: demo ? demo.id : null, ...b, vw: innerWidth, vh: innerHeight};
}"""

UNREACHED = """() => {
    const sel = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex], [contenteditable]';
    const out = [];
    const groups = new Set([...document.querySelectorAll('input[type=radio][data-qa-tab]')].map((r) => r.name));
    for (const el of document.querySelectorAll(sel)) {
        if (el.hasAttribute('data-qa-tab') || el.disabled || el.closest('[inert]')) continue;
        if (el.getAttribute('tabindex') === '-1' || el.tabIndex < 0) continue;   // roving focus: arrows, not Tab
        if (el.type === 'radio' && groups.has(el.name)) continue;              // one Tab stop per radio group
        if (!el.getClientRects().length || getComputedStyle(el).visibility === 'hidden') continue;
        if (el.tagName === 'SUMMARY' && el.parentElement.tagName !== 'DETAILS') continue;
        const demo = el.closest('[id^="demo-"]');
        out.push((demo ? demo.id + ': ' : '') + el.outerHTML.slice(0, 140));
    }
    return out;
}"""


def accessible_name(cdp):
    obj = cdp.send("Runtime.evaluate", {"expression": "document.activeElement"})["result"]
    nodes = cdp.send("Accessibility.getPartialAXTree", {"objectId": obj["objectId"], "fetchRelatives": False})["nodes"]
    node = nodes[0] if nodes else {}
    return node.get("role", {}).get("value", ""), (node.get("name", {}).get("value") or "").strip()


@pytest.mark.parametrize("rel", INDEXES + CHAPTERS)
def test_keyboard_reaches_every_control_with_a_name(tabs, rel):
    """Tab from the top to the end: each stop is visible (scrolled into view) and has an accessible
    name (Chromium's own computation); afterwards no visible control was skipped."""
    tab = tabs()
    page = tab.open(rel)
    cdp = tab.context.new_cdp_session(page)
    problems, stops, demos = [], 0, set()
    for _ in range(1500):
        page.keyboard.press("Tab")
        info = page.evaluate(FOCUS_INFO, stops)
        if info is None or not info["first"]:
            break                           # back to the browser, or around again
        stops += 1
        demos.add(info["demo"])
        role, name = accessible_name(cdp)
        where = f"stop {stops} ({info['demo'] or 'page'}): {info['path']}"
        if not info["shown"]:
            problems.append(f"{where}: focused but not visible ({info['w']:.0f}x{info['h']:.0f})")
        elif info["bottom"] < 0 or info["top"] > info["vh"] or info["right"] < 0 or info["left"] > info["vw"]:
            problems.append(f"{where}: focused but outside the viewport (top {info['top']:.0f})")
        if not name:
            problems.append(f"{where}: role {role or '?'} has no accessible name")
    else:
        problems.append("the Tab walk never ended")
    unreached = page.evaluate(UNREACHED)
    problems += [f"never reached by Tab: {u}" for u in unreached]
    assert stops >= 3, f"only {stops} Tab stops"
    if rel in CHAPTERS:
        assert len(demos - {None}) >= 8, f"only demos {sorted(d for d in demos if d)} have Tab stops"
    assert not problems, f"{rel}: {len(problems)} keyboard problem(s):\n  " + "\n  ".join(problems[:40])


@pytest.mark.parametrize("rel", CHAPTERS)
def test_images_canvases_and_svgs_have_text_alternatives_once_live(settled, rel):
    """After the demos have drawn (their pictures are made by scripts): every visible <img> has
    alt text, every visible <canvas> and role=img <svg> has an accessible name or is hidden."""
    page = settled(rel).page
    bad = page.evaluate("""() => {
        const named = (e) => (e.getAttribute('aria-label') || '').trim() ||
            (e.getAttribute('aria-labelledby') || '').split(/\\s+/).some((id) => id && document.getElementById(id)
                && document.getElementById(id).textContent.trim()) ||
            (e.tagName.toLowerCase() === 'svg' && e.querySelector(':scope > title') &&
             e.querySelector(':scope > title').textContent.trim());
        const hidden = (e) => e.closest('[aria-hidden="true"]') || !e.getClientRects().length;
        const out = [];
        for (const img of document.querySelectorAll('img')) {
            if (hidden(img)) continue;
            const alt = img.getAttribute('alt');
            const deco = ['presentation', 'none'].includes(img.getAttribute('role'));
            if (alt === null || (!alt.trim() && !deco && !named(img))) out.push(img.outerHTML.slice(0, 160));
        }
        for (const el of document.querySelectorAll('canvas, svg[role="img"]')) {
            if (hidden(el)) continue;
            if (!named(el)) out.push(el.outerHTML.slice(0, 160));
        }
        return out;
    }""")
    assert not bad, f"{rel}: {len(bad)} picture(s) without a text alternative:\n  " + "\n  ".join(bad[:20])


# --------------------------------------------------------------------------- dark mode

LUMINANCE = """(sel) => {
    const parse = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
                                 return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
    const background = (e) => { for (; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor);
                                   if (c.length === 3 || c[3] > 0.5) return c.slice(0, 3); }
                                 return [255, 255, 255]; };
    return [...document.querySelectorAll(sel)].filter((e) => e.getClientRects().length).map((e) => ({
        what: e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.classList.length ? '.' + [...e.classList].join('.') : ''),
        bg: lum(background(e)), fg: lum(parse(getComputedStyle(e).color).slice(0, 3))}));
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("rel", INDEXES + CHAPTERS)
def test_pages_follow_prefers_color_scheme(settled, rel, scheme):
    page = settled(rel, scheme).page
    assert page.evaluate("() => matchMedia('(prefers-color-scheme: dark)').matches") == (scheme == "dark")
    found = page.evaluate(LUMINANCE, "body, main, p, h1, h2, figure, figcaption, .demo, [data-demo], [data-live-demo]")
    assert len(found) > 3
    wrong = []
    for e in found:       # dark mode: light text on a dark background; light mode: the reverse
        ok = e["bg"] < 0.2 and e["fg"] > e["bg"] if scheme == "dark" else e["bg"] > 0.5 and e["fg"] < e["bg"]
        if not ok:
            wrong.append(f"{e['what']}: background luminance {e['bg']:.2f}, text {e['fg']:.2f}")
    assert not wrong, f"{rel} ({scheme}): {len(wrong)} element(s) do not follow the scheme:\n  " + "\n  ".join(wrong[:20])


@pytest.mark.parametrize("width", [1280, 375])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots_in_both_modes(tabs, scheme, width, tmp_path):
    """Screenshots of the top of every page and of every demo of the English chapter, kept in
    $NNVIZ_SCREENSHOTS (look at them); the top of each page is checked to be mostly dark in
    dark mode and mostly light in light mode. No horizontal overflow at either width."""
    from PIL import Image, ImageStat
    shots = Path(os.environ.get("NNVIZ_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    tab = tabs(scheme=scheme, width=width)
    for rel in INDEXES + CHAPTERS:
        page = tab.open(rel, ready=rel == CHAPTERS[0])
        name = rel.replace("/", "-").removesuffix(".html")
        top = shots / f"quality-{name}-{scheme}-{width}.png"
        page.screenshot(path=str(top))
        with Image.open(top) as im:
            mean = ImageStat.Stat(im.convert("L")).mean[0]
        assert (mean < 90) if scheme == "dark" else (mean > 165), f"{top}: mean grey {mean:.0f} in {scheme} mode"
        overflow = page.evaluate("() => document.documentElement.scrollWidth - innerWidth")
        assert overflow <= 1, f"{rel} at {width} px scrolls sideways by {overflow} px"
        if rel == CHAPTERS[0] and os.environ.get("NNVIZ_SCREENSHOTS"):
            figures = page.locator("main figure[id^='demo-']")
            for i in range(figures.count()):
                fig = figures.nth(i)
                fig.scroll_into_view_if_needed()
                fig.screenshot(path=str(shots / f"quality-{name}-{fig.get_attribute('id')}-{scheme}-{width}.png"))
