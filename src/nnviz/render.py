"""Render the chapters (Markdown + a few directives of our own) into the static site.

Stages, mkdocs-style: *read* every chapter (chapters.py) and parse it with our Markdown extension
(mdext.py), checking every name it uses; *typeset* all math in one KaTeX batch (katex.py); *render*
every page in memory (pages.py); *check* every page (checks.py); only then *write* into `out`.
Strict mode turns every problem into one BuildError listing them all, each as `path/to/file.md:LINE: what`.
"""
from __future__ import annotations

from pathlib import Path

from . import katex
from .chapters import BuildError, parse_args, parse_front_matter, read_chapters  # noqa: F401 (the API)
from .checks import check_page
from .common import atomic_write
from .pages import Site
from .strings import index_path


def render_site(root: Path, out: Path, context: dict, strict: bool = True, progress=print) -> list[Path]:
    """Render chapters/, templates/, demos/ and static/ of `root` into `out`; return the files written.

    `context`: {"models": {name: entry}, "vars": nested values for {{ a.b }}, "data": free dict for
    demos (data.datasets: the datasets this build loaded, for `::: if dataset=NAME`), "missing": [dataset
    names the build could not get]}.
    Files the build already wrote into `out` (data/...) are checked, never touched. Nothing is
    written unless every page rendered and passed its checks (strict mode).
    """
    site = Site(root, out, context, strict, progress)
    chapters = read_chapters(site.root, site.langs, site.problem)
    site.collect_static()
    converted = {ch.out_path: site.convert(ch) for ch in chapters}
    site.check_problems()
    site.files.update(katex.typeset([m for ch in chapters for m in ch.maths], site.root, strict,
                                    site.problem, progress))
    site.check_problems()
    pages = render_pages(site, chapters, converted)
    site.check_problems()
    for out_path, (page, ch) in pages.items():
        check_page(site, out_path, page, ch)
    site.check_problems()
    written = []
    for rel in sorted(site.files):
        src = site.files[rel]
        written.append(atomic_write(site.out / rel, src.read_bytes() if isinstance(src, Path) else src))
    progress(f"rendered {len(chapters)} chapters ({', '.join(f'{sum(c.lang == l for c in chapters)} {l}' for l in site.langs)}), "
             f"{sum(len(c.demos) for c in chapters)} demos, {len(written)} files")
    return written


def render_pages(site, chapters, converted):
    """{out_path: (html, chapter or None)}: every chapter with its neighbours, and each language's index."""
    by_slug = {}
    for ch in chapters:
        by_slug.setdefault(ch.slug, {})[ch.lang] = ch
    slugs = sorted(by_slug, key=lambda s: (min(c.order for c in by_slug[s].values()), s))
    pages = {}
    for lang in site.langs:
        seq = sorted((c for c in chapters if c.lang == lang), key=lambda c: (c.order, c.slug))
        for k, ch in enumerate(seq):
            neighbours = (seq[k - 1] if k else None, seq[k + 1] if k + 1 < len(seq) else None)
            pages[ch.out_path] = (site.render_chapter(ch, *converted[ch.out_path], by_slug, neighbours), ch)
        pages[index_path(lang)] = (site.render_index(lang, slugs, by_slug), None)
    for out_path, (page, _) in pages.items():
        site.files[out_path] = page.encode("utf-8")
    return pages
