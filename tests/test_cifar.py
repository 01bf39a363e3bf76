"""CIFAR-10 end to end below the browser: the official archive format (on archives the tests write
with tests/cifar_fixture.py), the loader, and the download (progress, resume after a cut, md5,
atomic rename) against a local HTTP server on 127.0.0.1. No test leaves the machine."""
import hashlib
import http.server
import io
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest

from nnviz import cifar, data, download

import cifar_fixture as cf


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Own data cache per test, offline unless a test serves the archive itself."""
    monkeypatch.setenv("NNVIZ_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("NNVIZ_OFFLINE", "1")


# ---------------------------------------------------------------- the official format

def test_cifar_archive_official_layout(tmp_path):
    path, hwc, labels = cf.write_archive(tmp_path / cifar.ARCHIVE, rows=4)
    with tarfile.open(path) as tar:
        assert sorted(tar.getnames()) == sorted([*cifar.MEMBERS, cifar.META,
                                                 "cifar-10-batches-py/readme.html"])
    (x_tr, y_tr, x_te, y_te), names = cifar.read_archive(path, expected_md5=md5(path))
    assert x_tr.shape == (20, 32, 32, 3) and x_te.shape == (4, 32, 32, 3)
    assert np.array_equal(x_tr, hwc[:20]) and np.array_equal(x_te, hwc[20:])
    assert y_tr.tolist() == labels[:20] and y_te.tolist() == labels[20:]
    assert names == data.CLASSES["cifar10"]


def test_cifar_channel_order_is_rgb_hwc(tmp_path):
    """A row's first 1024 bytes are red: pixel (r, c) red = row[32 r + c]."""
    path, hwc, _ = cf.write_archive(tmp_path / cifar.ARCHIVE, rows=2)
    (x_tr, *_), _ = cifar.read_archive(path, expected_md5=None)
    flat = cf.to_rows(hwc)
    assert x_tr[0, 1, 2, 0] == flat[0, 32 + 2]
    assert x_tr[0, 1, 2, 1] == flat[0, 1024 + 32 + 2]
    assert x_tr[0, 1, 2, 2] == flat[0, 2048 + 32 + 2]


def test_load_cifar_through_load(tmp_path, monkeypatch):
    path, hwc, _ = cf.write_archive(tmp_path / cifar.ARCHIVE, rows=3)
    monkeypatch.setattr(cifar, "MD5", md5(path))    # in-process only; the real pin is untouched
    ds = data.load("cifar10", data_dir=tmp_path, progress=lambda s: None)
    assert ds.x_train.shape == (15, 32, 32, 3) and ds.classes[0] == "airplane"
    path.unlink()  # second load comes from the cache, checked against its stored digest
    assert data.load("cifar10", data_dir=tmp_path, progress=lambda s: None).digest == ds.digest


def test_real_builds_keep_the_official_md5(tmp_path):
    """The pin is the official file's md5, and a generated archive fails it with a clear message."""
    assert cifar.MD5 == "c58f30108f718f92721af3b95e74349a"
    path, _, _ = cf.write_archive(tmp_path / cifar.ARCHIVE)
    with pytest.raises(data.DataError, match=rf"{cifar.ARCHIVE}: wrong md5: expected "
                                             rf"{cifar.MD5}, actual {md5(path)}"):
        data.load("cifar10", data_dir=tmp_path, progress=lambda s: None)


def test_cifar_missing_member(tmp_path):
    path = tmp_path / cifar.ARCHIVE
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("cifar-10-batches-py/batches.meta")
        tar.addfile(info, io.BytesIO(b""))
    with pytest.raises(data.DataError, match="missing archive member.*data_batch_1"):
        cifar.read_archive(path, expected_md5=None)


def test_missing_cifar_is_unavailable_with_reason(tmp_path):
    with pytest.raises(data.DataUnavailable) as e:
        data.load("cifar10", data_dir=tmp_path, progress=lambda s: None)
    msg = str(e.value)
    assert msg.startswith("CIFAR-10 skipped: official archive cifar-10-python.tar.gz not found")
    assert str(tmp_path) in msg and "NNVIZ_OFFLINE" in msg
    assert not data.available("cifar10", data_dir=tmp_path)


def test_full_size_generated_archive():
    """The cached full-size archive: official batch sizes, every class 6,000 times, and classes
    that differ on average (what a network can learn from)."""
    ds = cf.full_dataset()
    x_tr, y_tr, x_te, y_te = ds.x_train, ds.y_train, ds.x_test, ds.y_test
    assert cifar.MD5 == "c58f30108f718f92721af3b95e74349a"     # the pin is back
    assert x_tr.shape == (50000, 32, 32, 3) and x_te.shape == (10000, 32, 32, 3)
    assert np.bincount(np.concatenate([y_tr, y_te]), minlength=10).tolist() == [6000] * 10
    border = np.ones((32, 32), bool)
    border[4:-4, 4:-4] = False
    blue = lambda k: x_te[y_te == k][:, border].astype(float).mean(axis=(0, 1))  # mean RGB of the border
    sky = {k: blue(k) for k in range(10)}
    assert sky[0][2] > sky[0][0] + 40 and sky[8][2] > sky[8][0] + 40     # airplane, ship: blue edges
    assert sky[3][2] < sky[3][0]                                          # cat: not


# ---------------------------------------------------------------- download from 127.0.0.1

