"""Build-time math: every formula of every chapter typeset in one KaTeX batch (one node process,
scripts/katex_render.mjs), so pages carry finished HTML + MathML and need no script for math.

KaTeX is found at $NNVIZ_KATEX_DIR, else <root>/node_modules/katex; node at $NNVIZ_NODE, else on
PATH. Only a build whose chapters contain math needs them.
"""
from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from .chapters import BuildError

REPO = Path(__file__).resolve().parents[2]            # fallback for scripts/ and node_modules/


def katex_paths(root):
    """(node, scripts/katex_render.mjs, the katex package folder); None for what is missing."""
    node = os.environ.get("NNVIZ_NODE") or shutil.which("node")
    script = next((p for p in (root / "scripts" / "katex_render.mjs", REPO / "scripts" / "katex_render.mjs")
                   if p.is_file()), None)
    candidates = [os.environ.get("NNVIZ_KATEX_DIR"), root / "node_modules" / "katex", REPO / "node_modules" / "katex"]
    katex = next((Path(p) for p in candidates if p and (Path(p) / "dist" / "katex.mjs").is_file()), None)
    return node, script, katex


def fallback(m):
    tag = "div" if m.display else "span"
    return f'<{tag} class="math-fallback"><code>{html.escape(m.tex)}</code></{tag}>'


def typeset(items, root, strict, problem, progress):
    """Fill `html` of every MathItem; return the KaTeX assets to publish {site path: bytes | Path}."""
    if not items:
        return {}
    node, script, katex = katex_paths(Path(root))
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
        if strict:
            raise BuildError(msg)
        progress(f"WARNING: {msg}; showing the TeX source instead")
        for m in items:
            m.html = fallback(m)
        return {}
    request = json.dumps({"items": [{"tex": m.tex, "display": m.display} for m in items], "strict": strict})
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
            dollars = "$$" if m.display else "$"
            problem(f"{m.rel}:{m.line}: math: {r['error']} (in {dollars}{m.tex}{dollars})")
        m.html = r.get("html") or f'<code class="math-fallback">{html.escape(m.tex)}</code>'
    progress(f"typeset {len(items)} formulas with KaTeX {reply.get('version', '?')}")
    return assets(katex)


def assets(katex):
    """katex.min.css (woff2 only: every browser that runs Pyodide reads it), its fonts, its licence."""
    dist = katex / "dist"
    css = (dist / "katex.min.css").read_text(encoding="utf-8")
    css = re.sub(r',\s*url\(fonts/[^)]+\.(?:woff|ttf)\)\s*format\("(?:woff|truetype)"\)', "", css)
    files = {"static/katex/katex.min.css": css.encode("utf-8")}
    for font in sorted((dist / "fonts").glob("*.woff2")):
        files[f"static/katex/fonts/{font.name}"] = font
    if (katex / "LICENSE").is_file():
        files["static/katex/LICENSE"] = katex / "LICENSE"
    return files
