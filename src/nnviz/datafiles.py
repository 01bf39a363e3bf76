"""What every dataset reader shares: its two errors, checksums, the restricted unpickler and the
label check. nnviz.data (MNIST, Fashion-MNIST, the cache) and nnviz.cifar import it; it imports neither."""
from __future__ import annotations

import hashlib
import os
import pickle
import zlib
from pathlib import Path

import numpy as np

from .common import NnvizError


class DataError(NnvizError):
    """A data file is corrupt, truncated or does not match its pinned checksum."""


class DataUnavailable(NnvizError):
    """A dataset cannot be had on this machine (not present and not downloadable)."""


def offline() -> bool:
    """NNVIZ_OFFLINE=1 forbids every network access (pip, apt-get, the CIFAR URL)."""
    return os.environ.get("NNVIZ_OFFLINE", "") not in ("", "0")


# ---------------------------------------------------------------- checksums

def file_hash(path: Path, algo: str = "sha256") -> str:
    """Hex digest of a file, read in 1 MiB chunks."""
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_hash(path: Path, algo: str, expected: str | None) -> None:
    """Raise DataError naming the file if its `algo` digest is not `expected` (None: skip)."""
    if expected is None:
        return
    actual = file_hash(path, algo)
    if actual != expected:
        raise DataError(f"{path}: wrong {algo}: expected {expected}, actual {actual}")


# ---------------------------------------------------------------- restricted unpickling

_np_reconstruct = np.ndarray.__reduce__(np.zeros(1))[0]  # numpy's _reconstruct, any version
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _np_reconstruct,  # as in Python 2 pickles
    ("numpy._core.multiarray", "_reconstruct"): _np_reconstruct,  # as numpy >= 2 writes it
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class SafeUnpickler(pickle.Unpickler):
    """Unpickler that can rebuild numpy arrays, dicts, lists and strings, and nothing else:
    any other global (os.system, builtins.eval, ...) is refused before it is looked up."""

    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing global {module}.{name}") from None


def safe_unpickle(f, source: str):
    """Unpickle a Python 2 pickle (encoding latin1, as numpy needs) from file object `f`.
    Any failure becomes a DataError naming `source`."""
    try:
        return SafeUnpickler(f, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError, OSError, zlib.error) as e:
        raise DataError(f"{source}: cannot unpickle: {e}") from e


# ---------------------------------------------------------------- labels

def labels_to_uint8(y, source: str) -> np.ndarray:
    """Integer labels (N,) → uint8 (N,), refusing anything outside 0..9."""
    y = np.asarray(y)
    if y.ndim != 1 or y.dtype.kind not in "iu" or (y.size and (y.min() < 0 or y.max() > 9)):
        raise DataError(f"{source}: labels must be integers 0..9 of shape (N,), "
                        f"got {y.dtype} {y.shape}")
    return y.astype(np.uint8)
