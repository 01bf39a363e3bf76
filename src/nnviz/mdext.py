"""Our chapter syntax as one Python-Markdown extension (on top of extra + toc + attr_list):

    {{ acc.mnist_softmax }}          a chapter variable (inline processor; not inside `code`)
    $W x + b$   $$\\sum_i w_i$$      math (pymdownx.arithmatex's smart-dollar rule; \\$ is a dollar),
                                     left as a token for the build-time KaTeX batch (katex.py)
    ::: demo draw model=mnist-h16x16 caption="Draw a digit"
    ::: figure src=data/x.png alt="..."
    ::: note title="Careful" kind=tip      a call-out box, up to a line `:::`
    ::: if dataset=cifar10           a passage shown only when that dataset loaded at build time;
    ::: else                         `::: else` starts the alternative, `:::` closes it
    :::

Directives start at column 0 and stand alone on their line; fenced code is left alone. Markdown's
processors know no line numbers, so a preprocessor stamps each directive line with its own
(`:::@12@ demo ...`) and other problems are placed by `Chapter.line_of` (the text's next occurrence). Everything a directive
means (which demos, models and files exist) is asked of `site` (pages.Site).
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as etree

from markdown.blockprocessors import BlockProcessor
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor
from pymdownx import arithmatex, util as pymdownx_util

from .chapters import BuildError, MathItem, parse_args

FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
STAMP_RE = re.compile(r"^:::@(\d+)@(.*)$", re.S)
VAR_PATTERN = r"\{\{(.*?)\}\}"
DISPLAY_INLINE = arithmatex.RE_DOLLAR_BLOCK              # $$...$$ inside a paragraph
INLINE_MATH = re.compile(arithmatex.RE_SMART_DOLLAR_INLINE)
OPENERS = ("note", "if")
NOTE_KINDS = ("note", "tip", "warning")


def token(kind, n):
    """A placeholder of plain letters and digits: it survives Markdown, smarty and the toc."""
    return f"NNVIZ{kind}{n:05d}Q"


TOKEN_RE = re.compile(r"NNVIZ[A-Z]\d{5}Q")


class NnvizExtension(Extension):
    def __init__(self, chapter, site):
        self.ch, self.site = chapter, site
        super().__init__()

    def extendMarkdown(self, md):
        md.registerExtension(self)
        pymdownx_util.escape_chars(md, ["$"])
        md.preprocessors.register(DirectiveLines(md, self), "nnviz-lines", 35)      # before fenced_code (25)
        md.parser.blockprocessors.register(Directives(md.parser, self), "nnviz-directives", 85)
        md.parser.blockprocessors.register(MathBlock(self, md), "nnviz-math-block", 79.9)
        md.inlinePatterns.register(Variable(VAR_PATTERN, self), "nnviz-var", 189.95)  # after `code` (190)
        md.inlinePatterns.register(MathInline(DISPLAY_INLINE, self, True), "nnviz-math-display", 189.92)
        md.inlinePatterns.register(MathInline(arithmatex.RE_SMART_DOLLAR_INLINE, self, False), "nnviz-math", 189.9)
        md.treeprocessors.register(UnclosedMath(md, self), "nnviz-unclosed-math", 19)   # after inline (20)

    # ---------------------------------------------------------- shared by the processors

    def where(self, n):
        return f"{self.ch.rel}:{n}"

    def math(self, tex, display, line):
        tok = token("M", len(self.ch.maths) + 1)
        if not tex.strip():
            self.site.problem(f"{self.where(line)}: empty math {'$$$$' if display else '$$'}; "
                              f"write \\$ for a dollar sign")
        self.ch.maths.append(MathItem(tex=tex.strip(), display=display, rel=self.ch.rel, line=line, token=tok))
        return tok

    def math_in_text(self, text, line):
        """$...$ in a directive argument (a caption, a title) -> tokens."""
        def repl(m):
            return m.group(0) if m.group(1) else self.math(m.group(3), False, line)
        return INLINE_MATH.sub(repl, text).replace("\\$", "$")

    def substitute(self, text, line):
        return re.sub(VAR_PATTERN, lambda m: self.site.variable(m.group(1), m.group(0), self.where(line), self.ch.lang), text)


def directive_lines(lines):
    """(indices of the directive lines outside fenced code, the unclosed fence as (fence, index) or None)."""
    found, fence = [], None
    for i, line in enumerate(lines):
        m = FENCE_RE.match(line)
        if fence:
            if m and m.group(1)[0] == fence[0][0] and len(m.group(1)) >= len(fence[0]) \
                    and not line.strip().strip(fence[0][0]):
                fence = None
        elif m:
            fence = (m.group(1), i)
        elif line.startswith(":::"):
            found.append(i)
    return found, fence


def demo_calls(ch):
    """[(name, args)] of a chapter's `::: demo NAME key=value` lines, read without rendering (the
    build asks which models' test images to export); a line that does not parse is left to the
    renderer, which reports it with its file:line."""
    lines = ch.source[ch.body_start:]
    calls = []
    for i in directive_lines(lines)[0]:
        kind, _, rest = lines[i][3:].strip().partition(" ")
        name, _, rest = rest.strip().partition(" ")
        if kind == "demo" and name:
            try:
                calls.append((name, parse_args(rest, ch.rel)))
            except BuildError:
                pass
    return calls


class DirectiveLines(Preprocessor):
    """Stamps every directive line outside fenced code with its source line and makes it a block
    of its own; an unclosed fence is an error at the line that opened it."""

    def __init__(self, md, ext):
        super().__init__(md)
        self.ext = ext

    def run(self, lines):
        start = self.ext.ch.body_start
        found, fence = directive_lines(lines)
        found, out = set(found), []
        for i, line in enumerate(lines):
            out += ["", f":::@{start + i + 1}@{line[3:]}", ""] if i in found else [line]
        if fence:
            self.ext.site.problem(f"{self.ext.where(start + fence[1] + 1)}: the code fence {fence[0]} opened here "
                                  f"is never closed; expected a line {fence[0]} after the code")
        return out


class Directives(BlockProcessor):
    """`::: demo/figure/note/if/else` and the closing `:::` (one stamped block each)."""

    def __init__(self, parser, ext):
        super().__init__(parser)
        self.ext = ext

    def test(self, parent, block):
        return block.lstrip("\n").startswith(":::@")

    @staticmethod
    def split(block):
        m = STAMP_RE.match(block.lstrip("\n"))
        words = m.group(2).strip()
        kind, _, rest = words.partition(" ")
        return int(m.group(1)), words, kind, rest

    def take(self, blocks, n, kind):
        """Remove the blocks up to the `:::` that closes the `::: kind` of line n: (body, alternative)."""
        parts, depth = [[]], 0
        while blocks:
            block = blocks.pop(0)
            if self.test(None, block):
                _, words, k, _ = self.split(block)
                if not words and depth == 0:
                    return parts[0], (parts[1] if len(parts) > 1 else [])
                if k == "else" and depth == 0 and kind == "if" and len(parts) == 1:
                    parts.append([])
                    continue
                depth += (k in OPENERS) - (not words)
            parts[-1].append(block)
        self.ext.site.problem(f"{self.ext.where(n)}: '::: {kind}' is never closed; expected a line ':::' after it")
        return parts[0], (parts[1] if len(parts) > 1 else [])

    def run(self, parent, blocks):
        n, words, kind, rest = self.split(blocks.pop(0))
        where, site = self.ext.where(n), self.ext.site
        try:
            if kind == "note":
                self.note(parent, blocks, n, parse_args(rest, where))
            elif kind == "if":
                body, alternative = self.take(blocks, n, "if")
                self.parser.parseBlocks(parent, body if self.condition(rest, where) else alternative)
            elif kind in ("demo", "figure"):
                call = site.demo_directive(self.ext, kind, self.ext.substitute(rest, n), n)
                p = etree.SubElement(parent, "p")
                p.text = call.token if call else self.parser.md.htmlStash.store(
                    f'<div class="build-error">{_escape(":::" + words)}</div>')
            elif not words:
                site.problem(f"{where}: ':::' closes nothing; expected an open '::: note' or '::: if' before it")
            elif kind == "else":
                site.problem(f"{where}: '::: else' outside an '::: if' block; expected '::: if dataset=NAME' before it")
            else:
                site.problem(f"{where}: unknown directive '::: {kind}'; expected '::: demo NAME ...', "
                             f"'::: figure ...', '::: note', '::: if dataset=NAME', '::: else' or ':::' "
                             f"(closing a note or an if)")
        except BuildError as e:
            site.problem(str(e))

    def note(self, parent, blocks, n, args):
        where, site = self.ext.where(n), self.ext.site
        kind = args.pop("kind", "note")
        if kind not in NOTE_KINDS:
            site.problem(f"{where}: unknown note kind '{kind}'; expected one of {', '.join(NOTE_KINDS)}")
            kind = "note"
        title = args.pop("title", None)
        if args:
            site.problem(f"{where}: unknown note argument(s) {', '.join(args)}; expected title=\"...\" and kind=")
        body, _ = self.take(blocks, n, "note")
        aside = etree.SubElement(parent, "aside", {"class": f"note note-{kind}"})
        head = etree.SubElement(aside, "p", {"class": "note-title"})
        head.text = site.note_label(self.ext.ch.lang, kind) if title is None else title   # inline-processed
        self.parser.parseBlocks(aside, body)

    def condition(self, rest, where):
        """C4: `::: if dataset=NAME` is true when NAME loaded at build time; `::: if fact=NAME` when
        the build measured that a sentence holds (context "facts", e.g. cifar-blue-border)."""
        args = parse_args(rest, where)
        if set(args) == {"fact"}:
            return self.ext.site.fact_holds(args["fact"], where)
        name = args.pop("dataset", None)
        if name is None or args:
            raise BuildError(f"{where}: expected '::: if dataset=NAME', got {('::: if ' + rest).strip()!r}")
        return self.ext.site.dataset_loaded(name, where)


def _escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class MathBlock(arithmatex.BlockArithmatexProcessor):
    """A paragraph that is all `$$ ... $$`: display math, kept from the block parser's other rules."""

    def __init__(self, ext, md):
        super().__init__(r"(?s)^(?:%s)[ ]*$" % arithmatex.RE_DOLLAR_BLOCK, {}, md)
        self.ext = ext

    def run(self, parent, blocks):
        block = blocks.pop(0)
        tex = self.match.group("math")
        first = next((l for l in tex.split("\n") if l.strip()), "$$")
        line = self.ext.ch.line_of(first, "block") - (tex.lstrip(" ").startswith("\n"))
        etree.SubElement(parent, "p").text = self.ext.math(tex, True, line)
        return block is not None


