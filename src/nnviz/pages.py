"""Pages: the site's languages and UI strings, what a directive may name (demos, models, files,
variables, datasets), the Jinja environment, chapter and index pages, and the static files.

A demo partial (Jinja, autoescaped, StrictUndefined in strict mode) sees the whole context
(models, vars, data, missing datasets) plus `demo` = {name, args, model, id, lang, line}, `s` (the
demo's strings.toml for the page language), `t` (site-wide strings, with `t.classes[dataset]` and
`t.labels[dataset]`), `lang` and `root` (e.g. "../"), the filter `s.key|fill(name=value)` and two
helpers: `fail("message")` stops the build with the directive's file:line,
`image_size("data/x.png")` gives {width, height} or None. Languages and strings: nnviz.strings.
Argument values starting with data/ or static/ must name a file in the site.
"""
from __future__ import annotations

import hashlib
import html as htmlmod
import json
import os
import re
import struct
import traceback
from pathlib import Path

import jinja2
import markdown
from markdown.extensions.toc import slugify_unicode
from markdown.treeprocessors import Treeprocessor
from markupsafe import Markup

from . import palette
from .chapters import BuildError, DemoCall, closest, known_list, parse_args
from . import strings
from .data import CLASSES
from .mdext import TOKEN_RE, VAR_PATTERN, NnvizExtension, token

# The pages' Content-Security-Policy (a <meta> in templates/base.html; the browser tests serve it as
# a header too): no inline script, no eval, WebAssembly compiled by the runtime, nothing from elsewhere.
CSP = ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; "
       "base-uri 'self'; form-action 'self'")
DEMO_NAME = re.compile(r"^([A-Za-z0-9_][\w-]*)(.*)$", re.S)
VAR_NAME = re.compile(r"^[A-Za-z_][\w-]*(?:\.[\w-]+)*$")
FILE_ARG = ("data/", "static/")     # argument values that name a file in the site
_MISSING = object()


class _DemoFailure(Exception):
    """Raised by `fail(message)` inside a demo partial."""


def _leaves(tree, prefix=""):
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from _leaves(v, f"{prefix}{k}.")
    elif isinstance(tree, (list, tuple)):
        for i, v in enumerate(tree):
            yield from _leaves(v, f"{prefix}{i}.")
    else:
        yield prefix[:-1]


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


def _place(problem):
    m = re.match(r"([^:\s]+):(\d+):", problem)
    return (m.group(1), int(m.group(2))) if m else ("", 0)


