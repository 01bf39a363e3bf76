#!/usr/bin/env python3
"""`make bench`: measure nnviz against peers in the same run; write benchmarks/report.{json,md}.

Three parts, each timed on this machine in this one run, with the machine described in the report
(CPU, cores, RAM, versions, date, load average before and after every part — the numbers are only
as quiet as the machine was):

1. training   each MNIST model of the table (nnviz.specs) trained by nnviz.train.train (numpy) and
              by the same network in PyTorch CPU: same layer sizes, activation, initial weights
              (drawn by the same seeded numpy generator), input standardisation, minibatch order,
              Adam (same betas/eps), L2 on weights only, learning-rate decay, batch size and
              epochs (capped at --epochs for both, so the whole bench fits in ~10 min). numpy's
              BLAS and torch get the same number of threads (--threads, default 1: on this 2-core
              machine, shared with other jobs, 2 spinning threads per side measured the scheduler,
              not the libraries — 10x slower and erratic for both; both defaults are reported).
              Runs alternate numpy-first / torch-first per model and repeat --reps times; the
              report gives medians and numpy/torch time ratios.
2. build      of a copy of the sources in a temp folder (the repository, .cache/ and site/ are never
              touched), each build in a fresh process as `make site` runs it:
              warm: a copy of the repo's .cache, one priming build, then rebuilds after appending a
              space to one chapter; cold (run last): a fresh, empty NNVIZ_MODEL_CACHE, so every
              model is trained and analysed (data and npm packages cached), stopped after
              --cold-timeout seconds if still running and then reported as a lower bound.
3. browser    Debian's Chromium (Playwright, executable_path=/usr/bin/chromium) on a temp copy of
              the built site served on 127.0.0.1: navigation -> first contentful paint and ->
              window.nnviz.ready; bytes transferred for the English chapter with runtime/ blocked
              and with the runtime loaded; pointer -> repaint latency of the drawing labs
              (measure_draw_latency from tests/browser/test_draw.py); and, on a bench-only page
              (benchmarks/page.html, copied into the temp site only), nnviz.predict latency for each
              live model against a plain-JavaScript forward pass of the same .npz weights
              (benchmarks/peer.js), in a worker (same round trip as Pyodide's) and on the main
              thread, after checking both agree with Pyodide (and CPython) within 1e-6.

    python benchmarks/run.py                       everything (what `make bench` runs)
    python benchmarks/run.py --only browser        one part (training|warm|browser|cold|build);
                                                   the other parts of an existing report.json are kept
    python benchmarks/run.py --epochs 2 --reps 3   training budget
"""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path