class MathInline(arithmatex.InlineArithmatexPattern):
    """`$...$` (smart dollars) or `$$...$$` in running text -> a token (escaped dollars stay text)."""

    def __init__(self, pattern, ext, display):
        super().__init__(pattern, {})
        self.ext, self.display = ext, display

    def handleMatch(self, m, data):
        if not self.display and m.group(1):
            return super().handleMatch(m, data)
        tex = m.group("math") if self.display else m.group(3)
        line = self.ext.ch.line_of(m.group(0).split("\n")[0], "display" if self.display else "math")
        return self.ext.math(tex, self.display, line), m.start(0), m.end(0)


class Variable(InlineProcessor):
    """`{{ dotted.name }}` -> its value from the chapter variables (the site reports bad names)."""

    def __init__(self, pattern, ext):
        super().__init__(pattern)
        self.ext = ext

    def handleMatch(self, m, data):
        where = self.ext.where(self.ext.ch.line_of(m.group(0), "var"))
        return self.ext.site.variable(m.group(1), m.group(0), where, self.ext.ch.lang), m.start(0), m.end(0)


class UnclosedMath(Treeprocessor):
    """A `$$` left in the text after the math patterns ran opens display math that never closes."""

    def __init__(self, md, ext):
        super().__init__(md)
        self.ext = ext

    def run(self, root):
        for el in root.iter():
            for text in ((el.tail,) if el.tag in ("code", "pre") else (el.text, el.tail)):
                if text and "$$" in text:
                    self.ext.site.problem(
                        f"{self.ext.where(self.ext.ch.line_of('$$', 'unclosed'))}: '$$' opens display math that is "
                        f"never closed; expected a closing '$$' (write \\$ for a dollar sign)")
