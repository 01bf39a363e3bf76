"""Checks on every rendered page before anything is written: no inline script (the CSP would block
it), unique ids, every local link and load resolves, and nothing is loaded from outside the site
(src, href, poster, srcset, inline style url(...), <meta http-equiv="refresh">).

A problem names the chapter line holding the offending text, else the page's own line.
"""
from __future__ import annotations

import posixpath
import re
from html.parser import HTMLParser

REMOTE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^//")
CSS_URL = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)""", re.I)
REFRESH_URL = re.compile(r"""^\s*\d*\s*[;,]?\s*(?:url\s*=\s*)?(['"]?)(.*?)\1\s*$""", re.I)


class PageScan(HTMLParser):
    """Collects ids, URLs (tag, attribute, url, page line) and inline scripts or handlers of one page."""

    URL_ATTRS = ("href", "src", "poster")

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids, self.urls, self.inline_scripts = [], [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        line = self.getpos()[0]
        if a.get("id") is not None:
            self.ids.append(a["id"])
        if tag == "script" and not a.get("src"):
            self.inline_scripts.append(("script", line))
        if any(k.startswith("on") for k in a):
            self.inline_scripts.append((f"{tag} on...= handler", line))
        for k, v in attrs:
            if v is None:
                continue
            if k in self.URL_ATTRS or (tag == "object" and k == "data"):
                if tag == "a" and k != "href":
                    continue
                self.urls.append((tag, k, v.strip(), line))
            elif k in ("srcset", "imagesrcset"):
                for candidate in v.split(","):
                    if candidate.strip():
                        self.urls.append((tag, k, candidate.split()[0], line))
            elif k == "style":
                self.urls += [(tag, k, m.group(2).strip(), line) for m in CSS_URL.finditer(v)]
            if k == "href" and v.strip().lower().startswith("javascript:"):
                self.inline_scripts.append((f"{tag} javascript: URL", line))
        if tag == "meta" and a.get("http-equiv", "").lower() == "refresh":
            m = REFRESH_URL.match(a.get("content") or "")
            self.urls.append((tag, "http-equiv=refresh", m.group(2) if m and m.group(2) else "", line))

    handle_startendtag = handle_starttag


def check_page(site, out_path, page, chapter):
    """Report every problem of one rendered page through site.problem."""
    parser = PageScan()
    parser.feed(page)
    parser.close()
    page_dir = posixpath.dirname(out_path)

    def where(needle, line):
        if chapter is not None and needle:
            for k in range(chapter.body_start, len(chapter.source)):
                if needle in chapter.source[k]:
                    return f"{chapter.rel}:{k + 1}: page {out_path}"
        return f"{out_path}:{line}: page {out_path} (from its template or a demo partial)"

    for tag, line in parser.inline_scripts:
        site.problem(f"{where(None, line)}: inline <{tag}> on line {line} of the page; pages run under a CSP "
                     f"that blocks it: put the code in demos/NAME/demo.js or static/js/")
    dup = sorted({i for i in parser.ids if parser.ids.count(i) > 1})
    if dup:
        site.problem(f"{where(dup[0], 1)}: duplicate id(s) {', '.join(dup)}")
    for tag, attr, url, line in parser.urls:
        if tag == "meta":
            site.problem(f"{where('http-equiv', line)}: <meta http-equiv=\"refresh\"> sends the reader to "
                         f"{url or 'this page again'}; pages must not redirect: link to it instead")
            continue
        if REMOTE.match(url):
            if tag != "a" and not url.startswith(("data:", "blob:")):
                site.problem(f"{where(url, line)}: <{tag} {attr}=\"{url}\"> loads from outside the site; "
                             f"the site must work offline: copy the file into static/ or data/")
            continue
        path, _, frag = url.partition("#")
        path = path.split("?")[0]
        if not path:
            if frag and frag not in parser.ids:
                site.problem(f"{where('#' + frag, line)}: link to '#{frag}', but the page has no such id")
            continue
        target = posixpath.normpath(posixpath.join(page_dir, path))
        if target.startswith("../"):
            site.problem(f"{where(path, line)}: <{tag} {attr}=\"{url}\"> points outside the site")
        elif not (target in site.files or (site.out / target).is_file()):
            hint = ""
            if path in site.files or (site.out / path).is_file():
                up = "../" * page_dir.count("/") + ("../" if page_dir else "")
                hint = f" (links in a page are relative to it: did you mean {up}{path}?)"
            site.problem(f"{where(path, line)}: <{tag} {attr}=\"{url}\"> points to {target}, which the build "
                         f"does not produce{hint}")
