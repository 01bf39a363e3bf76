"""Languages and UI strings: which languages the site has, and every string a page shows.

- The languages are the folders of `chapters/` (English first: it is the site's default and its
  index lives at the root; every other language's index is `<lang>/index.html`).
- Site-wide strings live in `templates/i18n.toml` (templates see them as `t`), class names under
  its `[<lang>.classes]` (full names) and `[<lang>.labels]` (short names for tables and galleries);
  each demo keeps its own in `demos/<name>/strings.toml` (its partial sees them as `s`).
- A strings file has one table per language, every language the same keys (nested tables and
  lists alike) and the same `{placeholders}` in each string; a gap is a one-line error naming the
  file, line and key. Adding a language means adding `chapters/<lang>/` and one table per file.
"""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

from markupsafe import Markup, escape

from .common import NnvizError

DEFAULT = "en"
LANG_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]+)*$")     # BCP 47-like folder names: en, zh, pt-BR
PLACEHOLDER = re.compile(r"\{([A-Za-z_]\w*)\}")


class StringsError(NnvizError):
    """A strings file or a language folder is malformed. The message starts with `path:LINE: `."""


def languages(root) -> tuple[str, ...]:
    """The folders of `chapters/`, the default language first (just the default when there are none)."""
    base = Path(root) / "chapters"
    found = sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []
    for name in found:
        if not LANG_RE.match(name):
            raise StringsError(f"chapters/{name}/:1: '{name}' is not a language code; expected a folder like en, zh or pt-BR")
    return tuple([DEFAULT] + [n for n in found if n != DEFAULT])


def index_path(lang) -> str:
    """Where a language's index page lives in the site."""
    return "index.html" if lang == DEFAULT else f"{lang}/index.html"


def load(path, rel, langs) -> dict:
    """{lang: table} from one strings file, checked: every language present, the same keys and
    placeholders in each (the first language is the reference)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
        table = tomllib.loads(text)
    except FileNotFoundError:
        raise StringsError(f"{rel}:1: missing; expected a table of strings per language ({', '.join(langs)})") from None
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+)", str(e))
        raise StringsError(f"{rel}:{m.group(1) if m else 1}: {e}") from None
    lines = text.splitlines()
    for lang in langs:
        if not isinstance(table.get(lang), dict):
            raise StringsError(f"{rel}:1: no [{lang}] table; chapters/{lang}/ needs one in every strings file")
    ref = langs[0]
    for lang in langs[1:]:
        for problem, key in _differences(table[ref], table[lang]):
            raise StringsError(f"{rel}:{_line_of(lines, lang, key)}: [{lang}] {problem} '{key}' (as [{ref}] has it)")
    return {lang: table[lang] for lang in langs}


def _differences(ref, other, prefix=""):
    """(problem, dotted key) for each way `other` is not shaped like `ref`."""
    for k in ref:
        key = f"{prefix}{k}"
        if k not in other:
            yield "lacks", key
            continue
        a, b = ref[k], other[k]
        if isinstance(a, dict) != isinstance(b, dict) or isinstance(a, list) != isinstance(b, list):
            yield "has another kind of value at", key
        elif isinstance(a, dict):
            yield from _differences(a, b, key + ".")
        elif isinstance(a, list) and len(a) != len(b):
            yield f"has {len(b)} items, not {len(a)}, in", key
        elif isinstance(a, str) and set(PLACEHOLDER.findall(a)) != set(PLACEHOLDER.findall(str(b))):
            yield "has other {placeholders} than", key
    for k in other:
        if k not in ref:
            yield "has a key no other language has:", f"{prefix}{k}"


def _line_of(lines, lang, key):
    """The line of `key` inside the [lang] table (1 when it is not written there)."""
    last = key.split(".")[-1]
    inside = False
    for n, line in enumerate(lines, 1):
        s = line.strip()
        if s.startswith("["):
            inside = s.strip("[]").split(".")[0].strip() == lang
        elif inside and re.match(rf'"?{re.escape(last)}"?\s*=', s):
            return n
    return next((n for n, line in enumerate(lines, 1) if line.strip() == f"[{lang}]"), 1)


def site_strings(root, langs) -> dict:
    """{lang: strings} of templates/i18n.toml."""
    return load(Path(root) / "templates" / "i18n.toml", "templates/i18n.toml", langs)


def demo_strings(root, langs) -> dict:
    """{demo name: {lang: strings}} for every demos/<name>/strings.toml."""
    return {p.parent.name: load(p, f"demos/{p.parent.name}/strings.toml", langs)
            for p in sorted((Path(root) / "demos").glob("*/strings.toml"))}


def fill(text, **values):
    """Jinja filter: `s.caption|fill(n=3)` puts each value in place of its `{name}`, HTML-escaped;
    placeholders not given stay (the demo's JS may fill them)."""
    out = escape(text)
    for k, v in values.items():
        out = out.replace("{" + k + "}", escape(v))
    return Markup(out)


def model_title(t, model):
    """The reader-facing name of `model` (a models.json entry) in the language of `t` (that
    language's templates/i18n.toml table): its `[<lang>.models]` entry, else `model_generic` with
    its layers. The one place model names for readers come from; ids stay out of the prose."""
    names = t["models"]
    text = names.get(model["name"]) or names["model_generic"]
    return (text.replace("{arch}", "-".join(str(n) for n in model["layers"]))
                .replace("{subset}", f"{model.get('train_subset') or 0:,}"))


SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def neuron(index, plain=False):
    """A hidden neuron's name for readers, the one numbering of the site: 1-based, "h₅" for the
    neuron at index 4 (plain=True: "h5", for alt texts and aria labels)."""
    n = str(int(index) + 1)
    return "h" + (n if plain else n.translate(SUBSCRIPT))


class PerLanguage:
    """A chapter variable whose text depends on the page's language (a class name, say);
    the renderer picks `value[lang]`. Not a dict, so variable listings treat it as one value."""

    def __init__(self, by_lang):
        self.by_lang = dict(by_lang)

    def __getitem__(self, lang):
        return self.by_lang[lang]

    def __repr__(self):
        return f"PerLanguage({self.by_lang!r})"
