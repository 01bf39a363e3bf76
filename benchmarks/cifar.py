#!/usr/bin/env python3
"""What CIFAR-10 adds to a cold build, measured on the full-size generated archive.

The real archive is in no reachable registry, so this runs the real CIFAR models of the table
(nnviz.specs, unchanged epochs) on tests/cifar_fixture.full_archive(): 50,000 + 10,000 made-up
32x32 colour pictures in the official format. One `build()` in a fresh process, with an empty data
cache and an empty model cache in a temp folder, builds a site holding only the CIFAR demos:
decode + cache the archive, train cifar-softmax and cifar-h100, analyse, export, render. Its wall
time and peak resident memory (getrusage of the child) are what CIFAR adds to a cold build, plus
the few seconds any build spends vendoring the runtime and rendering.

Accuracies on made-up pictures say nothing about CIFAR-10 and are not reported.

    python benchmarks/cifar.py        writes benchmarks/cifar.json and prints a Markdown section
"""
from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_SECONDS, TARGET_BYTES = 180, 2 * 1024 ** 3
DEMOS = ["::: demo samples dataset=cifar10 model=cifar-softmax", "::: demo templates model=cifar-softmax",
         "::: demo confusion model=cifar-softmax", "::: demo hidden model=cifar-h100"]

CHILD = """
import sys
sys.path.insert(0, sys.argv[3])
import cifar_fixture as cf
from pathlib import Path
from nnviz.build import build
base = Path(sys.argv[1])
folder, md5 = Path(sys.argv[2]), sys.argv[4]
root = cf.make_root(base, {"en": sys.argv[5], "zh": sys.argv[5]})
build(base / "site", root=root, specs=cf.test_specs(), load_data=cf.cifar_loader(folder, md5, base / "data-cache"),
      cache=base / "models", strict=True)
"""


def bench_cifar() -> dict:
    sys.path.insert(0, str(REPO / "tests"))
    import cifar_fixture as cf
    t0 = time.perf_counter()
    folder, md5 = cf.full_archive()
    generate = time.perf_counter() - t0
    with tempfile.TemporaryDirectory(prefix="nnviz-cifar-bench-") as tmp:
        env = dict(os.environ, PYTHONUNBUFFERED="1",
                   OPENBLAS_NUM_THREADS=os.environ.get("OPENBLAS_NUM_THREADS", "1"))
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", CHILD, tmp, str(folder), str(REPO / "tests"), md5,
                                 "\n\n".join(DEMOS)], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, bufsize=1)
        lines = [(round(time.perf_counter() - t0, 1), line.rstrip()) for line in proc.stdout]
        wall = time.perf_counter() - t0
        if proc.wait():
            raise RuntimeError("CIFAR build failed:\n" + "\n".join(l for _, l in lines[-40:]))
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    log = "\n".join(f"{t:7.1f} s  {l}" for t, l in lines)
    train = training_seconds(lines)
    stages = {key: next((t for t, l in lines if l.strip().startswith(key)), None)
              for key in ("training", "analysing", "runtime:", "built")}
    return {"archive": str(folder / "cifar-10-python.tar.gz"), "generate_seconds": round(generate, 1),
            "cold_build_seconds": round(wall, 1), "peak_rss_bytes": peak, "train_seconds": train,
            "blas_threads": env["OPENBLAS_NUM_THREADS"], "cpus": os.cpu_count(), "load1_before": round(load, 2),
            "stages_started_at_seconds": stages, "met_time": wall <= TARGET_SECONDS, "met_memory": peak <= TARGET_BYTES,
            "log": log[-4000:]}


def training_seconds(lines):
    """Per model: from the line before its first epoch line to its last one (the progress log)."""
    spans, prev = {}, 0.0
    for t, line in lines:
        m = re.match(r"\s*(cifar-[\w-]+) epoch (\d+)/(\d+)", line)
        if m:
            start = spans.get(m.group(1), (prev, t))[0]
            spans[m.group(1)] = (start, t)
        prev = t
    return {name: round(end - start, 1) for name, (start, end) in spans.items()}


def markdown(r: dict) -> str:
    from nnviz.specs import SPECS
    ok = lambda b: "met" if b else "NOT met"
    targets = ", ".join(f"{s.name} ≥ {100 * s.target:.0f}%" for s in SPECS if s.dataset == "cifar10" and s.target)
    trained = ", ".join(f"{m} {s:.1f} s" for m, s in r["train_seconds"].items()) or "see log"
    return "\n".join([
        "## CIFAR-10 in a cold build (generated full-size archive)", "",
        f"Cold CIFAR-only build on {r['cpus']} cores, OPENBLAS_NUM_THREADS={r['blas_threads']}, load "
        f"{r['load1_before']} before: **{r['cold_build_seconds']:.0f} s** wall (target ≤ 180 s: "
        f"{ok(r['met_time'])}), peak memory **{r['peak_rss_bytes'] / 2**30:.2f} GiB** (target ≤ 2 GiB: "
        f"{ok(r['met_memory'])}). Training: {trained}. Generating the archive (once, cached): "
        f"{r['generate_seconds']:.0f} s. Stages started at (s): "
        + ", ".join(f"{k.rstrip(':')} {v}" for k, v in r["stages_started_at_seconds"].items()) + ".", "",
        "The pictures are made up (tests/cifar_fixture.py), so this measures cost only. The accuracy "
        f"targets ({targets}) need the real archive, which no reachable "
        "source carries: they are not measured here.", ""])


if __name__ == "__main__":
    result = bench_cifar()
    (REPO / "benchmarks" / "cifar.json").write_text(json.dumps(result, indent=1) + "\n")
    (REPO / "benchmarks" / "cifar.md").write_text(markdown(result))
    print(markdown(result))
