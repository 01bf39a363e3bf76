"""CIFAR-10 from the official cifar-10-python.tar.gz (md5-pinned): read without extracting it,
or downloaded once (nnviz.download) when this machine can reach it. It is in no reachable package
registry, so a build without it says so and goes on (nnviz.build.OPTIONAL).

Shapes: x_train (50000, 32, 32, 3) / x_test (10000, 32, 32, 3) HWC RGB uint8; y_* (N,) uint8 in 0..9.
"""
from __future__ import annotations

import tarfile
import zlib
from pathlib import Path

import numpy as np

from . import download
from .datafiles import DataError, DataUnavailable, check_hash, labels_to_uint8, offline, safe_unpickle

ARCHIVE = "cifar-10-python.tar.gz"
MD5 = "c58f30108f718f92721af3b95e74349a"
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
MEMBERS = tuple(f"cifar-10-batches-py/data_batch_{i}" for i in range(1, 6)) + (
    "cifar-10-batches-py/test_batch",)
META = "cifar-10-batches-py/batches.meta"


def _get(d: dict, key: str, source: str):
    """d[key] for a batch dict whose keys may be str (latin1) or bytes."""
    for k in (key, key.encode()):
        if k in d:
            return d[k]
    raise DataError(f"{source}: no '{key}' entry")


def _batch(d, source: str) -> tuple[np.ndarray, np.ndarray]:
    """One batch dict → x uint8 (N, 32, 32, 3) HWC, y uint8 (N,). Rows of b'data' are
    3072 bytes: 1024 red, 1024 green, 1024 blue, each a row-major 32×32 plane."""
    if not isinstance(d, dict):
        raise DataError(f"{source}: expected a dict, got {type(d).__name__}")
    data, labels = _get(d, "data", source), _get(d, "labels", source)
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
            or data.shape[1] != 3072:
        raise DataError(f"{source}: 'data' must be uint8 (N, 3072), got "
                        f"{getattr(data, 'dtype', type(data).__name__)} {getattr(data, 'shape', '')}")
    y = labels_to_uint8(np.asarray(labels, dtype=np.int64), source)
    if len(y) != len(data):
        raise DataError(f"{source}: {len(data)} images but {len(y)} labels")
    x = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(x), y


def read_archive(path: Path, expected_md5: str | None = MD5
                       ) -> tuple[tuple[np.ndarray, ...], tuple[str, ...]]:
    """Read the official cifar-10-python.tar.gz without extracting it to disk.
    Returns ((x_train (50000, 32, 32, 3), y_train, x_test (10000, 32, 32, 3), y_test), names)
    (fewer rows for a smaller archive in the same format). expected_md5=None skips the check."""
    path = Path(path)
    check_hash(path, "md5", expected_md5)
    try:
        with tarfile.open(path, "r:gz") as tar:
            def member(name):
                f = tar.extractfile(name)  # KeyError if absent
                if f is None:
                    raise DataError(f"{path}: {name} is not a regular file")
                with f:
                    return safe_unpickle(f, f"{path}:{name}")
            batches = [_batch(member(m), f"{path}:{m}") for m in MEMBERS]
            meta = member(META)
    except KeyError as e:
        raise DataError(f"{path}: missing archive member {e}") from e
    except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path}: cannot read archive: {e}") from e
    names = _get(meta, "label_names", f"{path}:{META}") if isinstance(meta, dict) else None
    if not isinstance(names, list) or len(names) != 10:
        raise DataError(f"{path}:{META}: expected 10 label_names, got {names!r:.80}")
    names = tuple(n.decode() if isinstance(n, bytes) else str(n) for n in names)
    x_train = np.concatenate([b[0] for b in batches[:5]])
    y_train = np.concatenate([b[1] for b in batches[:5]])
    return (x_train, y_train, *batches[5]), names


def _download(dest: Path, progress, timeout: float = 10.0) -> str:
    """Fetch the official archive into dest (progress bar, resume, md5, atomic rename; see
    nnviz.download). Returns why it failed ('' on success): the build then skips CIFAR-10."""
    if offline():
        return "NNVIZ_OFFLINE is set"
    progress(f"cifar10: downloading {URL} ({timeout:.0f} s timeout)...")
    try:
        download.download(URL, dest / ARCHIVE, MD5, timeout=timeout, progress=progress)
        return ""
    except (download.DownloadFailed, download.ChecksumMismatch) as e:
        return str(e)


def derive(data_dir: Path, progress) -> tuple[tuple[np.ndarray, ...], tuple[str, ...], Path]:
    """The official archive from data_dir, else one quick download try, else DataUnavailable."""
    archive = data_dir / ARCHIVE
    if not archive.is_file():
        why = _download(data_dir, progress)
        if why:
            raise DataUnavailable(
                f"CIFAR-10 skipped: official archive {ARCHIVE} not found in {data_dir} "
                f"and not downloadable here ({why}). It is in no reachable package registry; "
                f"put the official file (md5 {MD5}) there to enable it.")
    progress(f"cifar10: reading {archive}")
    arrays, names = read_archive(archive, MD5)
    return arrays, names, archive
