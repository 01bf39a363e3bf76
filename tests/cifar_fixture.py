"""Archives in the exact layout of the official cifar-10-python.tar.gz, written by the tests.

    cifar-10-batches-py/data_batch_1 .. data_batch_5, test_batch   Python 2 pickles of dicts:
        data (N, 3072) uint8 rows (1024 red, 1024 green, 1024 blue, each a row-major 32x32 plane),
        labels [int], batch_label str, filenames [str]
    cifar-10-batches-py/batches.meta   {label_names [10 str], num_cases_per_batch, num_vis 3072}
    cifar-10-batches-py/readme.html

`write_archive(path, rows)` makes a tiny one from random pixels for unit tests. `full_archive()`
returns a full-size one (50,000 + 10,000 images) whose pictures a network can partly learn: each
class has its own sky/ground colours and its own shape in its own colour, placed and sized at
random, with noise; some backgrounds are swapped between classes and 40% of the pictures show no
object at all, so that neither the object nor the background alone gives every answer.
Airplanes and ships get blue skies/water, like the real photos. It is generated once per version
of the generator and cached under <repo>/.cache/tests/, a folder no real build reads.
Its pictures are made up: an accuracy measured on them is no result about CIFAR-10.
"""
from __future__ import annotations

import gzip
import hashlib
import inspect
import io
import os
import pickle
import shutil
import struct
import tarfile
from pathlib import Path

import numpy as np

from nnviz import cifar, data
from nnviz.common import atomic_write

REPO = Path(__file__).resolve().parents[1]
TEST_CACHE = REPO / ".cache" / "tests"
CLASSES = data.CLASSES["cifar10"]
BATCH = 10_000


class _Py2Pickler(pickle._Pickler):
    """Writes what Python 2's cPickle wrote: str and bytes are both 8-bit strings
    (SHORT_BINSTRING / BINSTRING), which is how the real MNIST and CIFAR pickles look."""

    dispatch = dict(pickle._Pickler.dispatch)

    def _save_str8(self, obj):
        raw = obj.encode("latin1") if isinstance(obj, str) else obj
        n = len(raw)
        if n < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([n]) + raw)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", n) + raw)
        self.memoize(obj)

    dispatch[bytes] = _save_str8
    dispatch[str] = _save_str8


def py2_dumps(obj) -> bytes:
    """Protocol-2 pickle as Python 2 + old numpy wrote it (numpy.core, 8-bit strings)."""
    f = io.BytesIO()
    _Py2Pickler(f, protocol=2).dump(obj)
    return f.getvalue().replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")


def to_rows(hwc: np.ndarray) -> np.ndarray:
    """(N, 32, 32, 3) HWC images -> (N, 3072) official rows (R plane, G plane, B plane)."""
    return np.ascontiguousarray(hwc.transpose(0, 3, 1, 2)).reshape(len(hwc), 3072)


def write_archive_from(path: Path, batches, compresslevel: int = 6) -> Path:
    """Write `batches` = 6 pairs (hwc (N, 32, 32, 3) uint8, labels) — 5 training, then the test
    batch — as an official-layout archive at `path` (atomically)."""
    names = [m.rsplit("/", 1)[1] for m in cifar.MEMBERS]

    def write(f):  # gzip mtime 0: the same batches give the same bytes (and md5) on every run
        with gzip.GzipFile(fileobj=f, mode="wb", compresslevel=compresslevel, mtime=0) as gz, \
                tarfile.open(fileobj=gz, mode="w") as tar:
            def add(name, payload):
                info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
                info.size, info.mode = len(payload), 0o644
                tar.addfile(info, io.BytesIO(payload))
            for i, (name, (hwc, labels)) in enumerate(zip(names, batches)):
                label = "testing batch 1 of 1" if name == "test_batch" else f"training batch {i + 1} of 5"
                files = [f"{CLASSES[c]}_s_{i * BATCH + j:06d}.png" for j, c in enumerate(labels)]
                add(name, py2_dumps({"batch_label": label, "labels": [int(c) for c in labels],
                                     "data": to_rows(hwc), "filenames": files}))
            add("batches.meta", py2_dumps({"num_cases_per_batch": len(batches[0][1]), "num_vis": 3072,
                                           "label_names": list(CLASSES)}))
            add("readme.html", b"<html><body>generated for tests</body></html>")
    atomic_write(path, write)
    return path


# ---------------------------------------------------------------- the tiny archive

def tiny_batches(rows=4, seed=1):
    """6 batches of `rows` random images each; returns (batches, all hwc images, all labels)."""
    rng = np.random.default_rng(seed)
    hwc = rng.integers(0, 256, (6 * rows, 32, 32, 3), dtype=np.uint8)
    labels = [int(v) for v in rng.integers(0, 10, 6 * rows)]
    batches = [(hwc[i * rows:(i + 1) * rows], labels[i * rows:(i + 1) * rows]) for i in range(6)]
    return batches, hwc, labels


