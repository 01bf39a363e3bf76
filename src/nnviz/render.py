"""Render the chapters (Markdown + a few directives of our own) into the static site.

Stages, mkdocs-style: *read* every chapter and check every name it uses (variables, demos,
models, files), *typeset* all math in one KaTeX batch, *render* every page in memory, *check*
every page (links, ids, no inline scripts), and only then *write* into `out`. Strict mode turns
every problem into one BuildError listing them all, each as `path/to/file.md:LINE: what`.

Chapter syntax (all on top of Python-Markdown with extra + toc + attr_list):

    ---                              front matter: `key: value` lines; title (required),
    title: What a network learns     summary, order (an integer; chapters sort by it)
    ---
    {{ acc.mnist_softmax }}          a chapter variable: dotted lookup in context["vars"]
    $W x + b$   $$\\sum_i w_i$$      math, typeset at build time with KaTeX (\\$ is a dollar)
    ::: demo draw model=mnist-h16x16 caption="Draw a digit"
                                     a demo: demos/draw/partial.html rendered in place
    ::: figure src=data/x.png alt="..." caption="..."
                                     shorthand for `::: demo figure ...`
    ::: note title="Careful"         a call-out box (kind=note|tip|warning) up to a line `:::`
    ...
    :::

Directives start at column 0 and stand alone on their line. Nothing inside fenced code blocks
or `code spans` is touched.

A demo partial (Jinja, autoescaped, StrictUndefined in strict mode) sees the whole context
(models, vars, data, missing datasets) plus `demo` = {name, args, model, id, lang, line}, `s` (the demo's
strings.toml for the page language), `t` (site-wide strings, with `t.classes[dataset]` and
`t.labels[dataset]`), `lang` and `root` (e.g. "../"), the filter `s.key|fill(name=value)` and two
helpers: `fail("message")` stops the build with the directive's file:line,
`image_size("data/x.png")` gives {width, height} or None. Languages and strings: nnviz.strings.
Argument values starting with data/ or static/ must name a file in the site.

KaTeX is found at $NNVIZ_KATEX_DIR, else <root>/node_modules/katex; node at $NNVIZ_NODE, else
on PATH. Only a build whose chapters contain math needs them.
"""
from __future__ import annotations

import difflib
import html as htmlmod
import json
import os
import posixpath
import re
import shutil
import struct
import subprocess
import traceback
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import jinja2
import markdown
from markupsafe import Markup
from markdown.extensions.toc import slugify_unicode
from markdown.treeprocessors import Treeprocessor

from . import strings
NOTE_KINDS = ("note", "tip", "warning")
REPO = Path(__file__).resolve().parents[2]            # fallback for scripts/ and node_modules/


class BuildError(Exception):
    """A chapter, template or demo problem. The message starts with `path:LINE: `."""


class _DemoFailure(Exception):
    """Raised by `fail(message)` inside a demo partial."""


# ------------------------------------------------------------------ data classes

@dataclass
class DemoCall:
    name: str
    args: dict
    model: dict | None
    id: str
    line: int
    token: str


@dataclass
class MathItem:
    tex: str
    display: bool
    rel: str
    line: int
    token: str
    html: str = ""


@dataclass
class Chapter:
    lang: str
    slug: str
    rel: str                  # "chapters/en/slug.md"
    source: list[str]         # original lines (for mapping problems back to a line)
    meta: dict
    title: str
    summary: str
    order: int
    text: str = ""            # Markdown after variables, directives and math were taken out
    demos: list[DemoCall] = field(default_factory=list)
    maths: list[MathItem] = field(default_factory=list)
    notes: dict = field(default_factory=dict)   # token -> (kind, title)

    @property
    def out_path(self):
        return f"{self.lang}/{self.slug}.html"


# ------------------------------------------------------------------ tokens

# Plain letters and digits survive Markdown, smarty and the toc untouched.
def _token(kind, n):
    return f"NNVIZ{kind}{n:05d}Q"


TOKEN_RE = re.compile(r"NNVIZ[A-Z]\d{5}Q")


def _slugify(value, separator):
    """Heading ids: unicode-aware (Chinese headings keep their words), placeholders removed."""
    return slugify_unicode(TOKEN_RE.sub("", value), separator)


class _PermalinkLabels(Treeprocessor):
    """aria-label on the toc extension's "#" heading permalinks (the page language's "Link to this
    section"): otherwise each is a tab stop named "#"."""

    def __init__(self, md, label):
        super().__init__(md)
        self.label = label

    def run(self, root):
        for a in root.iter("a"):
            if "headerlink" in a.get("class", "").split():
                a.set("aria-label", self.label)


# ------------------------------------------------------------------ small helpers

def _closest(name, known, n=5):
    return difflib.get_close_matches(name, list(known), n=n, cutoff=0.5)


