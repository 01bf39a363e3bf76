"""Reading chapters: the file (UTF-8, named in every error), its front matter, its slug, and the
small parsers a chapter line needs (directive arguments, "did you mean" hints).

Front matter is `key: value` lines between two `---` lines. It is parsed here rather than by
PyYAML on purpose: our summaries hold ": " (YAML rejects that unquoted) and every error must
name its line (a repeated key, a non-integer `order`), which neither YAML nor markdown's meta
extension reports.
"""
from __future__ import annotations

import bisect
import difflib
import functools
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

from .common import NnvizError


class BuildError(NnvizError):
    """A chapter, template or demo problem. The message starts with `path:LINE: `."""


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
    body_start: int           # index of the first line after the front matter
    meta: dict
    meta_lines: dict          # key -> line of the front matter
    order: int
    demos: list[DemoCall] = field(default_factory=list)
    maths: list[MathItem] = field(default_factory=list)
    _cursor: dict = field(default_factory=dict)   # stream -> where its last line_of() match was
    scanned: int = 0          # characters line_of() searched (its work, checked by a test)

    @property
    def out_path(self):
        return f"{self.lang}/{self.slug}.html"

    @property
    def title(self):
        return self.meta["title"]

    @property
    def summary(self):
        return self.meta.get("summary", "")

    @functools.cached_property
    def _body(self):
        """(body text, offset of each body line's start)."""
        lines = self.source[self.body_start:]
        starts = list(itertools.accumulate((len(l) + 1 for l in lines[:-1]), initial=0))
        return "\n".join(lines), starts

    def line_of(self, needle, stream):
        """Source line of `needle` in the body. Markdown's processors know no line numbers, but each
        one meets its matches mostly in document order: so each stream of lookups (one per processor)
        searches on from its previous match, which keeps a chapter's lookups linear, then from the top.
        A text that occurs once is always placed right; a repeated one on one of its lines."""
        text, starts = self._body
        start = self._cursor.get(stream, 0)
        pos = text.find(needle, start)
        if pos < 0:
            pos = text.find(needle)
            self.scanned += len(text)
        if pos < 0:
            return self.body_start + 1
        self.scanned += max(pos - start, 0) + len(needle)
        self._cursor[stream] = pos + 1
        return self.body_start + bisect.bisect_right(starts, pos)


# ------------------------------------------------------------------ hints

def closest(name, known, n=5):
    return difflib.get_close_matches(name, list(known), n=n, cutoff=0.5)


def known_list(name, known, limit=12):
    """'closest first' list for error messages: the close matches, else the first few names."""
    known = sorted(known)
    close = closest(name, known)
    if close:
        rest = len(known) - len(close)
        return ", ".join(close) + (f" (and {rest} more)" if rest else "")
    if not known:
        return "(none)"
    more = len(known) - limit
    return ", ".join(known[:limit]) + (f", ... ({len(known)} in all)" if more > 0 else "")


# ------------------------------------------------------------------ reading

FM_LINE = re.compile(r"^([A-Za-z_][\w-]*)\s*:\s*(.*)$")
SLUG_RE = re.compile(r"[a-z0-9][a-z0-9-]*")


def decode(data, rel):
    """Chapter bytes -> text, or a BuildError naming the file, the line and the encoding expected."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:4096]:
        raise BuildError(f"{rel}:1: the file looks like UTF-16; expected UTF-8 (save it as UTF-8)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise BuildError(f"{rel}:{line}: byte 0x{data[e.start]:02x} is not valid UTF-8; expected UTF-8 "
                         f"text (save the file as UTF-8)") from None
    return text.lstrip("\ufeff").replace("\r\n", "\n")


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


def read_chapter(root, lang, path):
    """One chapters/<lang>/<slug>.md file -> Chapter (front matter checked, body not yet parsed)."""
    rel = path.relative_to(root).as_posix()
    lines = decode(path.read_bytes(), rel).split("\n")
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
    if not SLUG_RE.fullmatch(path.stem):
        raise BuildError(f"{rel}:1: the file name '{path.name}' must be a slug "
                         f"(lower-case letters, digits and '-'), it becomes the page's URL")
    return Chapter(lang=lang, slug=path.stem, rel=rel, source=lines, body_start=body_start,
                   meta={k: v for k, (v, _) in meta.items()}, meta_lines={k: n for k, (_, n) in meta.items()},
                   order=order)


def read_chapters(root, langs, problem):
    """Every chapters/<lang>/*.md (files starting with _ or . are drafts); unknown folders are problems."""
    base = Path(root) / "chapters"
    if base.is_dir():
        for d in sorted(p for p in base.iterdir() if p.is_dir()):
            if d.name not in langs:
                problem(f"chapters/{d.name}/:1: unknown language folder '{d.name}'; expected one of {', '.join(langs)}")
    return [read_chapter(Path(root), lang, path) for lang in langs
            for path in sorted((base / lang).glob("*.md")) if not path.name.startswith(("_", "."))]


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