def write_archive(path: Path, rows=4, seed=1) -> tuple[Path, np.ndarray, list[int]]:
    """A tiny cifar-10-python.tar.gz; returns (path, hwc images in file order, labels)."""
    batches, hwc, labels = tiny_batches(rows, seed)
    return write_archive_from(path, batches), hwc, labels


# ---------------------------------------------------------------- the full-size archive

# Per class: sky colour, ground colour, object colour (RGB 0..255) and shape.
STYLE = {   # only airplane and ship have blue skies / water; the others stand on grey, brown or green
    "airplane":   ((60, 110, 235), (80, 130, 235), (200, 200, 205), "cross"),
    "automobile": ((150, 150, 150), (80, 80, 85), (200, 40, 40), "box"),
    "bird":       ((175, 170, 160), (110, 140, 70), (120, 80, 40), "disk"),
    "cat":        ((170, 150, 120), (120, 100, 80), (210, 160, 90), "diamond"),
    "deer":       ((120, 150, 90), (90, 110, 50), (150, 100, 60), "vbar"),
    "dog":        ((160, 140, 110), (100, 120, 60), (90, 60, 40), "ring"),
    "frog":       ((80, 110, 50), (60, 90, 40), (60, 170, 50), "disk"),
    "horse":      ((150, 160, 120), (110, 130, 60), (110, 70, 40), "hbar"),
    "ship":       ((100, 140, 225), (20, 60, 190), (230, 230, 230), "hbar"),
    "truck":      ((165, 160, 150), (90, 90, 95), (220, 200, 60), "box"),
}


def _masks(shape: str, dy, dx, r):
    """(N, 32, 32) bool mask of `shape` centred at (16+dy, 16+dx) with size r (arrays (N,))."""
    yy, xx = np.mgrid[0:32, 0:32].astype(np.float32)
    y = yy[None] - (16 + dy)[:, None, None]
    x = xx[None] - (16 + dx)[:, None, None]
    r = r[:, None, None]
    if shape == "disk":
        return y * y + x * x <= r * r
    if shape == "ring":
        d = np.sqrt(y * y + x * x)
        return (d <= r) & (d >= 0.55 * r)
    if shape == "box":
        return (np.abs(y) <= 0.6 * r) & (np.abs(x) <= r)
    if shape == "diamond":
        return np.abs(y) + np.abs(x) <= r
    if shape == "hbar":
        return (np.abs(y) <= 0.3 * r) & (np.abs(x) <= 1.4 * r)
    if shape == "vbar":
        return (np.abs(x) <= 0.3 * r) & (np.abs(y) <= 1.4 * r)
    if shape == "cross":
        return ((np.abs(y) <= 0.25 * r) & (np.abs(x) <= 1.4 * r)) | ((np.abs(x) <= 0.25 * r) & (np.abs(y) <= r))
    raise ValueError(shape)