from training import bench_training
from build import bench_warm, bench_cold
from browser import bench_browser
import startup
from report import evaluate_targets, markdown
from machine import CHAPTER, HERE, PARTS, REPO, T0, loadavg, log, machine


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=PARTS + ("build",), action="append",
                    help="run only this part (repeatable; build = warm + cold + cold1)")
    ap.add_argument("--epochs", type=int, default=2, help="epoch cap for the training comparison (default 2)")
    ap.add_argument("--reps", type=int, default=3, help="runs per side per model (default 3)")
    ap.add_argument("--threads", type=int, default=1,
                    help="threads for numpy's BLAS and for torch alike in the training comparison "
                         "(default 1; 0 = numpy's BLAS default)")
    ap.add_argument("--warm", type=int, default=3, help="warm rebuilds (default 3)")
    ap.add_argument("--calls", type=int, default=200, help="predict calls per model after warm-up (default 200)")
    ap.add_argument("--warmup", type=int, default=30, help="predict warm-up calls (default 30)")
    ap.add_argument("--load-runs", type=int, default=3, help="page loads (default 3)")
    ap.add_argument("--startup-runs", type=int, default=5,
                    help="fresh contexts for the floor / first answer / second visit (default 5)")
    ap.add_argument("--site", type=Path, default=None,
                    help="site for the browser part (default: the warm build's output, else <repo>/site)")
    ap.add_argument("--cold-timeout", type=float, default=450,
                    help="stop the cold build after this many seconds and report the lower bound (default 450)")
    ap.add_argument("--cold-blas-threads", type=int, default=1,
                    help="then a second cold build with OPENBLAS_NUM_THREADS set to this (default 1; 0 = skip it)")
    ap.add_argument("--budget", type=float, default=720,
                    help="the second cold build gets at most what is left of this many seconds (default 720)")
    ap.add_argument("--build-timeout", type=float, default=900, help="limit for the priming and warm builds")
    ap.add_argument("--out", type=Path, default=HERE, help="folder for report.json / report.md")
    args = ap.parse_args(argv)
    parts = set(args.only or PARTS)
    if "build" in parts:
        parts |= {"warm", "cold", "cold1"}
    if args.cold_blas_threads <= 0:
        parts.discard("cold1")

    report_path = args.out / "report.json"
    report = {}
    if args.only and report_path.exists():   # keep the parts not rerun
        with contextlib.suppress(ValueError):
            report = json.loads(report_path.read_text())
    report["machine"] = machine()
    report["load"] = {"start": loadavg()}
    report["settings"] = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    report.setdefault("errors", {})
    report.setdefault("build", {})
    log(f"machine: {report['machine']['cpu']}, {report['machine']['cores']} cores; load {report['load']['start']}")
    with tempfile.TemporaryDirectory(prefix="nnviz-bench-") as tmp:
        tmp = Path(tmp)
        built = None
        for part in PARTS:
            if part not in parts:
                continue
            report["load"][part] = loadavg()
            report.setdefault("measured", {})[part] = report["machine"]["date"]   # when each part last ran
            report["errors"].pop(part, None)
            t0 = time.perf_counter()
            try:
                if part == "training":
                    report["training"] = bench_training(args.epochs, args.reps, args.threads)
                elif part == "warm":
                    report["build"]["warm"], built = bench_warm(tmp, args.warm, args.build_timeout)
                elif part == "cold":
                    report["build"]["cold"] = bench_cold(tmp, args.cold_timeout)
                elif part == "cold1":
                    left = args.budget - (time.perf_counter() - T0)
                    if left < 60:
                        raise RuntimeError(f"skipped: {args.budget:.0f} s budget spent (--budget)")
                    report["build"]["cold1"] = bench_cold(tmp, min(args.cold_timeout, left), args.cold_blas_threads)
                else:
                    site = args.site or built or REPO / "site"
                    if not (site / CHAPTER).is_file():
                        raise RuntimeError(f"no built site at {site}: run `make site` first")
                    if part == "startup":
                        report["startup"] = startup.bench(tmp, site, args.startup_runs)
                    else:
                        report["browser"] = bench_browser(tmp, site, args.calls, args.warmup, args.load_runs)
            except Exception as e:  # one failed part must not lose the others' numbers
                import traceback
                traceback.print_exc()
                report["errors"][part] = f"{type(e).__name__}: {e}"
                (report["build"] if part in ("warm", "cold", "cold1") else report).pop(part, None)
            log(f"{part}: {time.perf_counter() - t0:.1f} s")
    report["load"]["end"] = loadavg()
    report["duration_seconds"] = round(time.perf_counter() - T0, 1)
    if not report["errors"]:
        report.pop("errors")
    if not report["build"]:
        report.pop("build")
    report["targets"] = evaluate_targets(report)
    args.out.mkdir(parents=True, exist_ok=True)
    report_path.write_text(json.dumps(report, indent=1, sort_keys=False) + "\n")
    (args.out / "report.md").write_text(markdown(report))
    log(f"wrote {report_path} and {args.out / 'report.md'} in {report['duration_seconds']:.0f} s")
    missed = [t["what"] for t in report["targets"] if not t["met"]]
    print(f"\n{len(report['targets']) - len(missed)}/{len(report['targets'])} targets met"
          + ("; missed: " + "; ".join(missed) if missed else ""))
    return 1 if report.get("errors") else 0


if __name__ == "__main__":
    sys.exit(main())

