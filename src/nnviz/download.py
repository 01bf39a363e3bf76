"""Download one file over HTTP(S): progress bar, timeout, resume after a cut, md5 check, atomic rename.

Standard library only. The bytes go to `.<name>.part` beside the destination; a cut connection
keeps them, and the next attempt (in this call, or a later run) asks for the rest with an HTTP
Range request. Only a complete file with the expected md5 is renamed to its final name, so a
reader never sees a partial or wrong file under that name.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import re
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from .common import NnvizError

CHUNK = 1 << 16
CUT = "connection cut before the end of the file"


class DownloadFailed(NnvizError):
    """The server could not be reached or kept cutting the connection (the .part file is kept)."""


class ChecksumMismatch(NnvizError):
    """The complete download has the wrong md5 (the bytes are deleted: resuming cannot fix them)."""


def download(url: str, dest: Path, md5: str, timeout: float = 10.0, attempts: int = 4,
             progress=print) -> Path:
    """Fetch `url` into `dest`, resuming a `.part` file left by a cut; returns dest.
    timeout: seconds for the connection and for each read. attempts: connections tried in all."""
    dest = Path(dest)
    part = dest.parent / f".{dest.name}.part"
    dest.parent.mkdir(parents=True, exist_ok=True)
    why = ""
    for _ in range(attempts):
        try:
            if _fetch(url, part, timeout, progress):
                break
            why = CUT
        except (OSError, http.client.HTTPException) as e:  # URLError, timeouts, resets, short reads
            why = _reason(e)
        progress(f"  {dest.name}: {why}; {part.stat().st_size if part.exists() else 0:,} bytes kept, retrying")
    else:
        raise DownloadFailed(f"{url}: {why} (after {attempts} attempts; {part} kept for the next run)")
    actual = _md5(part)
    if actual != md5:
        part.unlink()
        raise ChecksumMismatch(f"{url}: wrong md5: expected {md5}, actual {actual} (download deleted)")
    os.replace(part, dest)
    return dest


def _fetch(url, part, timeout, progress) -> bool:
    """One connection: append what the server sends to `part`. True once the file is complete."""
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:   # nothing left to send: the .part is already whole
            return True
        raise
    with response:
        resumed = response.status == 206
        if have and not resumed:      # the server ignored Range: start again from byte 0
            have = 0
        total = _total(response, have)
        bar = Bar(part.name.lstrip(".").removesuffix(".part"), total, have, progress)
        with open(part, "ab" if resumed else "wb") as out:
            while chunk := response.read(CHUNK):
                out.write(chunk)
                bar.update(len(chunk))
        bar.close()
        return total is None or bar.done >= total


def _total(response, have) -> int | None:
    """Full file size from Content-Range (resumed) or Content-Length (fresh), None if not sent."""
    m = re.search(r"/(\d+)$", response.headers.get("Content-Range", ""))
    if m:
        return int(m.group(1))
    length = response.headers.get("Content-Length")
    return have + int(length) if length and length.isdigit() else None


def _reason(e) -> str:
    if isinstance(e, http.client.IncompleteRead):
        return CUT
    return str(getattr(e, "reason", "") or e) or type(e).__name__


def _md5(path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Bar:
    """`name  12.3/170.5 MB  7%  4.1 MB/s  ETA 0:36`: redrawn in place on a terminal, else one
    line per tenth of the file through `progress` (build logs stay short)."""

    def __init__(self, name, total, start, progress, stream=sys.stderr):
        self.name, self.total, self.done, self.start = name, total, start, start
        self.progress, self.stream, self.t0 = progress, stream, time.monotonic()
        self.tty = getattr(stream, "isatty", lambda: False)()
        self.tenth = -1

    def line(self) -> str:
        speed = (self.done - self.start) / max(time.monotonic() - self.t0, 1e-6)
        text = f"{self.name}  {self.done / 1e6:.1f}"
        if self.total:
            left = (self.total - self.done) / speed if speed > 0 else 0
            text += (f"/{self.total / 1e6:.1f} MB  {100 * self.done / self.total:.0f}%  {speed / 1e6:.1f} MB/s"
                     f"  ETA {int(left) // 60}:{int(left) % 60:02d}")
        else:
            text += f" MB  {speed / 1e6:.1f} MB/s"
        return text

    def update(self, n):
        self.done += n
        if self.tty:
            self.stream.write("\r" + self.line())
            self.stream.flush()
            return
        tenth = int(10 * self.done / self.total) if self.total else self.done >> 24
        if tenth != self.tenth:
            self.tenth = tenth
            self.progress("  " + self.line())

    def close(self):
        if self.tty:
            self.stream.write("\n")