def _known_list(name, known, limit=12):
    """'closest first' list for error messages: the close matches, else the first few names."""
    known = sorted(known)
    close = _closest(name, known)
    if close:
        rest = len(known) - len(close)
        return ", ".join(close) + (f" (and {rest} more)" if rest else "")
    if not known:
        return "(none)"
    more = len(known) - limit
    return ", ".join(known[:limit]) + (f", ... ({len(known)} in all)" if more > 0 else "")


def _leaves(tree, prefix=""):
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from _leaves(v, f"{prefix}{k}.")
    elif isinstance(tree, (list, tuple)):
        for i, v in enumerate(tree):
            yield from _leaves(v, f"{prefix}{i}.")
    else:
        yield prefix[:-1]


_MISSING = object()


def _lookup(tree, dotted):
    cur = tree
    for part in dotted.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, (list, tuple)) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return _MISSING
    return cur


def image_size(path):
    """(width, height) of a PNG, GIF or JPEG file, else None."""
    try:
        with open(path, "rb") as f:
            head = f.read(32)
            if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
                return struct.unpack(">II", head[16:24])
            if head[:6] in (b"GIF87a", b"GIF89a"):
                return struct.unpack("<HH", head[6:10])
            if head[:2] == b"\xff\xd8":
                f.seek(2)
                while True:
                    marker = f.read(2)
                    if len(marker) < 2 or marker[0] != 0xFF:
                        return None
                    (length,) = struct.unpack(">H", f.read(2))
                    if marker[1] in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                        h, w = struct.unpack(">xHH", f.read(5))
                        return w, h
                    f.seek(length - 2, 1)
    except (OSError, struct.error):
        return None
    return None


# ------------------------------------------------------------------ front matter

FM_LINE = re.compile(r"^([A-Za-z_][\w-]*)\s*:\s*(.*)$")


def parse_front_matter(lines, rel):
    """(meta {key: (value, line)}, index of the first body line). Raises BuildError."""
    if not lines or lines[0].strip() != "---":
        raise BuildError(f"{rel}:1: expected front matter: a first line '---', then 'key: value' "
                         f"lines (title, summary, order), then a line '---'")
    meta = {}
    for i in range(1, len(lines)):
        s = lines[i].strip()
        if s == "---":
            return meta, i + 1
        if not s or s.startswith("#"):
            continue
        m = FM_LINE.match(s)
        if not m:
            raise BuildError(f"{rel}:{i + 1}: expected 'key: value' in the front matter (or '---' to "
                             f"close it), got {s!r}")
        key, value = m.group(1), m.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        if key in meta:
            raise BuildError(f"{rel}:{i + 1}: '{key}' is set twice in the front matter "
                             f"(first on line {meta[key][1]})")
        meta[key] = (value, i + 1)
    raise BuildError(f"{rel}:1: the front matter opened by '---' on line 1 is never closed; "
                     f"expected a line '---' after the 'key: value' lines")


# ------------------------------------------------------------------ directive arguments

ARG_RE = re.compile(r"""\s*([A-Za-z_][\w-]*)=("(?:[^"\\]|\\.)*"|'[^']*'|[^\s"']+)""")


def parse_args(text, where):
    """`key=value key2="quoted \\"value\\"" key3='x'` -> dict (insertion order kept)."""
    args, pos, text = {}, 0, text.rstrip()
    while pos < len(text):
        if not text[pos:].strip():
            break
        m = ARG_RE.match(text, pos)
        if not m:
            bad = text[pos:].strip()
            raise BuildError(f"{where}: expected key=value or key=\"quoted value\", got {bad[:40]!r}")
        key, raw = m.groups()
        if raw[0] == '"':
            value = re.sub(r"\\(.)", r"\1", raw[1:-1])
        elif raw[0] == "'":
            value = raw[1:-1]
        else:
            value = raw
        if key in args:
            raise BuildError(f"{where}: argument '{key}' is given twice")
        args[key] = value
        pos = m.end()
    return args


# ------------------------------------------------------------------ the renderer

VAR_RE = re.compile(r"\{\{(.*?)\}\}")
VAR_NAME = re.compile(r"^[A-Za-z_][\w-]*(?:\.[\w-]+)*$")
FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
DIRECTIVE_RE = re.compile(r"^:::(.*)$")
CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)")
DEMO_NAME = re.compile(r"^([A-Za-z0-9_][\w-]*)(.*)$")
FILE_ARG = ("data/", "static/")     # argument values that name a file in the site


