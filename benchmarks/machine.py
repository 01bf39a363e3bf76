"""The machine the bench runs on, and the helpers every part shares (log, medians, BLAS threads)."""
from __future__ import annotations

import contextlib
import ctypes
import datetime
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HERE = REPO / "benchmarks"
try:
    import nnviz  # noqa: F401
except ImportError:  # a clone without `pip install -e .`
    sys.path.insert(0, str(REPO / "src"))

import numpy as np  # noqa: E402

from nnviz.specs import SPECS  # noqa: E402

TRAIN_MODELS = ("mnist-softmax", "mnist-h10", "mnist-h16x16", "mnist-h30", "mnist-h300-l2")
LIVE_FALLBACK = ("mnist-h16x16", "mnist-softmax")
CHAPTER = "en/looking-inside.html"
PARTS = ("training", "warm", "browser", "startup", "cold", "cold1")   # run in this order; "build" = warm + cold + cold1
CHROMIUM = "/usr/bin/chromium"
TOL = 1e-6

# Targets from the issues (2: speed and accuracy, 3: runtime, 5: drawing lab).
TARGETS = {
    "train_ratio": 1.5,          # numpy time / PyTorch CPU time, per model (issue 2: "aim <= 1.5x")
    "cold_build_s": 180.0,       # cold `make site`, data and packages cached (issue 2)
    "warm_build_s": 3.0,         # warm rebuild after editing one chapter (issue 2)
    "predict_median_ms": 1.0,    # nnviz.predict worker round trip, mnist-h16x16 (issue 3)
    "draw_median_ms": 16.0,      # pointer event -> repaint, drawing lab (issue 5)
    "answer_cold_ms": 3000,      # deep link to the lab -> first live answer (issue 13)
    "answer_second_ms": 1500,    # the same on a second visit
    "above_floor_ms": 500,       # ... at most this much above the bare Pyodide + numpy floor
    "bytes_cold": 9e6,           # bytes sent for a first visit with the runtime
    "bytes_second": 200e3,       # ... and for a second visit
    "text_visible_ms": 500,      # first contentful paint
    "long_task_ms": 50,          # longest main-thread task before the first answer
}
ACCURACY_TARGETS = {s.name: s.target for s in SPECS if s.target is not None}   # Spec.target, the one list

T0 = time.perf_counter()



def log(msg):
    print(f"[bench {time.perf_counter() - T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


def loadavg():
    return [round(x, 2) for x in os.getloadavg()]


def median(xs):
    return float(statistics.median(xs)) if xs else None


def pctl(xs, q):
    """Nearest-rank percentile (q in 0..100)."""
    s = sorted(xs)
    return float(s[min(len(s) - 1, max(0, int(np.ceil(q / 100 * len(s))) - 1))]) if s else None


# =============================================================================== machine

def _openblas():
    """(ctypes handle, file name) of the OpenBLAS that numpy's wheel bundles in numpy.libs, or None."""
    libs = Path(np.__file__).parent.parent / "numpy.libs"
    for lib in sorted(libs.glob("*openblas*")):
        with contextlib.suppress(OSError):
            return ctypes.CDLL(str(lib)), lib.name   # already loaded by numpy: the same library instance
    return None, None


def _blas_fn(kind):
    handle, _ = _openblas()
    for prefix in ("scipy_openblas", "openblas"):
        for suffix in ("64_", ""):
            fn = getattr(handle, f"{prefix}_{kind}_num_threads{suffix}", None) if handle else None
            if fn is not None:
                return fn
    return None


def blas_threads():
    """Threads of numpy's BLAS, asked from the library itself: (threads, library name)."""
    fn = _blas_fn("get")
    if fn is not None:
        fn.restype = ctypes.c_int
        return int(fn()), _openblas()[1]
    env = os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS")
    return (int(env) if env else os.cpu_count()), "unknown BLAS (threads from environment / cpu count)"


def set_blas_threads(n):
    fn = _blas_fn("set")
    if fn is None:
        raise RuntimeError("cannot set numpy's BLAS threads (no OpenBLAS found in numpy.libs)")
    fn(ctypes.c_int(n))


def run_text(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def machine():
    cpu = None
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = None
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = round(int(line.split()[1]) / 2**20, 1)
    info = {"cpu": cpu or platform.processor(), "cores": os.cpu_count(), "ram_gib": ram,
            "os": platform.platform(), "python": platform.python_version(), "numpy": np.__version__,
            "numpy_blas": None, "numpy_blas_threads": None, "torch": None, "torch_threads": None,
            "chromium": run_text([CHROMIUM, "--version"]) if Path(CHROMIUM).exists() else None,
            "playwright": None, "node": run_text(["node", "--version"]),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    info["numpy_blas_threads"], info["numpy_blas"] = blas_threads()
    with contextlib.suppress(ImportError):
        import torch
        info["torch"] = torch.__version__
    with contextlib.suppress(Exception):
        from importlib.metadata import version
        info["playwright"] = version("playwright")
    return info


