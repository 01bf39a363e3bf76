"""Command line: `nnviz build` (the whole site) and `nnviz serve` (127.0.0.1, rebuilds on change)."""
import argparse
import functools
import http.server
import sys
import threading
import time
from pathlib import Path

from .build import ROOT, build
from .common import NnvizError

WATCH = ("chapters", "templates", "demos", "static", "src/nnviz")


def main(argv=None):
    p = argparse.ArgumentParser(prog="nnviz", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="train (cached), analyse, export and render the site")
    b.add_argument("--out", default="site")
    s = sub.add_parser("serve", help="serve the site on 127.0.0.1 and rebuild when sources change")
    s.add_argument("--out", default="site")
    s.add_argument("--port", type=int, default=8000)
    args = p.parse_args(argv)
    out = Path(args.out).resolve()
    try:
        build(out)
    except Exception as e:     # errors we raise carry file:line and what was expected
        if isinstance(e, NnvizError) or type(e).__name__ in ("BuildError", "DataError", "DataUnavailable", "ModelError", "VendorError"):
            print(f"error: {e}", file=sys.stderr)
            return 1
        raise
    if args.cmd == "build":
        print(f"\nSite ready: open {out / 'index.html'}\n  or run `make serve` and visit http://127.0.0.1:8000/")
        return 0
    return serve(out, args.port)


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript"}

    def log_message(self, *a):
        pass


def snapshot():
    return {p: p.stat().st_mtime for d in WATCH for p in (ROOT / d).rglob("*") if p.is_file()}


def watch(out):
    """Poll the sources once a second; rebuild on change (a failed rebuild keeps the old site)."""
    seen = snapshot()
    while True:
        time.sleep(1)
        now = snapshot()
        if now != seen:
            seen = now
            try:
                build(out)
            except Exception as e:
                print(f"rebuild failed: {e}", file=sys.stderr)


def serve(out, port):
    threading.Thread(target=watch, args=(out,), daemon=True).start()
    handler = functools.partial(Handler, directory=str(out))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as httpd:
        print(f"serving {out} on http://127.0.0.1:{port}/ (Ctrl-C to stop)")
        try:
            httpd.serve_forever()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
