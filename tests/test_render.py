"""Rendering: chapters + directives + templates -> pages (inline fixture trees, mkdocs-style)."""
import hashlib
import re
import shutil
import struct
import zlib
from pathlib import Path

import pytest

from nnviz import katex as typesetting, render
from nnviz.render import BuildError, render_site

REPO = Path(__file__).resolve().parents[1]
HAS_KATEX = bool(shutil.which("node")) and any(
    (p / "dist" / "katex.mjs").is_file() for p in (REPO / "node_modules" / "katex",))


@pytest.fixture(scope="session")
def needs_katex(missing):
    """Math is typeset by node + node_modules/katex; without them (no `npm ci`) skip, or fail in CI."""
    if not HAS_KATEX:
        missing("node + node_modules/katex needed (npm ci)")

CONTEXT = {
    "models": {
        "mnist-softmax": {"name": "mnist-softmax", "dataset": "mnist", "layers": [784, 10], "activation": "none",
                          "test_accuracy": 0.926, "train_accuracy": 0.93, "params": 7850, "epochs": 5,
                          "train_seconds": 1.0},
        "mnist-h16x16": {"name": "mnist-h16x16", "dataset": "mnist", "layers": [784, 16, 16, 10],
                         "activation": "relu", "test_accuracy": 0.949, "train_accuracy": 0.96, "params": 13002,
                         "epochs": 10, "train_seconds": 2.6},
    },
    "vars": {"acc": {"mnist_softmax": "92.6%", "mnist_h16x16": "94.9%"}, "params": {"mnist_h16x16": "13,002"}},
    "data": {"analysis": {}},
    "missing": ["cifar10"],
}

EN = """\
---
title: What a network learns
summary: Templates, features and mistakes.
order: 1
---
The softmax model gets {{ acc.mnist_softmax }} of the test digits right; it costs $5 and $10 to print.

## Templates and $W x$

Each row of $W_{i,j}$ is a *template*: the score is $$s = W x + b$$ and

$$
p_i = \\frac{e^{s_i}}{\\sum_j e^{s_j}}
$$

::: demo probe model=mnist-h16x16 caption="Try it"

::: note title="Careful"
A note with **bold** and `code with $dollar$`.
:::

::: figure src=data/mnist-softmax/w1/0.png alt="weights of unit 0" caption="Unit 0 ($w_0$)" class=pixelated

```python
x = "{{ not.a.variable }}"  # $not math$
::: demo nonexistent
```

### A smaller part
Snake_case_words and under_scores_ stay. The syntax `{{ acc.nope }}` shows as is.
"""

ZH = """\
---
title: 神经网络学到了什么
summary: 模板、特征与错误。
order: 1
---
软最大模型的准确率是 {{ acc.mnist_softmax }}。

## 模板

公式 $a^2$ 很简单。

::: note
一条注释。
:::

::: demo probe model=mnist-softmax
"""

EN2 = """\
---
title: Only in English
order: 2
---
Plain text, no math.

## First
"""

PROBE = """\
<div class="demo" data-live-demo id="{{ demo.id }}" data-model="{{ demo.model.name }}" data-lang="{{ demo.lang }}">
  <p class="probe-caption">{{ demo.args.get('caption', s.waiting) }} {{ models | length }} models</p>
  <img class="fallback" src="{{ root }}data/fallback.png" alt="">
</div>
"""


