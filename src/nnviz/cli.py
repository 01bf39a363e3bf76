"""Command line: `nnviz build` (the whole site) and `nnviz serve` (127.0.0.1, rebuilds on change)."""
import argparse
import sys
from pathlib import Path

from .build import ROOT, build
from .common import NnvizError
from .forward import ModelError    # forward.py imports numpy and the standard library only


def main(argv=None):
    p = argparse.ArgumentParser(prog="nnviz", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="train (cached), analyse, export and render the site")
    s = sub.add_parser("serve", help="serve the site on 127.0.0.1 and rebuild when sources change")
    s.add_argument("--port", type=int, default=8000)
    for cmd in (b, s):
        cmd.add_argument("--out", default="site")
    args = p.parse_args(argv)
    out = Path(args.out).resolve()
    try:
        if args.cmd == "serve":
            from .serve import serve
            return serve(out, ROOT, args.port)
        build(out)
    except (NnvizError, ModelError) as e:     # ours carry file:line and what was expected
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    print(f"\nSite ready in {out}: run `make serve` and visit http://127.0.0.1:8000/\n"
          "  (or serve that folder with any web server; opened as a file, the live demos cannot run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
