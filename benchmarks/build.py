"""Part 2: warm and cold builds of a copy of the sources, each in a fresh process."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time

from machine import ACCURACY_TARGETS, REPO, log, median

# =============================================================================== 2. build

BUILD_SNIPPET = """import sys
from pathlib import Path
from nnviz.build import build
build(Path(sys.argv[1]), root=Path(sys.argv[2]))
"""
SOURCES = ("chapters", "templates", "demos", "static", "scripts", "src")


def copy_sources(root):
    """The repo's build inputs, copied (node_modules linked) so a chapter can be edited safely."""
    root.mkdir(parents=True)
    for d in SOURCES:
        shutil.copytree(REPO / d, root / d, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for f in ("package.json", "package-lock.json", "pyproject.toml"):
        if (REPO / f).exists():
            shutil.copy2(REPO / f, root / f)
    (root / "node_modules").symlink_to(REPO / "node_modules", target_is_directory=True)


def run_build(out, root, cache, label, timeout, extra_env=None):
    """One `nnviz build` in a fresh process (as `make site` runs it); streams its log. A build still
    running after `timeout` seconds is killed and reported as such (a lower bound, not a failure)."""
    env = dict(os.environ, NNVIZ_MODEL_CACHE=str(cache), PYTHONUNBUFFERED="1", **(extra_env or {}))
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", BUILD_SNIPPET, str(out), str(root)], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    lines, timed_out = [], threading.Event()

    def stop():
        timed_out.set()
        proc.kill()
    killer = threading.Timer(timeout, stop)
    killer.start()
    try:
        for line in proc.stdout:
            line = line.rstrip("\n")
            lines.append(line)
            if label.startswith(("cold", "prime")) and ("done in" in line or line.startswith(("training", "analysing", "built"))):
                log(f"  [{label}] {line.strip()}")
        rc = proc.wait()
    finally:
        killer.cancel()
    wall = time.perf_counter() - t0
    text = "\n".join(lines)
    total = re.search(r"training (\d+) models", text)
    trained = [l.split()[0] for l in lines if re.search(r"done in [0-9.]+ s$", l)]
    info = {"wall_seconds": round(wall, 2), "build_seconds": None, "models_trained": len(trained),
            "models_total": int(total.group(1)) if total else None, "load1_before": round(load, 2),
            "completed": rc == 0}
    if timed_out.is_set():
        info.update(wall_seconds=round(timeout, 1), stopped_after_seconds=round(timeout, 1))
        return info
    if rc != 0:
        raise RuntimeError(f"{label} build failed (exit {rc}) after {wall:.1f} s:\n" + "\n".join(lines[-30:]))
    m = re.search(r"built .* in ([0-9.]+) s", text)
    info["build_seconds"] = float(m.group(1)) if m else None
    return info


def site_models(out):
    models = json.loads((out / "data" / "models.json").read_text())
    return [{"model": m["name"], "test_accuracy": m["test_accuracy"], "train_seconds": m.get("train_seconds"),
             "epochs": m.get("epochs"), "target": ACCURACY_TARGETS.get(m["name"]),
             "met": (m["test_accuracy"] >= ACCURACY_TARGETS[m["name"]]) if m["name"] in ACCURACY_TARGETS else None}
            for m in models]


def bench_warm(tmp, warm_reps, timeout):
    """Warm rebuilds: the sources copied to a temp root, the repo's model/analysis cache (.cache)
    copied beside them, one priming build (trains only what that cache lacks), then `warm_reps`
    times: append a space to the English chapter (in the copy) and rebuild."""
    root, cache, out = tmp / "src-copy", tmp / "warm-cache", tmp / "warm" / "site"
    if not root.exists():
        copy_sources(root)
    if (REPO / ".cache").is_dir():
        shutil.copytree(REPO / ".cache", cache, ignore=shutil.ignore_patterns("*.tmp"))
    out.parent.mkdir(parents=True)
    log(f"build: priming build with a copy of {REPO / '.cache'}")
    prime = run_build(out, root, cache, "prime", timeout)
    if not prime["completed"]:
        raise RuntimeError(f"priming build still running after {timeout:.0f} s ({prime['models_trained']} models trained)")
    log(f"  priming build: {prime['wall_seconds']:.1f} s, {prime['models_trained']} models trained")
    chapter = root / "chapters" / "en" / "looking-inside.md"
    warm = []
    for i in range(warm_reps):
        with open(chapter, "a", encoding="utf-8") as f:  # the temp copy: the repo's chapter is untouched
            f.write(" ")
        warm.append(run_build(out, root, cache, "warm", timeout))
        log(f"  warm rebuild {i + 1}/{warm_reps}: {warm[-1]['wall_seconds']:.2f} s wall "
            f"({warm[-1]['build_seconds']} s inside build())")
    models = site_models(out)
    return {"prime": prime, "runs": warm,
            "wall_median": median([w["wall_seconds"] for w in warm]),
            "build_median": median([w["build_seconds"] for w in warm if w["build_seconds"] is not None]),
            "edit": "appended a space to chapters/en/looking-inside.md (in a temp copy of the sources)",
            "site_models": models,
            "sum_train_seconds": round(sum(m["train_seconds"] or 0 for m in models), 1)}, out


def bench_cold(tmp, timeout, blas_threads=None):
    """Cold build: the same sources, a fresh empty NNVIZ_MODEL_CACHE (every model trained and
    analysed), data and npm packages cached. Stopped after `timeout` s (reported as a lower bound).
    blas_threads: run the build with OPENBLAS_NUM_THREADS set to it (the variant), else as is."""
    tag = "cold" if blas_threads is None else f"cold-blas{blas_threads}"
    root, cache, out = tmp / "src-copy", tmp / f"{tag}-cache", tmp / tag / "site"
    if not root.exists():
        copy_sources(root)
    out.parent.mkdir(parents=True)
    env = {} if blas_threads is None else {"OPENBLAS_NUM_THREADS": str(blas_threads)}
    log(f"build: {tag} (empty model cache{', OPENBLAS_NUM_THREADS=%d' % blas_threads if env else ''}), "
        f"stopped after {timeout:.0f} s if still running")
    cold = run_build(out, root, cache, tag, timeout, env)
    cold["env"] = env
    log(f"  {tag} build: {cold['wall_seconds']:.1f} s wall, {cold['models_trained']}/{cold['models_total']} models trained"
        + ("" if cold["completed"] else " — STOPPED (time limit)"))
    if cold["completed"]:
        models = site_models(out)
        cold["sum_train_seconds"] = round(sum(m["train_seconds"] or 0 for m in models), 1)
        cold["train_seconds"] = {m["model"]: m["train_seconds"] for m in models}
    return cold