class Server:
    """Serves `payload` at /cifar-10-python.tar.gz with HTTP Range support; `cut_first` makes the
    first response announce the whole file but stop after half of it and close."""

    def __init__(self, payload: bytes, cut_first=False, honour_range=True):
        self.payload, self.cut, self.honour_range, self.requests = payload, cut_first, honour_range, []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests.append(self.headers.get("Range"))
                start = 0
                rng = self.headers.get("Range")
                if rng and outer.honour_range:
                    start = int(rng.split("=")[1].split("-")[0])
                    if start >= len(outer.payload):
                        self.send_response(416)
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(outer.payload) - 1}/{len(outer.payload)}")
                else:
                    self.send_response(200)
                body = outer.payload[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if outer.cut:
                    outer.cut = False
                    self.wfile.write(body[:len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/{cifar.ARCHIVE}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    path, _, _ = cf.write_archive(tmp_path_factory.mktemp("src") / cifar.ARCHIVE, rows=100)
    return path.read_bytes()


@pytest.fixture
def serve():
    servers = []

    def start(payload, **kw):
        servers.append(Server(payload, **kw))
        return servers[-1]
    yield start
    for s in servers:
        s.close()


def test_download_resumes_after_a_cut(tmp_path, archive, serve):
    server = serve(archive, cut_first=True)
    lines = []
    dest = download.download(server.url, tmp_path / "dl" / cifar.ARCHIVE,
                             hashlib.md5(archive).hexdigest(), progress=lines.append)
    assert dest.read_bytes() == archive
    assert server.requests == [None, f"bytes={len(archive) // 2}-"]    # the rest, not all again
    assert [p.name for p in dest.parent.iterdir()] == [cifar.ARCHIVE]  # no .part left
    assert any("retrying" in l for l in lines)
    bars = [l for l in lines if "MB/s" in l]
    assert bars and "ETA" in bars[-1] and f"/{len(archive) / 1e6:.1f} MB  100%" in bars[-1]


def test_download_resumes_a_part_left_by_an_earlier_run(tmp_path, archive, serve):
    server = serve(archive)
    dest = tmp_path / cifar.ARCHIVE
    (tmp_path / f".{cifar.ARCHIVE}.part").write_bytes(archive[:1000])
    download.download(server.url, dest, hashlib.md5(archive).hexdigest(), progress=lambda s: None)
    assert dest.read_bytes() == archive and server.requests == ["bytes=1000-"]


def test_download_restarts_when_the_server_ignores_range(tmp_path, archive, serve):
    server = serve(archive, honour_range=False)
    dest = tmp_path / cifar.ARCHIVE
    (tmp_path / f".{cifar.ARCHIVE}.part").write_bytes(b"x" * 1000)   # stale bytes must not stay
    download.download(server.url, dest, hashlib.md5(archive).hexdigest(), progress=lambda s: None)
    assert dest.read_bytes() == archive


def test_download_wrong_checksum_leaves_nothing(tmp_path, archive, serve):
    server = serve(archive)
    with pytest.raises(download.ChecksumMismatch, match=rf"wrong md5: expected {'0' * 32}, "
                                                        rf"actual {hashlib.md5(archive).hexdigest()}"):
        download.download(server.url, tmp_path / cifar.ARCHIVE, "0" * 32, progress=lambda s: None)
    assert list(tmp_path.iterdir()) == []


def test_download_gives_up_with_the_part_kept(tmp_path, archive, serve):
    server = serve(archive)
    server.httpd.RequestHandlerClass.do_GET = lambda self: (self.send_response(200), self.send_header(
        "Content-Length", str(len(archive))), self.end_headers(), self.wfile.write(archive[:100]))
    with pytest.raises(download.DownloadFailed, match=r"connection cut before the end of the file \(after 2 attempts; .*\.part kept"):
        download.download(server.url, tmp_path / cifar.ARCHIVE, "0" * 32, attempts=2, progress=lambda s: None)
    assert [p.name for p in tmp_path.iterdir()] == [f".{cifar.ARCHIVE}.part"]


def test_load_downloads_from_the_url(tmp_path, archive, serve, monkeypatch):
    """data.load with no archive on disk fetches it, checks it against the (test-replaced) pin,
    renames it into the data folder and decodes it."""
    server = serve(archive, cut_first=True)
    monkeypatch.delenv("NNVIZ_OFFLINE")
    monkeypatch.setattr(cifar, "URL", server.url)
    monkeypatch.setattr(cifar, "MD5", hashlib.md5(archive).hexdigest())
    ds = data.load("cifar10", data_dir=tmp_path / "dl", progress=lambda s: None)
    assert ds.x_train.shape == (500, 32, 32, 3) and (tmp_path / "dl" / cifar.ARCHIVE).read_bytes() == archive


def test_load_with_a_wrong_download_skips_cifar(tmp_path, archive, serve, monkeypatch):
    """The official pin against a generated archive: CIFAR-10 is skipped with the reason, nothing kept."""
    server = serve(archive)
    monkeypatch.delenv("NNVIZ_OFFLINE")
    monkeypatch.setattr(cifar, "URL", server.url)
    with pytest.raises(data.DataUnavailable, match=rf"not downloadable here .*wrong md5: expected {cifar.MD5}"):
        data.load("cifar10", data_dir=tmp_path / "dl", progress=lambda s: None)
    assert list((tmp_path / "dl").iterdir()) == []