def synthetic_batch(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n made-up 'photos' (N, 32, 32, 3) uint8 and their labels (N,), balanced over the classes."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % 10).astype(np.uint8)
    styles = [STYLE[c] for c in CLASSES]
    # 10% of the images take another class's background: the network cannot rely on it alone
    back = np.where(rng.random(n) < 0.10, rng.integers(0, 10, n), labels)
    sky = np.array([s[0] for s in styles], np.float32)[back]
    ground = np.array([s[1] for s in styles], np.float32)[back]
    horizon = rng.uniform(14, 26, n).astype(np.float32)
    rows = np.arange(32, dtype=np.float32)
    t = np.clip((rows[None, :] - horizon[:, None]) / 3 + 0.5, 0, 1)[:, :, None, None]  # (N, 32, 1, 1)
    img = sky[:, None, None, :] * (1 - t) + ground[:, None, None, :] * t
    img = np.broadcast_to(img, (n, 32, 32, 3)).copy()
    dy, dx = (rng.uniform(-6, 6, (2, n))).astype(np.float32)
    r = rng.uniform(5, 10, n).astype(np.float32)
    colour = np.array([s[2] for s in styles], np.float32)[labels] * rng.uniform(0.7, 1.2, (n, 1)).astype(np.float32)
    hidden = rng.random(n) < 0.4   # 40% show no object, only their class's background: it matters
    for k, c in enumerate(CLASSES):
        sel = (labels == k) & ~hidden
        mask = _masks(STYLE[c][3], dy[sel], dx[sel], r[sel])
        part = img[sel]
        part[mask] = np.broadcast_to(colour[sel][:, None, None, :], part.shape)[mask]
        img[sel] = part
    img += rng.normal(0, 28, img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8), labels


def _generator_source() -> str:
    """The code and table that decide the archive's bytes (editing the rest of this file keeps it)."""
    parts = [_Py2Pickler, py2_dumps, to_rows, write_archive_from, _masks, synthetic_batch]
    return "\n".join(inspect.getsource(p) for p in parts) + repr((STYLE, BATCH, CLASSES))


def full_archive(cache: Path = TEST_CACHE) -> tuple[Path, str]:
    """(folder holding a full-size cifar-10-python.tar.gz, its md5). Generated once per version
    of the generator (the folder name carries a hash of its source) and reused by later runs."""
    key = hashlib.sha256(_generator_source().encode()).hexdigest()[:12]
    folder = cache / f"cifar10-generated-{key}"
    path = folder / cifar.ARCHIVE
    md5_file = folder / "md5"
    if not (path.is_file() and md5_file.is_file()):
        for old in cache.glob("cifar10-generated-*"):   # archives of earlier versions of this file
            shutil.rmtree(old, ignore_errors=True)
        batches = [synthetic_batch(BATCH, seed) for seed in range(6)]
        write_archive_from(path, batches, compresslevel=1)   # speed over size: read once per run
        atomic_write(md5_file, data.file_hash(path, "md5").encode())
    return folder, md5_file.read_text().strip()


# ---------------------------------------------------------------- a site root for CIFAR-only builds

def test_specs(epochs: int | None = None):
    """The table's CIFAR models; with `epochs`, the same specs trained for fewer epochs (test-only:
    the real table is never changed)."""
    import dataclasses
    from nnviz.specs import SPECS
    models = [s for s in SPECS if s.dataset == "cifar10"]
    return [dataclasses.replace(s, epochs=epochs) if epochs else s for s in models]


def make_root(base: Path, chapters: dict[str, str]) -> Path:
    """A build root under `base`: the repo's templates, demos, static, scripts, src and
    node_modules (linked) and chapters/<lang>/cifar.md from `chapters` {lang: markdown body}."""
    root = base / "root"
    for lang, body in chapters.items():
        (root / "chapters" / lang).mkdir(parents=True, exist_ok=True)
        (root / "chapters" / lang / "cifar.md").write_text(
            f"---\ntitle: CIFAR-10 ({lang})\norder: 1\n---\n\n{body}\n", encoding="utf-8")
    for name in ("templates", "demos", "static", "scripts", "src", "node_modules"):
        if not (root / name).exists():
            (root / name).symlink_to(REPO / name, target_is_directory=True)
    return root


def cifar_loader(folder: Path, md5: str, data_cache: Path):
    """load_data for build(): cifar10 from the generated `folder`, decoded once into `data_cache`
    (never the per-user cache a real build reads), with its md5 replacing the pin for this process
    only (callers in the test process restore it); any other dataset is refused."""
    def load(name):
        if name != "cifar10":
            raise data.DataUnavailable(f"{name}: not part of a CIFAR-only test build")
        saved = os.environ.get("NNVIZ_CACHE")
        os.environ["NNVIZ_CACHE"] = str(data_cache)
        try:
            return data.load("cifar10", data_dir=folder, progress=lambda *a: None)
        finally:
            os.environ.pop("NNVIZ_CACHE") if saved is None else os.environ.__setitem__("NNVIZ_CACHE", saved)
    cifar.MD5 = md5
    return load


def full_dataset() -> data.Dataset:
    """The full-size archive decoded through data.load, cached beside it (shared with the build
    tests, so the 180 MB archive is decoded once per version of the generator)."""
    saved = cifar.MD5
    try:
        folder, md5 = full_archive()
        return cifar_loader(folder, md5, folder / "cache")("cifar10")
    finally:
        cifar.MD5 = saved


# ---------------------------------------------------------------- the CIFAR section, built

TEST_EPOCHS = 3     # test-only: enough for templates with structure; the real table keeps its own


def cifar_passages(lang: str) -> str:
    """Every `::: if dataset=cifar10` block of the real chapter (with its `::: else`), in order: the
    CIFAR section exactly as the chapter writes it."""
    lines = (REPO / "chapters" / lang / "looking-inside.md").read_text(encoding="utf-8").split("\n")
    out, depth = [], 0
    for line in lines:
        if depth == 0 and line.strip() == "::: if dataset=cifar10":
            depth = 1
            out.append(line)
            continue
        if depth:
            out.append(line)
            if line.startswith(("::: if ", "::: note")):
                depth += 1
            elif line.strip() == ":::":
                depth -= 1
                if depth == 0:
                    out.append("")
    return "\n".join(out)


def build_site(out: Path, epochs: int = TEST_EPOCHS, runtime=True, progress=lambda *a: None) -> dict:
    """Build the CIFAR section of the real chapter (both languages) with the real demos, trained on
    the full-size generated archive: its own data cache and model cache beside the archive, never
    a real build's. Returns build()'s context. The md5 pin is restored afterwards."""
    from nnviz.build import build
    folder, md5 = full_archive()
    saved = cifar.MD5
    try:
        root = make_root(out.parent / f"{out.name}-root", {lang: cifar_passages(lang) for lang in ("en", "zh")})
        return build(out, root=root, specs=test_specs(epochs), load_data=cifar_loader(folder, md5, folder / "cache"),
                     cache=folder / "models", strict=True, runtime=runtime, progress=progress)
    finally:
        cifar.MD5 = saved