def png(w=3, h=2):
    raw = b"".join(b"\x00" + b"\x80" * w for _ in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def make_tree(tmp_path, chapters=None, with_math=True):
    """A repo root with the real templates, css and figure demo, plus a test demo and chapters."""
    root = tmp_path / "repo"
    shutil.copytree(REPO / "templates", root / "templates")
    (root / "static" / "css").mkdir(parents=True)
    for css in ("site.css", "demos.css"):
        shutil.copy(REPO / "static" / "css" / css, root / "static" / "css" / css)
    (root / "static" / "js").mkdir()
    (root / "static" / "js" / "nnviz.js").write_text("export {};\n")
    shutil.copy(REPO / "static" / "js" / "lang-switch.js", root / "static" / "js" / "lang-switch.js")
    shutil.copytree(REPO / "demos" / "figure", root / "demos" / "figure")
    probe = root / "demos" / "probe"
    probe.mkdir()
    (probe / "partial.html").write_text(PROBE)
    (probe / "demo.js").write_text('import {h} from "./helper.js";\nexport const probe = h;\n')
    (probe / "helper.js").write_text("export const h = 1;\n")
    (probe / "demo.css").write_text(".probe-caption { color: var(--accent); }\n")
    (probe / "strings.toml").write_text('[en]\nwaiting = "Loading…"\n\n[zh]\nwaiting = "加载中…"\n', encoding="utf-8")
    if chapters is None:
        chapters = {"en/what.md": EN, "zh/what.md": ZH, "en/only.md": EN2}
        if not with_math:
            chapters = {k: v.replace("$", "\\$") for k, v in chapters.items()}
    for rel, text in chapters.items():
        p = root / "chapters" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    (out / "data" / "mnist-softmax" / "w1").mkdir(parents=True)
    (out / "data" / "mnist-softmax" / "w1" / "0.png").write_bytes(png())
    (out / "data" / "fallback.png").write_bytes(png())
    return root, out


def build(tmp_path, chapters=None, context=CONTEXT, strict=True, **kw):
    root, out = make_tree(tmp_path, chapters, **kw)
    logs = []
    render_site(root, out, context, strict=strict, progress=logs.append)
    return out, logs


def stylesheet(out, page):
    """The one stylesheet `page` links (a content-hashed bundle under static/css/), as text."""
    links = re.findall(r'<link rel="stylesheet" href="([^"]+)">', page)
    assert len(links) == 1, links
    m = re.fullmatch(r"(?:\.\./|\./)?(static/css/page\.([0-9a-f]{16})\.css)", links[0])
    assert m, links[0]
    data = (out / m[1]).read_bytes()
    assert hashlib.sha256(data).hexdigest()[:16] == m[2]          # the name is the content's hash
    return data.decode("utf-8")


def pages(out):
    return sorted(p for p in out.rglob("*.html"))


# ------------------------------------------------------------------ the happy path

@pytest.fixture(scope="module")
def site(tmp_path_factory, needs_katex):
    out, logs = build(tmp_path_factory.mktemp("site"))
    return out, logs


def test_pages_and_assets_exist(site):
    out, _ = site
    for rel in ("index.html", "zh/index.html", "en/what.html", "en/only.html", "zh/what.html",
                "static/css/site.css", "static/css/demos.css", "static/js/nnviz.js", "static/demos/probe/demo.js", "static/demos/probe/demo.css",
                "static/katex/katex.min.css"):
        assert (out / rel).is_file(), rel
    assert list((out / "static" / "katex" / "fonts").glob("*.woff2"))
    assert not list((out / "static" / "katex" / "fonts").glob("*.ttf"))
    css = (out / "static" / "katex" / "katex.min.css").read_text()
    assert ".woff2" in css and ".ttf" not in css and 'format("woff")' not in css
    assert (out / "data" / "fallback.png").is_file()          # the build's data is left alone


def test_variables_and_text(site):
    out, _ = site
    en = (out / "en" / "what.html").read_text()
    assert "gets 92.6% of the test digits" in en
    assert "$5 and $10" in en                                   # dollars are not math
    assert "Snake_case_words and under_scores_ stay" in en
    assert "{{ not.a.variable }}" in en and "$not math$" in en   # code is left alone
    assert "::: demo nonexistent" in en
    assert "<code>{{ acc.nope }}</code>" in en                  # and so are code spans
    zh = (out / "zh" / "what.html").read_text()
    assert "准确率是 92.6%。" in zh
    assert '<html lang="zh-Hans">' in zh and '<html lang="en">' in en


def test_math_is_typeset_and_protected(site):
    out, _ = site
    en = (out / "en" / "what.html").read_text()
    assert en.count('class="katex"') >= 5
    assert '<div class="math-display"><span class="katex-display">' in en
    assert "<em>{i,j}" not in en and "W_{i,j}" in en            # in the MathML annotation, not mangled
    css = stylesheet(out, en)
    assert "/* static/katex/katex.min.css */" in css and "url(../katex/fonts/KaTeX_Main-Regular.woff2)" in css
    assert "url(fonts/" not in css                                # rebased from static/katex/
    assert "NNVIZ" not in en
    # heading with math: id has no placeholder, the toc shows the formula
    assert 'id="templates-and"' in en
    toc = en.split('class="toc toc-side"')[1]
    assert 'href="#templates-and"' in toc and 'class="katex"' in toc
    only = (out / "en" / "only.html").read_text()
    assert "static/katex/" not in stylesheet(out, only)


def test_demo_partial_and_assets(site):
    out, _ = site
    en = (out / "en" / "what.html").read_text()
    assert '<div class="demo" data-live-demo id="demo-1" data-model="mnist-h16x16" data-lang="en">' in en
    assert "Try it 2 models" in en
    assert '<p><div class="demo"' not in en                     # not wrapped in a paragraph
    assert en.count('src="../static/demos/probe/demo.js"') == 1 and "helper.js" not in en   # C1
    assert (out / "static" / "demos" / "probe" / "helper.js").is_file()
    css = stylesheet(out, en)
    assert css.count(".probe-caption {") == 1 and css.count("/* static/demos/probe/demo.css */") == 1
    heads = re.findall(r"^/\* (\S+) \*/$", css, re.M)             # in cascade order, each once
    assert heads[:4] == ["static/css/palette.css", "static/css/site.css", "static/css/demos.css",
                         "static/demos/probe/demo.css"]
    assert "demos.css" not in stylesheet(out, (out / "index.html").read_text())   # no demo, no demo css
    assert 'src="../static/js/nnviz.js"' in en
    assert '<meta name="nnviz-root" content="../">' in en
    only = (out / "en" / "only.html").read_text()
    assert "nnviz.js" not in only and "probe.js" not in only   # no live demo, no runtime
    index = (out / "index.html").read_text()
    assert '<meta name="nnviz-root" content="./">' in index


def test_figure(site):
    out, _ = site
    en = (out / "en" / "what.html").read_text()
    fig = re.search(r'<figure class="figure pixelated" id="demo-2">.*?</figure>', en, re.S).group(0)
    assert 'src="../data/mnist-softmax/w1/0.png"' in fig
    assert 'loading="lazy"' in fig and 'alt="weights of unit 0"' in fig
    assert 'width="3" height="2"' in fig
    assert "<figcaption>Unit 0 (" in fig and 'class="katex"' in fig


def test_note(site):
    out, _ = site
    en = (out / "en" / "what.html").read_text()
    note = re.search(r'<aside class="note note-note">.*?</aside>', en, re.S).group(0)
    assert '<p class="note-title">Careful</p>' in note
    assert "<strong>bold</strong>" in note and "<code>code with $dollar$</code>" in note
    zh = (out / "zh" / "what.html").read_text()
    assert '<p class="note-title">注</p>' in zh and "一条注释。" in zh


def test_toc_and_language_switch(site):
    out, _ = site
    en = (out / "en" / "what.html").read_text()
    zh = (out / "zh" / "what.html").read_text()
    only = (out / "en" / "only.html").read_text()
    assert "<summary>Contents</summary>" in en and "<summary>目录</summary>" in zh
    assert 'href="#a-smaller-part"' in en
    assert 'href="#模板"' in zh and 'id="模板"' in zh                  # Chinese headings keep their words
    assert '<a href="../zh/what.html" lang="zh-Hans" hreflang="zh-Hans" data-same-page>中文</a>' in en
    assert '<a href="../en/what.html" lang="en" hreflang="en" data-same-page>English</a>' in zh
    assert '<link rel="alternate" hreflang="zh-Hans" href="../zh/what.html">' in en
    assert 'aria-label="切换语言"' in zh
    # untranslated: the switch leads to the other language's index
    assert 'href="../zh/index.html" lang="zh-Hans" hreflang="zh-Hans" title="Not translated yet"' in only
    # prev / next within a language, by order
    assert 'href="../en/only.html" rel="next"' in en and 'href="../en/what.html" rel="prev"' in only
    assert "smarty" not in zh and "&ldquo;" not in zh


def test_index_pages(site):
    out, _ = site
    index = (out / "index.html").read_text()
    assert index.index("What a network learns") < index.index("Only in English")
    assert "Templates, features and mistakes." in index
    assert 'href="./en/what.html"' in index and 'href="./zh/what.html"' in index
    assert "need the CIFAR-10 files, which were not available" in index      # said for readers, no build internals
    zh = (out / "zh" / "index.html").read_text()
    assert "需要 CIFAR-10 的数据文件" in zh
    assert "神经网络学到了什么" in zh and 'href="../zh/what.html"' in zh
    assert 'href="../en/only.html"' in zh and "尚未翻译" in zh and 'lang="en"' in zh
    assert 'href="../index.html" lang="en"' in zh


def test_csp_and_no_inline_script(site):
    out, _ = site
    for page in pages(out):
        text = page.read_text()
        assert "Content-Security-Policy" in text and "script-src 'self' 'wasm-unsafe-eval'" in text
        assert '<meta name="viewport"' in text and 'class="skip-link"' in text
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert " src=" in tag, (page, tag)
        assert not re.search(r"\son[a-z]+=", text), page
        assert not re.search(r'(?:src|href)="(?:https?:)?//', text.replace('http://www.w3.org/1998/Math/MathML', ''))


def test_deterministic(tmp_path, needs_katex):
    a, _ = build(tmp_path / "a")
    b, _ = build(tmp_path / "b")
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files_a == files_b
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_returns_written_files(tmp_path):
    root, out = make_tree(tmp_path, with_math=False)
    written = render_site(root, out, CONTEXT, progress=lambda m: None)
    assert out / "en" / "what.html" in written and out / "static" / "css" / "site.css" in written
    assert out / "data" / "fallback.png" not in written
    assert all(p.is_file() and out in p.parents for p in written)


# ------------------------------------------------------------------ errors name file:line

def with_line(text, lineno, line):
    lines = text.split("\n")
    lines.insert(lineno - 1, line)
    return "\n".join(lines)


def broken(tmp_path, en_text, context=CONTEXT):
    with pytest.raises(BuildError) as e:
        build(tmp_path, {"en/bad.md": en_text}, context=context)
    return str(e.value)


OK = "---\ntitle: Bad\n---\nFirst line.\n\nSecond line.\n"


def test_unknown_demo(tmp_path):
    msg = broken(tmp_path, with_line(OK, 6, "::: demo prbe model=mnist-softmax"))
    assert msg.startswith("chapters/en/bad.md:6: unknown demo 'prbe'")
    assert "figure, probe" in msg and "did you mean 'probe'" in msg


def test_unknown_model(tmp_path):
    msg = broken(tmp_path, with_line(OK, 5, "::: demo probe model=mnist-h16"))
    assert msg.startswith("chapters/en/bad.md:5: unknown model 'mnist-h16'")
    assert "mnist-h16x16" in msg


def test_unknown_variable(tmp_path):
    msg = broken(tmp_path, with_line(OK, 7, "Accuracy {{ acc.mnist_sofmax }} here."))
    assert msg.startswith("chapters/en/bad.md:7: unknown variable 'acc.mnist_sofmax'; known: acc.mnist_softmax")


def test_variable_group_and_bad_syntax(tmp_path):
    msg = broken(tmp_path, with_line(OK, 4, "{{ acc }} and {{ acc['x'] }}"))
    lines = msg.split("\n")
    assert lines[0].startswith("chapters/en/bad.md:4: 'acc' is a group") and "acc.mnist_softmax" in lines[0]
    assert lines[1].startswith("chapters/en/bad.md:4: expected a variable like")


def test_all_problems_reported_at_once(tmp_path):
    text = with_line(with_line(OK, 4, "{{ nope.a }}"), 6, "::: demo nope")
    msg = broken(tmp_path, text)
    assert msg.split("\n")[0].startswith("chapters/en/bad.md:4: unknown variable 'nope.a'")
    assert msg.split("\n")[1].startswith("chapters/en/bad.md:6: unknown demo 'nope'")


@pytest.mark.parametrize("text, line, expect", [
    ("title: x\n---\nbody\n", 1, "expected front matter"),
    ("---\ntitle: x\nbody without a colon\n---\n", 3, "expected 'key: value'"),
    ("---\ntitle: x\nsummary: y\n", 1, "never closed"),
    ("---\ntitle: x\norder: first\n---\n", 3, "'order' must be an integer"),
    ("---\nsummary: y\n---\n", 1, "needs 'title: ...'"),
    ("---\ntitle: x\ntitle: y\n---\n", 3, "set twice"),
])
def test_broken_front_matter(tmp_path, text, line, expect):
    msg = broken(tmp_path, text)
    assert msg.startswith(f"chapters/en/bad.md:{line}: ") and expect in msg


def test_missing_figure_file_and_alt(tmp_path):
    msg = broken(tmp_path, with_line(OK, 5, '::: figure src=data/mnist-softmax/w1/1.png alt="x"'))
    assert msg.startswith("chapters/en/bad.md:5: src=data/mnist-softmax/w1/1.png names no file in the site")
    assert "closest: data/mnist-softmax/w1/0.png" in msg
    msg = broken(tmp_path / "2", with_line(OK, 6, "::: figure src=data/fallback.png"))
    assert msg.startswith("chapters/en/bad.md:6: demo 'figure': figure needs alt=")


def test_directive_errors(tmp_path):
    cases = [
        ("::: demo", 5, "expected '::: demo NAME"),
        ("::: pictur src=x", 5, "unknown directive '::: pictur'"),
        (":::", 5, "':::' closes nothing"),
        ("::: note", 5, "'::: note' is never closed"),
        ('::: demo probe caption="unclosed', 5, "expected key=value"),
        ("::: demo probe a=1 a=2", 5, "given twice"),
        ("::: note kind=danger\nx\n:::", 5, "unknown note kind 'danger'"),
    ]
    for k, (line, n, expect) in enumerate(cases):
        msg = broken(tmp_path / str(k), with_line(OK, n, line))
        assert msg.startswith(f"chapters/en/bad.md:{n}: ") and expect in msg, (line, msg)


def test_math_errors(tmp_path, needs_katex):
    msg = broken(tmp_path, with_line(OK, 6, "Bad $\\frac{1$ math."))
    assert msg.startswith("chapters/en/bad.md:6: math: KaTeX parse error")
    msg = broken(tmp_path / "2", with_line(OK, 5, "$$\nx^2"))
    assert msg.startswith("chapters/en/bad.md:5: '$$' opens display math that is never closed")


def test_missing_katex_is_clear(tmp_path, monkeypatch):
    monkeypatch.setattr(typesetting, "katex_paths", lambda root: ("node", None, None))
    msg = broken(tmp_path, with_line(OK, 6, "Some $x$ here."))
    assert msg.startswith("chapters/en/bad.md:6: the chapters use math")
    assert "npm ci" in msg and "katex_render.mjs" in msg


def test_partial_bug_reports_directive_line(tmp_path):
    root, out = make_tree(tmp_path, {"en/bad.md": with_line(OK, 5, "::: demo probe")})
    (root / "demos" / "probe" / "partial.html").write_text("<div>\n{{ demo.args.missing }}\n</div>\n")
    with pytest.raises(BuildError) as e:
        render_site(root, out, CONTEXT, progress=lambda m: None)
    assert str(e.value).startswith("chapters/en/bad.md:5: demo 'probe' (demos/probe/partial.html:2)")
    assert "demo.args.get(" in str(e.value)


def test_broken_link_and_inline_script(tmp_path):
    text = with_line(OK, 6, "[see](missing.html) and [up](#nowhere)\n\n<script>alert(1)</script>")
    msg = broken(tmp_path, text)
    assert "chapters/en/bad.md:6: page en/bad.html: <a href=\"missing.html\"> points to en/missing.html" in msg
    assert "link to '#nowhere'" in msg
    assert "inline <script>" in msg
    assert not (tmp_path / "out" / "en" / "bad.html").exists()      # nothing written on failure


def test_page_relative_link_hint(tmp_path):
    msg = broken(tmp_path, with_line(OK, 5, '<img src="data/fallback.png" alt="x">'))
    assert msg.startswith("chapters/en/bad.md:5: page en/bad.html: <img src=\"data/fallback.png\">")
    assert "did you mean ../data/fallback.png?" in msg


def test_empty_tree(tmp_path):
    out, _ = build(tmp_path, {})
    assert "No chapters yet." in (out / "index.html").read_text()
    assert not (out / "zh").exists()                   # the languages are the folders of chapters/


def test_empty_language_folder_gets_an_index(tmp_path):
    root, out = make_tree(tmp_path, {})
    (root / "chapters" / "zh").mkdir(parents=True)
    render_site(root, out, CONTEXT, progress=lambda m: None)
    assert "暂无章节。" in (out / "zh" / "index.html").read_text()


def test_non_strict_renders_with_warnings(tmp_path):
    text = with_line(OK, 6, "{{ nope }} and\n\n::: demo nope")
    out, logs = build(tmp_path, {"en/bad.md": text}, strict=False)
    page = (out / "en" / "bad.html").read_text()
    assert "{{ nope }}" in page and 'class="build-error"' in page
    assert any(m.startswith("WARNING: chapters/en/bad.md:6: unknown variable") for m in logs)


def test_i18n_tables_match():
    from nnviz import strings
    table = strings.site_strings(REPO, ("en", "zh"))
    assert table["zh"]["contents"] == "目录" and table["zh"]["switch_language"] == "切换语言"
    assert table["zh"]["classes"]["fashion"][9] == "短靴" and table["en"]["labels"]["fashion"][9] == "Boot"


def test_parse_args():
    assert render.parse_args(' a=1 b="x y" c=\'q\' d="say \\"hi\\""', "f:1") == {
        "a": "1", "b": "x y", "c": "q", "d": 'say "hi"'}


# ------------------------------------------------------------------ C4: ::: if dataset=NAME

IF_TEXT = """\
---
title: Conditional
---
Always here.

::: if dataset=mnist
MNIST loaded, {{ acc.mnist_softmax }}.

::: note
Inside a shown branch.
:::
::: else
MNIST missing.
:::

::: if dataset=cifar10
CIFAR loaded.
::: demo probe model=mnist-softmax
::: note
Hidden note.
:::
::: else
CIFAR missing.
:::
"""


def test_if_dataset_shows_the_branch_of_what_loaded(tmp_path):
    context = {**CONTEXT, "data": {"analysis": {}, "datasets": {"mnist": {"classes": [], "train": 1, "test": 1}}}}
    out, _ = build(tmp_path, {"en/if.md": IF_TEXT}, context=context)
    page = (out / "en" / "if.html").read_text()
    assert "Always here." in page and "MNIST loaded, 92.6%." in page and "Inside a shown branch." in page
    assert "MNIST missing." not in page
    assert "CIFAR missing." in page
    assert "CIFAR loaded." not in page and "Hidden note." not in page and 'class="demo"' not in page
    assert page.count("<aside") == 1


@pytest.mark.parametrize("lines, n, expect", [
    (["::: if dataset=cifar100", "x", ":::"], 5, "unknown dataset 'cifar100' in '::: if'; known datasets: cifar10, "
                                                 "fashion, mnist (did you mean 'cifar10'?)"),
    (["::: if dataset=mnist", "x"], 5, "'::: if' is never closed"),
    (["::: if", "x", ":::"], 5, "expected '::: if dataset=NAME'"),
    (["::: else"], 5, "'::: else' outside an '::: if' block"),
    (["::: if dataset=mnist", "::: else", "::: else", ":::"], 7, "'::: else' outside"),
])
def test_if_errors(tmp_path, lines, n, expect):
    text = OK
    for k, line in enumerate(lines):
        text = with_line(text, 5 + k, line)
    msg = broken(tmp_path, text)
    assert msg.startswith(f"chapters/en/bad.md:{n}: ") and expect in msg, msg


# ------------------------------------------------------------------ issue 16, items 11-14

def test_chapter_in_another_encoding_names_the_file_and_utf8(tmp_path):
    root, out = make_tree(tmp_path, {})
    bad = root / "chapters" / "en" / "bad.md"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(OK.encode("utf-16"))
    with pytest.raises(BuildError, match=r"^chapters/en/bad.md:1: the file looks like UTF-16; expected UTF-8"):
        render_site(root, out, CONTEXT, progress=lambda m: None)
    bad.write_bytes(with_line(OK, 6, "Caf\xe9 au lait.").encode("latin-1"))
    with pytest.raises(BuildError, match=r"^chapters/en/bad.md:6: byte 0xe9 is not valid UTF-8; expected UTF-8"):
        render_site(root, out, CONTEXT, progress=lambda m: None)


def test_unclosed_fence_is_an_error_at_its_opening_line(tmp_path):
    text = with_line(OK, 5, "```python\nx = 1\n\n::: demo probe\n{{ acc.mnist_softmax }}")
    msg = broken(tmp_path, text)
    assert msg.startswith("chapters/en/bad.md:5: the code fence ``` opened here is never closed"), msg


def test_variables_in_the_title_are_substituted_or_rejected(tmp_path):
    text = "---\ntitle: Softmax gets {{ acc.mnist_softmax }}\nsummary: At {{ acc.mnist_h16x16 }}\n---\nBody.\n"
    out, _ = build(tmp_path, {"en/t.md": text})
    page = (out / "en" / "t.html").read_text()
    assert "<title>Softmax gets 92.6% · nnviz</title>" in page and "<h1>Softmax gets 92.6%</h1>" in page
    assert "At 94.9%" in page and "{{" not in page
    assert "Softmax gets 92.6%" in (out / "index.html").read_text()
    msg = broken(tmp_path / "2", "---\ntitle: Gets {{ acc.nope }}\n---\nBody.\n")
    assert msg.startswith("chapters/en/bad.md:2: unknown variable 'acc.nope'")


@pytest.mark.parametrize("html, what", [
    ('<meta http-equiv="refresh" content="0; url=https://example.org/">', 'meta http-equiv="refresh"'),
    ('<img alt="x" src="../data/fallback.png" srcset="../data/fallback.png 1x, https://example.org/a.png 2x">',
     '<img srcset="https://example.org/a.png"> loads from outside the site'),
    ('<div style="background: url(\'//example.org/a.png\')">x</div>',
     '<div style="//example.org/a.png"> loads from outside the site'),
    ('<img alt="x" src="../data/fallback.png" srcset="../data/nothing.png 2x">', "points to data/nothing.png"),
])
def test_page_check_catches_refresh_srcset_and_style_urls(tmp_path, html, what):
    msg = broken(tmp_path, with_line(OK, 7, html))
    assert msg.startswith("chapters/en/bad.md:7: page en/bad.html: ") and what in msg, msg


def test_page_check_reports_the_page_line_for_what_a_partial_wrote(tmp_path):
    root, out = make_tree(tmp_path, {"en/bad.md": with_line(OK, 5, "::: demo probe")})
    (root / "demos" / "probe" / "partial.html").write_text('<div>\n\n<img alt="" src="https://example.org/x.png">\n</div>\n')
    with pytest.raises(BuildError) as e:
        render_site(root, out, CONTEXT, progress=lambda m: None)
    m = re.match(r"^en/bad\.html:(\d+): page en/bad\.html \(from its template or a demo partial\): <img src=", str(e.value))
    assert m and int(m.group(1)) > 1, str(e.value)


def test_math_extraction_does_linear_work(tmp_path, monkeypatch):
    """Unpaired dollars (issue 16 #14: 80k of them in 3 MB took 26 s): count the characters every search
    of our inline patterns and every line lookup may scan. At this size quadratic work would be ~10^9,
    linear ~10^6 (the real 3 MB case is the same shape, only slower to run)."""
    from nnviz import mdext
    from nnviz.chapters import Chapter
    from nnviz.pages import Site
    scanned = [0]

    class Counting:
        def __init__(self, regex):
            self.regex = regex

        def search(self, data, pos=0, *a):
            scanned[0] += len(data) - pos
            return self.regex.search(data, pos, *a)

        def __getattr__(self, name):
            return getattr(self.regex, name)
    for cls in (mdext.MathInline, mdext.Variable):
        real = cls.getCompiledRegExp
        monkeypatch.setattr(cls, "getCompiledRegExp", lambda self, real=real: Counting(real(self)))
    para = "costs $5, or $6 with tax, said line $k; then $\\alpha$ again\n" * 7 + "and $y$ {{ acc.mnist_softmax }}.\n\n"
    lines = (para * 500).split("\n")          # 4,000 lines, 11,000 unpaired dollars, 1,000 formulas, 270 kB
    ch = Chapter(lang="en", slug="big", rel="chapters/en/big.md", source=["---", "title: x", "---"] + lines,
                 body_start=3, meta={"title": "x"}, meta_lines={"title": 2}, order=1)
    root, out = make_tree(tmp_path, {})
    site = Site(root, out, CONTEXT, True, lambda m: None)
    site.convert(ch)
    size = len("\n".join(lines))
    assert [m.tex for m in ch.maths[:9]] == ["\\alpha"] * 7 + ["y", "\\alpha"]
    assert len(ch.maths) == 4000 and ch.maths[-1].line == 3 + len(lines) - 2 and not site.problems
    assert ch.scanned < 3 * size, ch.scanned
    assert scanned[0] < 20 * size, scanned[0]
