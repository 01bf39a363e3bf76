"""Languages in the browser (issue 11 items 16 and 18), on the built site ($NNVIZ_SITE or <repo>/site):

  * no Latin-only text on the Chinese pages: every visible text node and every alt, title and
    aria-label (those the demos' scripts set included, once the labs have started) is Chinese,
    apart from a short allow-list: model and dataset names, formula words, units and the names
    of cited people and works;
  * the language switch keeps the reader's place: the same section (the ids are the same in
    both languages) and the lab's drawing (its URL state) on the other side, and back.
"""
from __future__ import annotations

import re

import pytest

from conftest import serve_folder
from test_draw import DEEP_LAB, bar_points, mouse_stroke

CHAPTER = "looking-inside.html"
READY_TIMEOUT = 240_000      # ms: the runtime on a loaded 2-core machine

# Words a Chinese page may show in Latin letters. Formulas and names, not prose.
ALLOWED = {
    # datasets, activations, formula words and units
    "MNIST", "Fashion-MNIST", "CIFAR-10", "ReLU", "softmax", "sigmoid", "tanh", "max", "He", "L2", "px",
    "nnviz", "Pyodide", "ml4a", "CSC411", "Zalando", "Python", "Delete", "Home", "Esc", "Enter",   # key caps
    # cited people and works (their titles stay in their own language)
    "Gene", "Kogan", "3Blue1Brown", "Grant", "Sanderson", "Nityesh", "Agarwal", "Guerzhoy", "Zhang",
    "Michael", "Nielsen", "LeCun", "Bottou", "Bengio", "Haffner", "Xiao", "Rasul", "Vollgraf", "Krizhevsky",
    "arXiv", "IEEE",
}
# titles of cited works that are not the text of a link to them (links to other sites are skipped)
CITED_TITLE = re.compile(r"Machine Learning for Artists|But what is a neural network\?|Analyzing our neural network|"
                         r"How neural networks see|Proceedings of the IEEE|What does a neural network even learn\\?|English")
WORD = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][A-Za-z0-9-]*")
FORMULA = re.compile(r"^([a-zA-Z]|[hwbxzv][A-Za-z0-9]*|[A-Z]\d*|[a-z]_?[A-Z]|N)$")   # x, h5, w_A, z_k, N(0,1)

TEXTS = """() => {
  const skip = (el) => el.closest("script, style, code, pre, .katex, [aria-hidden='true'], [hidden], a[href^='http']");
  const visible = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (n.textContent.trim() && !skip(el) && visible(el)) out.push(["text", el.tagName, n.textContent]);
  }
  for (const el of document.querySelectorAll("[alt], [title], [aria-label], [aria-roledescription], [placeholder]")) {
    if (el.closest("script, style, .katex")) continue;
    for (const a of ["alt", "title", "aria-label", "aria-roledescription", "placeholder"])
      if (el.getAttribute(a)) out.push([a, el.tagName, el.getAttribute(a)]);
  }
  return out;
}"""


def latin_words(texts, models):
    found = set()
    for kind, tag, text in texts:
        text = CITED_TITLE.sub(" ", text)
        for w in WORD.findall(text):
            if w not in ALLOWED and w not in models and not FORMULA.match(w):
                found.add((kind, w))
    return found


@pytest.fixture(scope="module")
def site_url(site_dir):
    with serve_folder(site_dir) as url:
        yield url


@pytest.fixture
def tab(browser, site_url):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(READY_TIMEOUT)
    pg.url_of = lambda rel: site_url + rel
    yield pg
    context.close()


def model_names(site_dir):
    import json
    return {m["name"] for m in json.loads((site_dir / "data" / "models.json").read_text())}


def start_labs(pg):
    """Bring every live demo into view once, and wait until the runtime is ready."""
    for el in pg.query_selector_all("[data-live-demo]"):
        el.scroll_into_view_if_needed()
    pg.evaluate("() => nnviz.start()")
    pg.wait_for_function(f"() => document.querySelector('{DEEP_LAB}').nnvizLast")


@pytest.mark.parametrize("rel", ["zh/index.html", f"zh/{CHAPTER}"])
def test_zh_pages_show_no_latin_text(tab, site_dir, rel):
    tab.goto(tab.url_of(rel))
    if rel.endswith(CHAPTER):
        start_labs(tab)
        mouse_stroke(tab, bar_points())                   # the lab's inspector and maps get their labels
        tab.click(f'{DEEP_LAB} .draw-neuron[data-layer="1"][data-unit="3"]')
    found = latin_words(tab.evaluate(TEXTS), model_names(site_dir))
    assert not found, "\n".join(map(str, sorted(found)))


def test_language_switch_keeps_the_section(tab):
    tab.goto(tab.url_of(f"en/{CHAPTER}#the-lego-block-test"))
    tab.click(".lang-switch a[hreflang='zh-Hans']")
    tab.wait_for_url(re.compile(rf"/zh/{CHAPTER}#the-lego-block-test$"), timeout=30_000)
    heading = tab.locator("#the-lego-block-test")
    assert heading.inner_text().startswith("乐高积木测试")
    top = heading.evaluate("el => el.getBoundingClientRect().top")
    assert 0 <= top < 200, f"the section heading is at y={top}, not at the top"
    tab.keyboard.press("End")                          # and back, by keyboard
    tab.focus(".lang-switch a[hreflang='en']")
    tab.keyboard.press("Enter")
    tab.wait_for_url(re.compile(rf"/en/{CHAPTER}#the-lego-block-test$"), timeout=30_000)
    assert tab.locator("#the-lego-block-test").inner_text().startswith("The Lego-block test")


def test_language_switch_keeps_the_drawing(tab):
    tab.goto(tab.url_of(f"en/{CHAPTER}"))
    start_labs(tab)
    mouse_stroke(tab, bar_points())
    tab.wait_for_function("() => /demo-\\d+=1~/.test(location.hash)")
    ink = tab.evaluate(f"() => Array.from(document.querySelector('{DEEP_LAB}').drawLab.ink)")
    assert sum(ink) > 0
    tab.click(".lang-switch a[hreflang='zh-Hans']")
    tab.wait_for_url(re.compile(rf"/zh/{CHAPTER}#.*demo-\d+=1~"), timeout=30_000)
    tab.locator(DEEP_LAB).scroll_into_view_if_needed()
    tab.wait_for_function(f"() => document.querySelector('{DEEP_LAB}').drawLab")
    restored = tab.evaluate(f"() => Array.from(document.querySelector('{DEEP_LAB}').drawLab.ink)")
    assert max(abs(a - b) for a, b in zip(restored, ink)) < 1 / 15 + 1e-9      # the URL keeps 16 grey levels
