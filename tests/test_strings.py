"""Languages and strings (nnviz.strings): the checks on strings files, and the proof that a new
language needs nothing but `chapters/<lang>/` and one table per strings file (issue 10).

The pseudo-language "qps" is English with every ASCII letter swapped for an accented look-alike
(placeholders, variables, math, code, markup and directive names left alone). Built with the real
chapters, demos and models, no page of it may show an ASCII word other than a short allow-list of
names that no language translates (models, datasets, activations, formulas).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from nnviz import cited, strings

REPO = Path(__file__).resolve().parents[1]
LANGS = ("en", "zh")


# ------------------------------------------------------------------ checks on strings files

def write(tmp_path, text, name="strings.toml"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def error(tmp_path, text, langs=LANGS):
    with pytest.raises(strings.StringsError) as e:
        strings.load(write(tmp_path, text), "demos/x/strings.toml", langs)
    return str(e.value)


def test_load_gives_one_table_per_language(tmp_path):
    got = strings.load(write(tmp_path, '[en]\na = "A {n}"\n[en.sub]\nb = "B"\n[zh]\na = "甲 {n}"\n[zh.sub]\nb = "乙"\n'),
                       "x", LANGS)
    assert got == {"en": {"a": "A {n}", "sub": {"b": "B"}}, "zh": {"a": "甲 {n}", "sub": {"b": "乙"}}}


def test_missing_key_names_file_line_and_key(tmp_path):
    msg = error(tmp_path, '[en]\na = "A"\nb = "B"\n\n[zh]\na = "甲"\n')
    assert msg == "demos/x/strings.toml:5: [zh] lacks 'b' (as [en] has it)"


def test_extra_key_and_nested_key(tmp_path):
    assert error(tmp_path, '[en]\na = "A"\n[zh]\na = "甲"\nc = "丙"\n') == \
        "demos/x/strings.toml:5: [zh] has a key no other language has: 'c' (as [en] has it)"
    assert "[zh] lacks 'sub.b'" in error(tmp_path, '[en.sub]\nb = "B"\n[zh.sub]\nx = "乙"\n')


def test_placeholders_and_lists_must_match(tmp_path):
    msg = error(tmp_path, '[en]\na = "{n} images"\n[zh]\na = "{m} 张"\n')
    assert msg == "demos/x/strings.toml:4: [zh] has other {placeholders} than 'a' (as [en] has it)"
    assert "has 1 items, not 2" in error(tmp_path, '[en]\nl = ["a", "b"]\n[zh]\nl = ["甲"]\n')


def test_missing_language_table_and_bad_toml(tmp_path):
    assert error(tmp_path, '[en]\na = "A"\n') == \
        "demos/x/strings.toml:1: no [zh] table; chapters/zh/ needs one in every strings file"
    assert error(tmp_path, '[en]\na = "A\n').startswith("demos/x/strings.toml:2: ")


def test_languages_are_the_chapter_folders(tmp_path):
    assert strings.languages(tmp_path) == ("en",)
    for d in ("zh", "en", "fr"):
        (tmp_path / "chapters" / d).mkdir(parents=True)
    assert strings.languages(tmp_path) == ("en", "fr", "zh")
    assert [strings.index_path(lang) for lang in ("en", "fr")] == ["index.html", "fr/index.html"]
    (tmp_path / "chapters" / "Not A Lang").mkdir()
    with pytest.raises(strings.StringsError, match=r"^chapters/Not A Lang/:1: 'Not A Lang' is not a language code"):
        strings.languages(tmp_path)


def test_every_real_strings_file_is_complete():
    langs = strings.languages(REPO)
    assert set(langs) >= {"en", "zh"}
    site = strings.site_strings(REPO, langs)
    for lang in langs:
        assert set(site[lang]["classes"]) == set(site[lang]["labels"]) == {"mnist", "fashion", "cifar10"}
    demos = strings.demo_strings(REPO, langs)
    with_partial = {p.parent.name for p in (REPO / "demos").glob("*/partial.html")}
    assert with_partial - set(demos) <= {"figure"}      # the figure shorthand shows no text of its own


def test_fill_escapes_and_leaves_unknown_placeholders():
    assert strings.fill("{a} <b> {b} {c}", a="<i>", b=3) == "&lt;i&gt; &lt;b&gt; 3 {c}"


# ------------------------------------------------------------------ the pseudo-language

PSEUDO = "qps"
ACCENTED = dict(zip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
                    "áƀçďéƒĝĥíĵķĺɱñóþʠŕšťúṽŵẋýžÁƁÇĎÉƑĜĤÍĴĶĹṀÑÓṖǪŔŠŤÚṼŴẊÝŽ"))
# spans that are names, not text: placeholders, variables, math, code, tags, entities, links, attr lists
KEEP = re.compile(r"\{\{.*?\}\}|\{[A-Za-z_]\w*\}|\$\$.*?\$\$|\$[^$\n]+\$|`[^`\n]*`|<[^>\n]*>|&#?\w+;"
                  r"|\]\([^)\n]*\)|\{[:#.][^}\n]*\}|https?://\S+")
DIRECTIVE_TEXT = re.compile(r'((?:caption|title|alt)=")((?:[^"\\]|\\.)*)(")')


def pseudo(text):
    """English -> qps: ASCII letters accented outside KEEP spans."""
    out, pos = [], 0
    for m in KEEP.finditer(text):
        out += ["".join(ACCENTED.get(c, c) for c in text[pos:m.start()]), m.group(0)]
        pos = m.end()
    out.append("".join(ACCENTED.get(c, c) for c in text[pos:]))
    return "".join(out)


def pseudo_value(v):
    if isinstance(v, str):
        return pseudo(v)
    if isinstance(v, list):
        return [pseudo_value(x) for x in v]
    return {k: pseudo_value(x) for k, x in v.items()}


def pseudo_chapter(text):
    lines, out, in_math, in_code = text.splitlines(), [], False, False
    front = 2 if lines and lines[0] == "---" else 0
    for n, line in enumerate(lines):
        if front and line == "---":
            front -= 1
            out.append(line)
        elif front:                                     # front matter: translate values, keep keys
            key, _, value = line.partition(":")
            out.append(f"{key}:{value if key == 'order' else pseudo(value)}")
        elif line.startswith(("```", "~~~")):
            in_code = not in_code
            out.append(line)
        elif in_code or in_math or line.strip() == "$$":
            in_math ^= line.strip() == "$$"
            out.append(line)
        elif line.startswith(":::"):                     # directive: only its caption/title/alt text
            out.append(DIRECTIVE_TEXT.sub(lambda m: m.group(1) + pseudo(m.group(2)) + m.group(3), line))
        else:
            out.append(pseudo(line))
    return "\n".join(out) + "\n"


def toml_value(v):
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    return "[" + ", ".join(toml_value(x) for x in v) + "]"


def toml_table(prefix, table):
    rows = [f"[{prefix}]"] + [f"{json.dumps(k)} = {toml_value(v)}" for k, v in table.items() if not isinstance(v, dict)]
    for k, v in table.items():
        if isinstance(v, dict):
            rows += ["", *toml_table(f"{prefix}.{json.dumps(k)}", v)]
    return rows


def add_pseudo_language(root):
    """What a translator of a new language does, and nothing else: chapters/<lang>/ and one
    [<lang>] table in every strings file. Returns the files touched."""
    touched = []
    for src in sorted((root / "chapters" / "en").glob("*.md")):
        dst = root / "chapters" / PSEUDO / src.name
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_text(pseudo_chapter(src.read_text(encoding="utf-8")), encoding="utf-8")
        touched.append(dst)
    for path in [root / "templates" / "i18n.toml", *sorted((root / "demos").glob("*/strings.toml"))]:
        table = pseudo_value(tomllib.loads(path.read_text(encoding="utf-8"))["en"])
        if path.name == "i18n.toml":
            table.update(html_lang="qps-ploc", lang_name="Ƥšéúďó")
        with open(path, "a", encoding="utf-8") as f:
            f.write("\n" + "\n".join(toml_table(PSEUDO, table)) + "\n")
        touched.append(path)
    return touched


class TextOfPage(HTMLParser):
    """Visible text and the attributes a reader or screen reader meets, KaTeX and code skipped;
    data-* attributes that carry JSON contribute their string values."""
    SKIP = {"script", "style", "code", "pre", "annotation", "math"}
    ATTRS = {"alt", "title", "aria-label", "aria-roledescription", "placeholder", "aria-valuetext"}
    VOID = {"img", "br", "hr", "input", "meta", "link", "source", "wbr", "area", "col", "embed", "param", "track"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.texts = [], []

    def skipping(self):
        return any(tag in self.SKIP or "katex" in cls for tag, cls in self.stack)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag not in self.VOID:
            self.stack.append((tag, a.get("class") or ""))
        if self.skipping() or "katex" in (a.get("class") or ""):
            return
        for k, v in attrs:
            if v is None:
                continue
            if k in self.ATTRS or k.startswith(("data-text-", "data-l-")) or k in ("data-more", "data-fewer", "data-hint"):
                self.texts.append(v)
            elif k in ("data-strings", "data-labels", "data-classes"):
                self.texts += list(json_strings(json.loads(v)))

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if not self.skipping():
            self.texts.append(data)


def json_strings(v):
    if isinstance(v, str):
        yield v
    elif isinstance(v, list):
        for x in v:
            yield from json_strings(x)
    elif isinstance(v, dict):
        for x in v.values():
            yield from json_strings(x)


ASCII_WORD = re.compile(r"(?<![\w/.-])[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]|(?<![\w/.-])[A-Za-z]{2,}")
# names no language translates: models (from the build), datasets, activations and formula words
UNTRANSLATED = {"MNIST", "Fashion-MNIST", "CIFAR-10", "CIFAR", "ReLU", "relu", "tanh", "sigmoid", "softmax",
                "max", "std", "He", "L2", "nnviz", "Pyodide", "numpy", "ml4a", "MNIST-h16x16"}


NEURON = re.compile(r"^h\d+$")                    # a neuron's formula name, h5 as in h₅


def latin_words(html, allowed):
    p = TextOfPage()
    p.feed(html)
    words = set()
    for text in p.texts:
        text = re.sub(r"\{\w+\}", " ", text)           # placeholders that the demo's JS fills
        text = re.sub(r"https?://\S+", " ", text)      # addresses (e.g. make serve's) are not words
        words |= {w for w in ASCII_WORD.findall(text) if w not in allowed and not NEURON.match(w)}
    return words


@pytest.fixture(scope="module")
def pseudo_site(tmp_path_factory, site_dir):
    """The real chapters, demos and models plus the pseudo-language, built with the trained models
    of the model cache (site_dir: a built site means the cache is warm; a cold one would train all)."""
    from nnviz import build as nb
    root = tmp_path_factory.mktemp("pseudo") / "repo"
    for d in ("chapters", "templates", "demos", "static"):
        shutil.copytree(REPO / d, root / d)
    for d in ("node_modules", "scripts"):
        (root / d).symlink_to(REPO / d)
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and "node_modules" not in p.parts}
    touched = add_pseudo_language(root)
    out = root.parent / "site"
    cache = os.environ.get("NNVIZ_MODEL_CACHE") or REPO / ".cache"     # the trained models, not retrained
    context = nb.build(out, root=root, cache=cache, runtime=False, progress=lambda m: None)
    after = {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and "node_modules" not in p.parts}
    changed = {p for p in after if before.get(p) != after[p]}
    return out, context, changed, touched


def test_pseudo_language_needs_only_chapters_and_strings_files(pseudo_site):
    out, _, changed, touched = pseudo_site
    assert changed == set(touched)
    assert all(p.parts[-3] == "chapters" or p.name.endswith(".toml") for p in changed)
    assert (out / PSEUDO / "index.html").is_file() and (out / PSEUDO / "looking-inside.html").is_file()


def test_pseudo_language_pages_show_no_english(pseudo_site):
    out, context, _, _ = pseudo_site
    # the language switch names each language in its own words ("English", "中文")
    names = {t["lang_name"] for t in strings.site_strings(REPO, strings.languages(REPO)).values()}
    authors = {w for fact in cited.CITED.values() for w in fact["author"].split()}   # names stay as they are
    allowed = UNTRANSLATED | names | set(context["models"]) | authors
    found = {}
    for page in sorted((out / PSEUDO).glob("*.html")):
        words = latin_words(page.read_text(encoding="utf-8"), allowed)
        if words:
            found[page.name] = sorted(words)
    assert found == {}
    page = (out / PSEUDO / "looking-inside.html").read_text(encoding="utf-8")
    assert '<html lang="qps-ploc">' in page and ACCENTED["S"] + ACCENTED["h"] + ACCENTED["i"] in page