class _Renderer:
    def __init__(self, root, out, context, strict, progress):
        self.root, self.out = Path(root), Path(out)
        self.context = dict(context)
        for key, default in (("models", {}), ("vars", {}), ("data", {}), ("missing", [])):
            self.context.setdefault(key, default)
        self.strict, self.progress = strict, progress
        self.problems = []
        self.langs = strings.languages(self.root)
        self.i18n = strings.site_strings(self.root, self.langs)
        self.demo_strings = strings.demo_strings(self.root, self.langs)
        self.demo_names = sorted(p.parent.name for p in (self.root / "demos").glob("*/partial.html"))
        self.files = {}          # site-relative path -> bytes | Path (source to copy)
        self.env = jinja2.Environment(
            loader=jinja2.ChoiceLoader([
                jinja2.FileSystemLoader(str(self.root / "templates")),
                jinja2.PrefixLoader({"demos": jinja2.FileSystemLoader(str(self.root / "demos"))}),
            ]),
            autoescape=True,
            undefined=jinja2.StrictUndefined if strict else jinja2.Undefined,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals["fail"] = self._fail
        self.env.globals["image_size"] = self._image_size
        self.env.filters["fill"] = strings.fill
        self.env.filters["tojson"] = lambda v: jinja2.utils.htmlsafe_json_dumps(
            v, dumps=lambda o, **kw: json.dumps(o, sort_keys=True, ensure_ascii=False, **kw))
        self._var_names = None

    # ---------------------------------------------------------- problems

    def problem(self, msg):
        self.problems.append(msg)

    def check_problems(self):
        if not self.problems:
            return
        if self.strict:
            raise BuildError("\n".join(self.problems))
        for p in self.problems:
            self.progress(f"WARNING: {p}")
        self.problems = []

    # ---------------------------------------------------------- read

    def read_chapters(self):
        chapters = []
        base = self.root / "chapters"
        for lang in self.langs:
            for path in sorted((base / lang).glob("*.md")):
                if path.name.startswith(("_", ".")):
                    continue
                chapters.append(self.read_chapter(lang, path))
        return chapters

    def read_chapter(self, lang, path):
        rel = path.relative_to(self.root).as_posix()
        text = path.read_text(encoding="utf-8").lstrip("\ufeff").replace("\r\n", "\n")
        lines = text.split("\n")
        meta, body_start = parse_front_matter(lines, rel)
        if "title" not in meta or not meta["title"][0]:
            line = meta["title"][1] if "title" in meta else 1
            raise BuildError(f"{rel}:{line}: the front matter needs 'title: ...'")
        order = 1000
        if "order" in meta:
            value, line = meta["order"]
            try:
                order = int(value)
            except ValueError:
                raise BuildError(f"{rel}:{line}: 'order' must be an integer, got {value!r}") from None
        slug = path.stem
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", slug):
            raise BuildError(f"{rel}:1: the file name '{path.name}' must be a slug "
                             f"(lower-case letters, digits and '-'), it becomes the page's URL")
        ch = Chapter(lang=lang, slug=slug, rel=rel, source=lines,
                     meta={k: v for k, (v, _) in meta.items()},
                     title=meta["title"][0], summary=meta.get("summary", ("", 0))[0], order=order)
        self.preprocess(ch, lines, body_start)
        return ch

    def preprocess(self, ch, lines, body_start):
        """Variables and directives (line by line), then math (per run of non-code lines)."""
        out = []          # (text, source line, is_code)
        fence = None
        note = None       # line number of the open note
        for i in range(body_start, len(lines)):
            n, line = i + 1, lines[i]
            if fence:
                out.append((line, n, True))
                m = FENCE_RE.match(line)
                if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not line.strip().strip(fence[0]):
                    fence = None
                continue
            m = FENCE_RE.match(line)
            if m:
                fence = m.group(1)
                out.append((line, n, True))
                continue
            line = self.substitute_vars(ch, line, n)
            d = DIRECTIVE_RE.match(line)
            if not d:
                out.append((line, n, False))
                continue
            where = f"{ch.rel}:{n}"
            words = d.group(1).strip()
            kind, _, rest = words.partition(" ")
            try:
                if not words:
                    if note is None:
                        self.problem(f"{where}: ':::' closes nothing; expected an open '::: note' before it")
                        continue
                    note = None
                    out += [("", n, False), ("</aside>", n, False), ("", n, False)]
                elif kind == "note":
                    if note is not None:
                        self.problem(f"{where}: '::: note' inside the note opened on line {note}; "
                                     f"expected ':::' to close that one first")
                        continue
                    args = parse_args(rest, where)
                    note_kind = args.pop("kind", "note")
                    if note_kind not in NOTE_KINDS:
                        self.problem(f"{where}: unknown note kind '{note_kind}'; expected one of {', '.join(NOTE_KINDS)}")
                        note_kind = "note"
                    title = args.pop("title", None)
                    if args:
                        self.problem(f"{where}: unknown note argument(s) {', '.join(args)}; expected title=\"...\" and kind=")
                    title = self.i18n[ch.lang][note_kind] if title is None else self.extract_math(ch, title, [n])
                    note = n
                    out += [("", n, False),
                            (f'<aside class="note note-{note_kind}" markdown="1">', n, False),
                            (f'<p class="note-title">{htmlmod.escape(title, quote=False)}</p>', n, False),
                            ("", n, False)]
                elif kind in ("demo", "figure"):
                    if kind == "demo":
                        m = DEMO_NAME.match(rest.strip())
                        if not m:
                            self.problem(f"{where}: expected '::: demo NAME key=value ...' with NAME one of "
                                         f"{', '.join(self.demo_names) or '(no demos)'}")
                            continue
                        name, rest = m.group(1), m.group(2)
                        if rest and not rest[0].isspace():
                            self.problem(f"{where}: expected a space after the demo name, got {(name + rest)[:40]!r}")
                            continue
                    else:
                        name = "figure"
                    call = self.demo_call(ch, name, parse_args(rest, where), n)
                    if call:
                        out += [("", n, False), (call.token, n, False), ("", n, False)]
                    else:
                        out.append((f'<div class="build-error">{htmlmod.escape(line)}</div>', n, False))
                else:
                    self.problem(f"{where}: unknown directive '::: {kind}'; expected '::: demo NAME ...', "
                                 f"'::: figure ...', '::: note' or ':::' (closing a note)")
            except BuildError as e:
                self.problem(str(e))
        if note is not None:
            self.problem(f"{ch.rel}:{note}: '::: note' is never closed; expected a line ':::' after it")
            out += [("", note, False), ("</aside>", note, False)]
        # math, per run of non-code lines
        pieces, run = [], []

        def flush():
            if run:
                pieces.append(self.extract_math(ch, "\n".join(t for t, _, _ in run), [l for _, l, _ in run]))
                run.clear()
        for item in out:
            if item[2]:
                flush()
                pieces.append(item[0])
            else:
                run.append(item)
        flush()
        ch.text = "\n".join(pieces) + "\n"

    # ---------------------------------------------------------- variables

    def var_names(self):
        if self._var_names is None:
            self._var_names = sorted(_leaves(self.context["vars"]))
        return self._var_names

    def substitute_vars(self, ch, line, n):
        def repl(m):
            name = m.group(1).strip()
            where = f"{ch.rel}:{n}"
            if not VAR_NAME.match(name):
                self.problem(f"{where}: expected a variable like '{{{{ acc.mnist_softmax }}}}' (dotted names only), "
                             f"got {m.group(0)!r}")
                return m.group(0)
            value = _lookup(self.context["vars"], name)
            if isinstance(value, strings.PerLanguage):
                value = value[ch.lang]
            if value is _MISSING:
                self.problem(f"{where}: unknown variable '{name}'; known: {_known_list(name, self.var_names())}")
                return m.group(0)
            if isinstance(value, (dict, list, tuple)):
                inner = [v for v in self.var_names() if v.startswith(name + ".")]
                self.problem(f"{where}: '{name}' is a group, not a value; expected one of "
                             f"{', '.join(inner[:8])}{' ...' if len(inner) > 8 else ''}")
                return m.group(0)
            return str(value)
        # `code spans` are left alone, as fenced code is
        parts, pos = [], 0
        for m in CODE_SPAN.finditer(line):
            parts += [VAR_RE.sub(repl, line[pos:m.start()]), m.group(0)]
            pos = m.end()
        parts.append(VAR_RE.sub(repl, line[pos:]))
        return "".join(parts)

    # ---------------------------------------------------------- demos

    def demo_call(self, ch, name, args, n):
        where = f"{ch.rel}:{n}"
        if name not in self.demo_names:
            hint = _closest(name, self.demo_names, 1)
            self.problem(f"{where}: unknown demo '{name}'; known demos: {', '.join(self.demo_names) or '(none)'}"
                         + (f" (did you mean '{hint[0]}'?)" if hint else "")
                         + "; a demo is a folder demos/NAME/ with a partial.html")
            return None
        model = None
        if "model" in args:
            models = self.context["models"]
            model = models.get(args["model"])
            # a model of the table whose dataset this build could not get (CIFAR-10): the demo
            # gets model=None and shows its own note instead of failing the build
            if model is None and args["model"] not in self.context.get("unavailable", ()):
                self.problem(f"{where}: unknown model '{args['model']}' in demo '{name}'; known models: "
                             f"{_known_list(args['model'], models)}")
                return None
        for key, value in args.items():
            if value.startswith(FILE_ARG) and not self.site_file_exists(value):
                self.problem(f"{where}: {key}={value} names no file in the site; "
                             + self.file_hint(value))
        for key in ("caption", "title"):
            if key in args:
                args[key] = self.extract_math(ch, args[key], [n])
        call = DemoCall(name=name, args=args, model=model, id=f"demo-{len(ch.demos) + 1}", line=n,
                        token=_token("D", len(ch.demos) + 1))
        ch.demos.append(call)
        return call

    def site_file_exists(self, rel):
        rel = rel.split("#")[0].split("?")[0]
        if (self.out / rel).is_file():
            return True
        if rel.startswith("static/") and (self.root / rel).is_file():
            return True
        return rel in self.files

    def file_hint(self, rel):
        top = rel.split("/")[0]
        base = self.out / top
        known = [p.relative_to(self.out).as_posix() for p in base.rglob("*") if p.is_file()] if base.is_dir() else []
        close = _closest(rel, known, 3)
        if close:
            return f"closest: {', '.join(close)}"
        return f"expected the build to write {top}/... into the site before rendering" if top == "data" \
            else f"expected a file under {top}/"

    def _fail(self, message):
        raise _DemoFailure(message)

    def _image_size(self, rel):
        for base in (self.out, self.root):
            size = image_size(base / rel)
            if size:
                return {"width": size[0], "height": size[1]}
        return None

    # ---------------------------------------------------------- math

    def extract_math(self, ch, text, line_of):
        """Replace $...$ and $$...$$ by tokens (outside `code`); line_of[k] = source line of text line k."""
        out, i, n = [], 0, len(text)

        def line_at(pos):
            return line_of[min(text.count("\n", 0, pos), len(line_of) - 1)]

        def add(tex, display, pos):
            tok = _token("M", len(ch.maths) + 1)
            if not tex.strip():
                self.problem(f"{ch.rel}:{line_at(pos)}: empty math {'$$$$' if display else '$$'}; "
                             f"write \\$ for a dollar sign")
            ch.maths.append(MathItem(tex=tex.strip(), display=display, rel=ch.rel, line=line_at(pos), token=tok))
            return tok
        while i < n:
            c = text[i]
            if c == "\\" and i + 1 < n:
                out.append("&#36;" if text[i + 1] == "$" else text[i:i + 2])
                i += 2
                continue
            if c == "`":
                j = i
                while j < n and text[j] == "`":
                    j += 1
                run, k, close = text[i:j], j, -1
                while True:
                    k = text.find(run, k)
                    if k < 0:
                        break
                    e = k + len(run)
                    if text[k - 1] != "`" and (e >= n or text[e] != "`"):
                        close = k
                        break
                    while k < n and text[k] == "`":
                        k += 1
                if close < 0:
                    out.append(run)
                    i = j
                else:
                    out.append(text[i:close + len(run)])
                    i = close + len(run)
                continue
            if text.startswith("$$", i):
                end = text.find("$$", i + 2)
                if end < 0:
                    self.problem(f"{ch.rel}:{line_at(i)}: '$$' opens display math that is never closed; "
                                 f"expected a closing '$$' (write \\$ for a dollar sign)")
                    out.append("$$")
                    i += 2
                    continue
                out.append(add(text[i + 2:end], True, i))
                i = end + 2
                continue
            if c == "$" and i + 1 < n and not text[i + 1].isspace():
                j, found = i + 1, -1
                while j < n:
                    if text[j] == "\\":
                        j += 2
                        continue
                    if text[j] == "\n" and not text[j + 1:].split("\n", 1)[0].strip():
                        break          # a blank line ends the paragraph: no math
                    if text[j] == "$":
                        if not text[j - 1].isspace() and not (j + 1 < n and text[j + 1].isdigit()):
                            found = j
                        break
                    j += 1
                if found > 0:
                    out.append(add(text[i + 1:found], False, i))
                    i = found + 1
                    continue
            out.append(c)
            i += 1
        return "".join(out)

    def katex_paths(self):
        node = os.environ.get("NNVIZ_NODE") or shutil.which("node")
        script = next((p for p in (self.root / "scripts" / "katex_render.mjs", REPO / "scripts" / "katex_render.mjs")
                       if p.is_file()), None)
        candidates = [os.environ.get("NNVIZ_KATEX_DIR"), self.root / "node_modules" / "katex",
                      REPO / "node_modules" / "katex"]
        katex = next((Path(p) for p in candidates if p and (Path(p) / "dist" / "katex.mjs").is_file()), None)
        return node, script, katex

    def typeset(self, chapters):
        items = [m for ch in chapters for m in ch.maths]
        if not items:
            return False
        node, script, katex = self.katex_paths()
        first = f"{items[0].rel}:{items[0].line}"
        missing = []
        if not node:
            missing.append("node (apt-get install nodejs, or set NNVIZ_NODE)")
        if not script:
            missing.append("scripts/katex_render.mjs")
        if not katex:
            missing.append("the npm package katex (run `npm ci` in the repo root, or set NNVIZ_KATEX_DIR "
                           "to a folder holding dist/katex.mjs)")
        if missing:
            msg = f"{first}: the chapters use math ({len(items)} formulas); typesetting it needs " + "; ".join(missing)
            if self.strict:
                raise BuildError(msg)
            self.progress(f"WARNING: {msg}; showing the TeX source instead")
            for m in items:
                tag = "div" if m.display else "span"
                m.html = f'<{tag} class="math-fallback"><code>{htmlmod.escape(m.tex)}</code></{tag}>'
            return False
        request = json.dumps({"items": [{"tex": m.tex, "display": m.display} for m in items],
                              "strict": self.strict})
        try:
            proc = subprocess.run([node, str(script), str(katex)], input=request, capture_output=True,
                                  text=True, encoding="utf-8", timeout=600)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise BuildError(f"{first}: running KaTeX failed: {e}") from None
        if proc.returncode != 0:
            raise BuildError(f"{first}: KaTeX ({script}) exited with {proc.returncode}: {proc.stderr.strip()[-2000:]}")
        reply = json.loads(proc.stdout)
        for m, r in zip(items, reply["results"], strict=True):
            if "error" in r:
                self.problem(f"{m.rel}:{m.line}: math: {r['error']} (in {'$$' if m.display else '$'}{m.tex}"
                             f"{'$$' if m.display else '$'})")
            m.html = r.get("html") or f'<code class="math-fallback">{htmlmod.escape(m.tex)}</code>'
        self.progress(f"typeset {len(items)} formulas with KaTeX {reply.get('version', '?')}")
        self.add_katex_assets(katex)
        return True

    def add_katex_assets(self, katex):
        dist = katex / "dist"
        css = (dist / "katex.min.css").read_text(encoding="utf-8")
        # keep woff2 only (every browser that runs Pyodide reads woff2); drop the woff/ttf fallbacks
        css = re.sub(r',\s*url\(fonts/[^)]+\.(?:woff|ttf)\)\s*format\("(?:woff|truetype)"\)', "", css)
        self.files["static/katex/katex.min.css"] = css.encode("utf-8")
        for font in sorted((dist / "fonts").glob("*.woff2")):
            self.files[f"static/katex/fonts/{font.name}"] = font
        lic = katex / "LICENSE"
        if lic.is_file():
            self.files["static/katex/LICENSE"] = lic

    # ---------------------------------------------------------- pages

    def markdown(self, lang):
        t = self.i18n[lang]
        exts = ["extra", "toc", "attr_list"] + (["smarty"] if lang == "en" else [])
        md = markdown.Markdown(extensions=exts, output_format="html", extension_configs={
            "toc": {"slugify": _slugify, "toc_depth": "2-3", "permalink": "#",
                    "permalink_title": t["permalink"]}})
        # after "toc" (priority 5): name each "#" permalink, so a screen reader's tab stop says where it goes
        md.treeprocessors.register(_PermalinkLabels(md, t["permalink"]), "permalink_labels", 4)
        return md

    def toc_html(self, tokens):
        if not tokens:
            return ""
        items = []
        for tok in tokens:
            sub = self.toc_html(tok.get("children", []))
            label = tok.get("html") or htmlmod.escape(tok["name"])
            items.append(f'<li><a href="#{htmlmod.escape(tok["id"])}">{label}</a>{sub}</li>')
        return "<ul>" + "".join(items) + "</ul>"

    def page_context(self, lang, root, out_path):
        ctx = dict(self.context)
        ctx.update(lang=lang, t=self.i18n[lang], root=root, out_path=out_path, langs=self.langs)
        return ctx

    def render_demo(self, ch, call, root):
        ctx = self.page_context(ch.lang, root, ch.out_path)
        ctx["page"] = {"title": ch.title, "slug": ch.slug, "lang": ch.lang}
        ctx["demo"] = {"name": call.name, "args": call.args, "model": call.model, "id": call.id,
                       "lang": ch.lang, "line": call.line}
        ctx["s"] = self.demo_strings.get(call.name, {}).get(ch.lang, {})
        where = f"{ch.rel}:{call.line}"
        tpl_name = f"demos/{call.name}/partial.html"
        try:
            return self.env.get_template(tpl_name).render(ctx).strip()
        except _DemoFailure as e:
            self.problem(f"{where}: demo '{call.name}': {e}")
        except jinja2.TemplateSyntaxError as e:
            self.problem(f"{where}: demo '{call.name}': {tpl_name}:{e.lineno}: {e.message}")
        except (jinja2.TemplateError, Exception) as e:   # noqa: BLE001 - report any partial bug with its place
            at = [f for f in traceback.extract_tb(e.__traceback__) if f.filename.endswith("partial.html")]
            loc = f" ({tpl_name}:{at[-1].lineno})" if at else ""
            hint = ""
            if isinstance(e, jinja2.UndefinedError) and "dict object" in str(e):
                hint = " (optional arguments: use demo.args.get('name'))"
            self.problem(f"{where}: demo '{call.name}'{loc}: {type(e).__name__}: {e}{hint}")
        return f'<div class="build-error">demo {htmlmod.escape(call.name)} failed</div>'

    def render_chapter(self, ch, by_slug, neighbours):
        root = "../"
        md = self.markdown(ch.lang)
        body = md.convert(ch.text)
        toc = self.toc_html(getattr(md, "toc_tokens", []))
        used = []
        for call in ch.demos:
            part = self.render_demo(ch, call, root)
            body = body.replace(f"<p>{call.token}</p>", part).replace(call.token, part)
            if call.name not in used:
                used.append(call.name)
        for m in ch.maths:
            if m.display:
                body = body.replace(f"<p>{m.token}</p>", f'<div class="math-display">{m.html}</div>')
            body = body.replace(m.token, m.html)
            toc = toc.replace(m.token, m.html)
        scripts = [f"{root}static/demos/{d}.js" for d in used if (self.root / "demos" / d / "demo.js").is_file()]
        styles = [f"{root}static/demos/{d}.css" for d in used if (self.root / "demos" / d / "demo.css").is_file()]
        switch, alternates = [], []
        for lang in self.langs:
            other = by_slug[ch.slug].get(lang)
            href = f"{root}{other.out_path}" if other else f"{root}{strings.index_path(lang)}"
            switch.append({"lang": lang, "name": self.i18n[lang]["lang_name"], "html_lang": self.i18n[lang]["html_lang"],
                           "href": href, "current": lang == ch.lang, "missing": other is None})
            if other and lang != ch.lang:
                alternates.append({"lang": self.i18n[lang]["html_lang"], "href": href})
        prev, nxt = neighbours
        ctx = self.page_context(ch.lang, root, ch.out_path)
        ctx.update(
            page={"title": ch.title, "summary": ch.summary, "slug": ch.slug, "lang": ch.lang, "meta": ch.meta},
            body=Markup(body), toc=Markup(toc),
            has_math=bool(ch.maths), live="data-live-demo" in body, scripts=scripts, styles=styles,
            switch=switch, alternates=alternates, home=f"{root}{strings.index_path(ch.lang)}",
            prev={"href": f"{root}{prev.out_path}", "title": prev.title} if prev else None,
            next={"href": f"{root}{nxt.out_path}", "title": nxt.title} if nxt else None,
        )
        return self.render_template("chapter.html", ctx)

    def render_index(self, lang, slugs, by_slug):
        root = "./" if "/" not in strings.index_path(lang) else "../"
        entries = []
        for slug in slugs:
            versions = by_slug[slug]
            ch = versions.get(lang) or next(versions[l] for l in self.langs if l in versions)
            entries.append({
                "slug": slug, "title": ch.title, "summary": ch.summary, "lang": ch.lang,
                "html_lang": self.i18n[ch.lang]["html_lang"], "href": f"{root}{ch.out_path}",
                "translated": ch.lang == lang,
                "others": [{"lang": l, "name": self.i18n[l]["lang_name"], "html_lang": self.i18n[l]["html_lang"],
                            "href": f"{root}{versions[l].out_path}"} for l in self.langs if l in versions and l != ch.lang],
            })
        switch = [{"lang": l, "name": self.i18n[l]["lang_name"], "html_lang": self.i18n[l]["html_lang"],
                   "href": f"{root}{strings.index_path(l)}", "current": l == lang, "missing": False} for l in self.langs]
        alternates = [{"lang": self.i18n[l]["html_lang"], "href": f"{root}{strings.index_path(l)}"} for l in self.langs if l != lang]
        ctx = self.page_context(lang, root, strings.index_path(lang))
        ctx.update(chapters=entries, switch=switch, alternates=alternates, home=f"{root}{strings.index_path(lang)}",
                   has_math=False, live=False, scripts=[], styles=[], page={"title": "", "lang": lang})
        return self.render_template("index.html", ctx)

    def render_template(self, name, ctx):
        try:
            return self.env.get_template(name).render(ctx)
        except jinja2.TemplateSyntaxError as e:
            raise BuildError(f"templates/{e.name or name}:{e.lineno}: {e.message}") from None
        except jinja2.TemplateError as e:
            at = [f for f in traceback.extract_tb(e.__traceback__) if "/templates/" in f.filename.replace(os.sep, "/")]
            loc = f"templates/{Path(at[-1].filename).name}:{at[-1].lineno}" if at else f"templates/{name}:1"
            raise BuildError(f"{loc}: {type(e).__name__}: {e}") from None

    # ---------------------------------------------------------- static assets

    def collect_static(self):
        static = self.root / "static"
        if static.is_dir():
            for p in sorted(static.rglob("*")):
                if p.is_file() and not p.name.startswith(".") and "__pycache__" not in p.parts:
                    self.files[p.relative_to(self.root).as_posix()] = p
        for name in self.demo_names:
            for src, ext in (("demo.js", "js"), ("demo.css", "css")):
                p = self.root / "demos" / name / src
                if p.is_file():
                    self.files[f"static/demos/{name}.{ext}"] = p

    # ---------------------------------------------------------- checks on the rendered pages

    def check_page(self, out_path, page, chapter):
        parser = _PageScan()
        parser.feed(page)
        parser.close()
        page_dir = posixpath.dirname(out_path)

        def where(needle):
            if chapter is None:
                return f"templates/index.html:1: page {out_path}"
            for k, line in enumerate(chapter.source, 1):
                if needle and needle in line:
                    return f"{chapter.rel}:{k}: page {out_path}"
            return f"{chapter.rel}:1: page {out_path}"
        for tag, line in parser.inline_scripts:
            self.problem(f"{where(None)}: inline <{tag}> on line {line} of the page; pages run under a CSP that "
                         f"blocks it: put the code in demos/NAME/demo.js or static/js/")
        dup = sorted({i for i in parser.ids if parser.ids.count(i) > 1})
        if dup:
            self.problem(f"{where(dup[0])}: duplicate id(s) {', '.join(dup)}")
        for tag, attr, url in parser.urls:
            if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^//", url):
                if tag != "a" and not url.startswith(("data:", "blob:")):
                    self.problem(f"{where(url)}: <{tag} {attr}=\"{url}\"> loads from outside the site; "
                                 f"the site must work offline: copy the file into static/ or data/")
                continue
            path, _, frag = url.partition("#")
            path = path.split("?")[0]
            if not path:
                if frag and frag not in parser.ids:
                    self.problem(f"{where('#' + frag)}: link to '#{frag}', but the page has no such id")
                continue
            target = posixpath.normpath(posixpath.join(page_dir, path))
            if target.startswith("../"):
                self.problem(f"{where(path)}: <{tag} {attr}=\"{url}\"> points outside the site")
            elif not (target in self.files or (self.out / target).is_file()):
                hint = ""
                if path in self.files or (self.out / path).is_file():
                    up = "../" * page_dir.count("/") + ("../" if page_dir else "")
                    hint = f" (links in a page are relative to it: did you mean {up}{path}?)"
                self.problem(f"{where(path)}: <{tag} {attr}=\"{url}\"> points to {target}, which the build "
                             f"does not produce{hint}")

    # ---------------------------------------------------------- run

    def run(self):
        chapters = self.read_chapters()
        self.collect_static()
        self.check_problems()
        by_slug = {}
        for ch in chapters:
            by_slug.setdefault(ch.slug, {})[ch.lang] = ch
        self.typeset(chapters)
        self.check_problems()
        slugs = sorted(by_slug, key=lambda s: (min(c.order for c in by_slug[s].values()), s))
        pages = {}
        for lang in self.langs:
            seq = sorted((c for c in chapters if c.lang == lang), key=lambda c: (c.order, c.slug))
            for k, ch in enumerate(seq):
                neighbours = (seq[k - 1] if k else None, seq[k + 1] if k + 1 < len(seq) else None)
                pages[ch.out_path] = (self.render_chapter(ch, by_slug, neighbours), ch)
            pages[strings.index_path(lang)] = (self.render_index(lang, slugs, by_slug), None)
        for out_path, (page, _) in pages.items():
            self.files[out_path] = page.encode("utf-8")
        self.check_problems()
        for out_path, (page, ch) in pages.items():
            self.check_page(out_path, page, ch)
        self.check_problems()
        written = []
        for rel in sorted(self.files):
            dest = self.out / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            src = self.files[rel]
            if isinstance(src, Path):
                shutil.copyfile(src, dest)
            else:
                dest.write_bytes(src)
            written.append(dest)
        n_demos = sum(len(c.demos) for c in chapters)
        self.progress(f"rendered {len(chapters)} chapters ({', '.join(f'{sum(c.lang == l for c in chapters)} {l}' for l in self.langs)}), "
                      f"{n_demos} demos, {len(written)} files")
        return written


class _PageScan(HTMLParser):
    """Collects ids, local/remote URLs and inline scripts or handlers of one rendered page."""

    URL_ATTRS = ("href", "src", "poster")

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids, self.urls, self.inline_scripts = [], [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id") is not None:
            self.ids.append(a["id"])
        if tag == "script" and not a.get("src"):
            self.inline_scripts.append(("script", self.getpos()[0]))
        if any(k.startswith("on") for k in a):
            self.inline_scripts.append((f"{tag} on...= handler", self.getpos()[0]))
        for k, v in attrs:
            if v is None:
                continue
            if k in self.URL_ATTRS or (tag == "object" and k == "data"):
                if tag == "a" and k != "href":
                    continue
                self.urls.append((tag, k, v.strip()))
            if k == "href" and v.strip().lower().startswith("javascript:"):
                self.inline_scripts.append((f"{tag} javascript: URL", self.getpos()[0]))

    handle_startendtag = handle_starttag


def render_site(root: Path, out: Path, context: dict, strict: bool = True, progress=print) -> list[Path]:
    """Render chapters/, templates/, demos/ and static/ of `root` into `out`; return the files written.

    `context`: {"models": {name: entry}, "vars": nested values for {{ a.b }}, "data": free dict for
    demos, "missing": [dataset names the build could not get]}. Files the build already wrote into `out` (data/...) are checked, never
    touched. Nothing is written unless every page rendered and passed its checks (strict mode).
    """
    return _Renderer(root, out, context, strict, progress).run()
