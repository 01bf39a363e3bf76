"""What every build stage shares: the one error base class and the one atomic file write.

Standard library only, so any module (and the browser package) may import it.
"""
import os
import tempfile
from pathlib import Path


class NnvizError(Exception):
    """An error the user can act on: its message names the file (and line) and what was expected.
    `nnviz build` prints it as one line instead of a traceback."""


_UMASK = os.umask(0o022)
os.umask(_UMASK)


def atomic_write(path, data):
    """Write `data` (bytes, or a callable taking a binary file object) to a temp file beside
    `path`, then rename it into place: readers never see half a file, a crash leaves none."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)    # as open() would: mkstemp's 0600 hides site files from web servers
        with os.fdopen(fd, "wb") as f:
            data(f) if callable(data) else f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def pct(x, digits=1):
    """Percent text that never rounds a p < 1 up to 100% nor a p > 0 down to 0% (as format.js)."""
    text, step = f"{100 * x:.{digits}f}%", 10.0 ** -digits
    if x < 1 and float(text[:-1]) >= 100:
        return f">{100 - step:.{digits}f}%"
    if x > 0 and float(text[:-1]) <= 0:
        return f"<{step:.{digits}f}%"
    return text