class Site:
    """Everything the pages of one build share; problems are collected, then raised together."""

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
            keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
        )
        self.env.globals.update(fail=self._fail, image_size=self._image_size, csp=CSP,
                                model_title=lambda m, lang: strings.model_title(self.i18n[lang], m),
                                neuron=strings.neuron, diverging=palette.diverging_hex)
        self.env.filters["fill"] = strings.fill
        self.env.filters["tojson"] = lambda v: jinja2.utils.htmlsafe_json_dumps(
            v, dumps=lambda o, **kw: json.dumps(o, sort_keys=True, ensure_ascii=False, **kw))
        self.var_names = sorted(_leaves(self.context["vars"]))

    # ---------------------------------------------------------- problems

    def problem(self, msg):
        self.problems.append(msg)

    def check_problems(self):
        if not self.problems:
            return
        self.problems.sort(key=_place)      # in file and line order, whichever stage found them
        if self.strict:
            raise BuildError("\n".join(self.problems))
        for p in self.problems:
            self.progress(f"WARNING: {p}")
        self.problems = []

    # ---------------------------------------------------------- what a chapter may name

    def variable(self, name, raw, where, lang):
        """The text of `{{ name }}`, or `raw` unchanged after reporting the problem."""
        name = name.strip()
        if not VAR_NAME.match(name):
            self.problem(f"{where}: expected a variable like '{{{{ acc.mnist_softmax }}}}' (dotted names only), "
                         f"got {raw!r}")
            return raw
        value = _lookup(self.context["vars"], name)
        if isinstance(value, strings.PerLanguage):
            value = value[lang]                       # a class name, say, in the page's language
        if value is _MISSING:
            self.problem(f"{where}: unknown variable '{name}'; known: {known_list(name, self.var_names)}")
            return raw
        if isinstance(value, (dict, list, tuple)):
            inner = [v for v in self.var_names if v.startswith(name + ".")]
            self.problem(f"{where}: '{name}' is a group, not a value; expected one of "
                         f"{', '.join(inner[:8])}{' ...' if len(inner) > 8 else ''}")
            return raw
        return str(value)

    def dataset_loaded(self, name, where):
        if name not in CLASSES:
            hint = closest(name, CLASSES, 1)
            raise BuildError(f"{where}: unknown dataset '{name}' in '::: if'; known datasets: "
                             f"{', '.join(sorted(CLASSES))}" + (f" (did you mean '{hint[0]}'?)" if hint else ""))
        return name in self.context["data"].get("datasets", {})

    def fact_holds(self, name, where):
        facts = self.context.get("facts", {})
        if name not in facts:
            raise BuildError(f"{where}: unknown fact '{name}' in '::: if fact=NAME'; known facts: "
                             f"{', '.join(sorted(facts)) or '(none)'}")
        return bool(facts[name])

    def note_label(self, lang, kind):
        return self.i18n[lang][kind]

    def demo_directive(self, ext, kind, rest, n):
        """`::: demo NAME args` / `::: figure args` -> a DemoCall on the chapter, or None (reported)."""
        ch, where = ext.ch, f"{ext.ch.rel}:{n}"
        name = "figure"
        if kind == "demo":
            m = DEMO_NAME.match(rest.strip())
            if not m:
                self.problem(f"{where}: expected '::: demo NAME key=value ...' with NAME one of "
                             f"{', '.join(self.demo_names) or '(no demos)'}")
                return None
            name, rest = m.group(1), m.group(2)
            if rest and not rest[0].isspace():
                self.problem(f"{where}: expected a space after the demo name, got {(name + rest)[:40]!r}")
                return None
        args = parse_args(rest, where)
        if name not in self.demo_names:
            hint = closest(name, self.demo_names, 1)
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
                             f"{known_list(args['model'], models)}")
                return None
        for key, value in args.items():
            if value.startswith(FILE_ARG) and not self.site_file_exists(value):
                self.problem(f"{where}: {key}={value} names no file in the site; " + self.file_hint(value))
        for key in ("caption", "title"):
            if key in args:
                args[key] = ext.math_in_text(args[key], n)
        call = DemoCall(name=name, args=args, model=model, id=f"demo-{len(ch.demos) + 1}", line=n,
                        token=token("D", len(ch.demos) + 1))
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
        close = closest(rel, known, 3)
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

    # ---------------------------------------------------------- Markdown

    def convert(self, ch):
        """The chapter's body -> (html with demo and math tokens, toc html); fills ch.demos, ch.maths."""
        t = self.i18n[ch.lang]
        for key in ("title", "summary"):
            if key in ch.meta:
                where = f"{ch.rel}:{ch.meta_lines[key]}"
                ch.meta[key] = re.sub(VAR_PATTERN, lambda m: self.variable(m.group(1), m.group(0), where, ch.lang),
                                      ch.meta[key])
        exts = ["extra", "toc", "attr_list", NnvizExtension(ch, self)] + (["smarty"] if ch.lang == "en" else [])
        md = markdown.Markdown(extensions=exts, output_format="html", extension_configs={
            "toc": {"slugify": _slugify, "toc_depth": "2-3", "permalink": "#", "permalink_title": t["permalink"]}})
        # after "toc" (priority 5): name each "#" permalink, so a screen reader's tab stop says where it goes
        md.treeprocessors.register(_PermalinkLabels(md, t["permalink"]), "permalink_labels", 4)
        body = md.convert("\n".join(ch.source[ch.body_start:]) + "\n")
        return body, self.toc_html(getattr(md, "toc_tokens", []))

    def toc_html(self, tokens):
        if not tokens:
            return ""
        items = []
        for tok in tokens:
            sub = self.toc_html(tok.get("children", []))
            label = tok.get("html") or htmlmod.escape(tok["name"])
            items.append(f'<li><a href="#{htmlmod.escape(tok["id"])}">{label}</a>{sub}</li>')
        return "<ul>" + "".join(items) + "</ul>"

    # ---------------------------------------------------------- pages

    def page_context(self, lang, root, out_path):
        ctx = dict(self.context)
        ctx.update(lang=lang, t=self.i18n[lang], root=root, out_path=out_path, langs=self.langs)
        return ctx

    def demo_context(self, ch, call, root):
        """What demos/NAME/partial.html sees (see the module docstring)."""
        ctx = self.page_context(ch.lang, root, ch.out_path)
        ctx["page"] = {"title": ch.title, "slug": ch.slug, "lang": ch.lang}
        ctx["demo"] = {"name": call.name, "args": call.args, "model": call.model, "id": call.id,
                       "lang": ch.lang, "line": call.line}
        ctx["s"] = self.demo_strings.get(call.name, {}).get(ch.lang, {})
        return ctx

    def render_demo(self, ch, call, root):
        where = f"{ch.rel}:{call.line}"
        tpl_name = f"demos/{call.name}/partial.html"
        try:
            return self.env.get_template(tpl_name).render(self.demo_context(ch, call, root)).strip()
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

    def demo_assets(self, names, root):
        """C1: each used demo's demo.js (a module, once), in order of first use, and the page's one
        stylesheet (see stylesheet())."""
        used = list(dict.fromkeys(names))
        scripts = [f"{root}static/demos/{d}/demo.js" for d in used if (self.root / "demos" / d / "demo.js").is_file()]
        styles = [f"static/demos/{d}/demo.css" for d in used if (self.root / "demos" / d / "demo.css").is_file()]
        return scripts, styles

    def stylesheet(self, styles, has_math):
        """One render-blocking stylesheet per page instead of up to ~20 (first paint waited on each):
        palette, site, (demos + each used demo's css), (KaTeX's) concatenated in that cascade order,
        each part headed by its source file, which stays the one place to edit a rule. Named
        static/css/page.<sha256 prefix>.css, so pages with the same demos share one file and a new
        build never reads an old copy. -> its site path."""
        parts = ["static/css/palette.css", "static/css/site.css"]
        parts += ["static/css/demos.css", *styles] if styles else []
        parts += ["static/katex/katex.min.css"] if has_math else []
        chunks = []
        for rel in parts:
            src = self.files[rel]
            css = (src.read_bytes() if isinstance(src, Path) else src).decode("utf-8")
            if rel.startswith("static/katex/"):     # its url(fonts/...) is relative to static/katex/
                css = re.sub(r"url\((['\"]?)fonts/", r"url(\1../katex/fonts/", css)
            chunks.append(f"/* {rel} */\n{css.strip()}\n")
        data = "\n".join(chunks).encode("utf-8")
        rel = f"static/css/page.{hashlib.sha256(data).hexdigest()[:16]}.css"
        self.files[rel] = data
        return rel

    def render_chapter(self, ch, html_body, toc, by_slug, neighbours):
        root = "../"
        body = html_body
        for call in ch.demos:
            part = self.render_demo(ch, call, root)
            body = body.replace(f"<p>{call.token}</p>", part).replace(call.token, part)
        for m in ch.maths:
            if m.display:
                body = body.replace(f"<p>{m.token}</p>", f'<div class="math-display">{m.html}</div>')
            body = body.replace(m.token, m.html)
            toc = toc.replace(m.token, m.html)
        scripts, styles = self.demo_assets([c.name for c in ch.demos], root)
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
            has_math=bool(ch.maths), live="data-live-demo" in body, scripts=scripts,
            stylesheet=self.stylesheet(styles, bool(ch.maths)),
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
                   has_math=False, live=False, scripts=[], stylesheet=self.stylesheet([], False),
                   page={"title": "", "lang": lang})
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

    # ---------------------------------------------------------- static files

    def collect_static(self):
        """static/** as is; C1: every demos/NAME/*.js and demos/NAME/demo.css under static/demos/NAME/."""
        static = self.root / "static"
        if static.is_dir():
            for p in sorted(static.rglob("*")):
                if p.is_file() and not p.name.startswith(".") and "__pycache__" not in p.parts:
                    self.files[p.relative_to(self.root).as_posix()] = p
        for name in self.demo_names:
            folder = self.root / "demos" / name
            for p in sorted(folder.glob("*.js")) + sorted(folder.glob("demo.css")):
                self.files[f"static/demos/{name}/{p.name}"] = p
        self.files["static/css/palette.css"] = palette.css().encode("utf-8")   # C2, linked by base.html
