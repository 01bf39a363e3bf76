"""The whole build, end to end, on a tiny configuration (mkdocs-style inline fixture trees).

A temp repo root holds two tiny chapters (en + zh) that use real demos, plus symlinks to the real
templates/, static/, demos/, scripts/, src/ and node_modules/. Two small networks are trained on a
small synthetic 28x28 dataset called "mnist"; a third model needs "cifar10", which the loader
says is unavailable. Each build takes about a second, runtime included.

Covered here (issue 7, "Reliability and security tests"): exports and their shapes, the cache
(a warm build trains and analyses nothing), determinism (clean builds in separate processes with
different hash seeds give byte-identical folders), atomicity (an exception or a SIGKILL midway
leaves the previous site intact; the next build removes what a killed build left behind), and
bad input at the level of `nnviz build` (a clear `error: <file>...` and exit status 1, never a
traceback). Render-level and loader-level errors have their own tests (test_render.py,
test_data.py, test_forward.py); this file checks each kind once through the CLI.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import signal
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nnviz import analyse as an
from nnviz import build as nb
from nnviz import cli, data, export, train
from nnviz.cache import content_digest
from nnviz import forward as fw
from nnviz.specs import Spec

REPO = Path(__file__).resolve().parents[1]
LINKED = ("templates", "static", "demos", "scripts", "src", "node_modules")
HAS_RUNTIME = (REPO / "node_modules" / "pyodide" / "package.json").is_file()

SPECS = [
    Spec("tiny-softmax", "mnist", (), epochs=3, lr=5e-3, batch=64, l2=1e-4),
    Spec("tiny-h8", "mnist", (8,), epochs=3, lr=5e-3, batch=64),
    Spec("tiny-cifar", "cifar10", (), epochs=1),
]
N_TRAIN, N_TEST = 400, 200

EN = """\
---
title: A tiny chapter
summary: Built by tests/test_build.py.
order: 1
---
The network without a hidden layer reads {{ acc.tiny_softmax }} of the {{ n.mnist_test }} test
images correctly; the one with 8 hidden units has {{ params.tiny_h8 }} weights and biases.

## Templates

::: demo templates model=tiny-softmax

::: demo confusion model=tiny-softmax

## Drawing

::: demo draw model=tiny-h8

::: figure src=data/tiny-h8/w1/0.png alt="Input weights of hidden unit 0" caption="Hidden unit 0"

## Photographs

::: demo samples dataset=cifar10 model=tiny-cifar
"""

ZH = """\
---
title: 一个很小的章节
summary: 由 tests/test_build.py 构建。
order: 1
---
没有隐藏层的网络在 {{ n.mnist_test }} 张测试图像上的准确率是 {{ acc.tiny_softmax }}。

## 模板

::: demo templates model=tiny-softmax

::: demo draw model=tiny-h8
"""


# --------------------------------------------------------------------------- the tiny config

def tiny_dataset(name="mnist", seed=0):
    """A learnable 28x28 uint8 dataset: class k is a bright bar on rows 2k+3..2k+5, plus noise."""
    rng = np.random.default_rng(seed)
    n = N_TRAIN + N_TEST
    y = (np.arange(n) % 10).astype(np.uint8)
    rng.shuffle(y)
    x = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
    for i, k in enumerate(y):
        r = 3 + 2 * int(k) + int(rng.integers(0, 2))
        x[i, r:r + 2, 4:24] = rng.integers(180, 256, (2, 20))
    xtr, ytr, xte, yte = x[:N_TRAIN], y[:N_TRAIN], x[N_TRAIN:], y[N_TRAIN:]
    return data.Dataset(name, xtr, ytr, xte, yte, data.CLASSES[name], data.array_digest(xtr, ytr, xte, yte))


def tiny_load(name):
    if name == "cifar10":
        raise data.DataUnavailable("CIFAR-10 skipped: official archive cifar-10-python.tar.gz not found "
                                   "(tests/test_build.py)")
    return tiny_dataset(name)


def make_root(base: Path, chapters=None) -> Path:
    """A repo root: our chapters, the real everything else (symlinked)."""
    root = base / "root"
    root.mkdir(parents=True)
    for name in LINKED:
        if (REPO / name).exists():
            (root / name).symlink_to(REPO / name, target_is_directory=True)
    for rel, text in (chapters or {"en/tiny.md": EN, "zh/tiny.md": ZH}).items():
        p = root / "chapters" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return root


class FakeClock:
    """train.py measures train_seconds with the wall clock, and the site shows them. A clock that
    ticks 0.25 s per call makes them reproducible, so any other difference is a real one."""

    def __init__(self):
        self.t = 0.0

    def perf_counter(self):
        self.t += 0.25
        return self.t


def tiny_build(out, root, cache, runtime=HAS_RUNTIME, load_data=tiny_load, specs=SPECS):
    """nnviz.build.build on the tiny config. Returns (context, log lines)."""
    logs = []
    ctx = nb.build(out, root=root, specs=specs, load_data=load_data, cache=cache, runtime=runtime,
                   progress=logs.append)
    return ctx, logs


def snapshot(folder: Path) -> dict[str, str]:
    """{relative path: sha256} of every file under folder."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def leftovers(out: Path) -> list[str]:
    """Temp or old folders a build left beside `out`."""
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def cli_build(monkeypatch, capsys, out, root, cache, **kw):
    """`nnviz build --out OUT` on the tiny config; returns (exit status, stdout, stderr)."""
    monkeypatch.setattr(cli, "build", functools.partial(
        nb.build, root=root, specs=kw.get("specs", SPECS), load_data=kw.get("load_data", tiny_load),
        cache=cache, runtime=kw.get("runtime", False), progress=kw.get("progress", lambda *a: None)))
    status = cli.main(["build", "--out", str(out)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_clean_error(status, err, *needles):
    """Exit status 1 and one `error: ...` message (which may span lines), no traceback."""
    assert status == 1, err
    assert "Traceback" not in err, err
    starts = [i for i, line in enumerate(err.splitlines()) if line.startswith("error: ")]
    assert len(starts) == 1, err
    message = "\n".join(err.splitlines()[starts[0]:])
    for needle in needles:
        assert needle in message, f"{needle!r} not in:\n{message}"


# --------------------------------------------------------------------------- a subprocess build

CHILD = """\
import sys
sys.path.insert(0, {tests!r})
import test_build
test_build.child(*sys.argv[1:])
"""


def child(mode, out, root, cache, marker=""):
    """Entry point of the subprocess builds (determinism and SIGKILL tests).
    mode: build (with FakeClock) | hang-render (stop after rendering into the temp folder) |
    hang-swap (stop between the two renames of the swap)."""
    def hang(*_):
        Path(marker).write_text(str(os.getpid()))
        print("HANGING", flush=True)      # kill_when_marked reads this line: no polling, no sleep
        signal.pause()                    # until the test's SIGKILL

    train.time = FakeClock()
    if mode == "hang-render":
        from nnviz import render
        real = render.render_site
        render.render_site = lambda *a, **k: (real(*a, **k), hang())
    elif mode == "hang-swap":
        real_rename, calls = os.rename, []

        def rename(a, b):
            real_rename(a, b)
            calls.append(b)
            if len(calls) == 1 and ".old-" in str(b):
                hang()
        nb.os.rename = rename
    tiny_build(Path(out), Path(root), Path(cache), runtime=mode == "build" and HAS_RUNTIME)


def run_child(mode, out, root, cache, marker=None, hash_seed="0", wait=True):
    env = dict(os.environ, PYTHONHASHSEED=hash_seed, PYTHONDONTWRITEBYTECODE="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    args = [sys.executable, "-c", CHILD.format(tests=str(Path(__file__).parent)), mode, str(out), str(root),
            str(cache), str(marker or "")]
    if wait:
        r = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600, check=False)
        assert r.returncode == 0, r.stderr[-3000:]
        return r
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def kill_when_marked(proc, marker: Path):
    """Block until the child says it reached its hang point (or ends), then SIGKILL it."""
    for line in proc.stdout:
        if line.strip() == "HANGING":
            break
    else:
        proc.wait(timeout=60)
        raise AssertionError(f"the build ended (status {proc.returncode}) before its hang point:\n"
                             f"{proc.stderr.read()[-3000:]}")
    assert marker.exists()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    proc.stdout.close()
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL


# --------------------------------------------------------------------------- end to end

@pytest.fixture(scope="module")
def built(tmp_path_factory):
    base = tmp_path_factory.mktemp("e2e")
    root = make_root(base)
    out, cache = base / "site", base / "cache"
    ctx, logs = tiny_build(out, root, cache)
    return out, root, cache, ctx, logs


def test_models_json_lists_every_available_model(built):
    out, *_ = built
    models = json.loads((out / "data" / "models.json").read_text())
    assert [m["name"] for m in models] == ["tiny-softmax", "tiny-h8"]
    for m, spec in zip(models, SPECS):
        assert m["dataset"] == "mnist"
        assert m["layers"] == spec.layers and m["activation"] == spec.activation
        assert m["epochs"] == spec.epochs
        assert 0.0 <= m["train_accuracy"] <= 1.0
        assert 0.5 < m["test_accuracy"] <= 1.0, m          # the bars are learnable in 3 epochs
        assert isinstance(m["train_seconds"], (int, float)) and m["train_seconds"] >= 0
        assert m["params"] == sum(a * b + b for a, b in zip(spec.layers[:-1], spec.layers[1:]))
        assert m["classes"] == list(data.CLASSES["mnist"])
        model = fw.load(out / m["file"], name=m["file"])       # the browser's model file
        assert model.layers == spec.layers


def test_analysis_json_shapes(built):
    out, *_ = built
    for name in ("tiny-softmax", "tiny-h8"):
        a = json.loads((out / "data" / name / "analysis.json").read_text())
        cm = np.array(a["confusion"])
        assert cm.shape == (10, 10) and cm.sum() == N_TEST
        assert a["test_accuracy"] == pytest.approx(np.trace(cm) / N_TEST)
        assert len(a["precision"]) == len(a["recall"]) == 10
        for key, cell in a["cells"].items():
            i, j = map(int, key.split(","))
            assert cell["count"] == cm[i, j] > 0
            probs = [p for _, p in cell["top"]]
            assert probs == sorted(probs, reverse=True) and len(cell["top"]) <= an.TOP
            assert all(0 <= t < N_TEST for t, _ in cell["top"] + cell["least"])
        assert set(a["mistakes"]) == {"glaring", "near"}
        assert a["history"]["epoch"] == [3]
    h8 = json.loads((out / "data" / "tiny-h8" / "analysis.json").read_text())
    assert np.array(h8["out_weights"]).shape == (8, 10) and set(h8["lego"]) == {str(c) for c in range(10)}


def test_pictures_and_sprites(built):
    from PIL import Image
    out, *_ = built
    for name, units in (("tiny-softmax", 10), ("tiny-h8", 8)):
        pngs = sorted((out / "data" / name / "w1").glob("*.png"))
        assert len(pngs) == units
        with Image.open(pngs[0]) as im:
            assert im.size == (28, 28)
    meta = json.loads((out / "data" / "mnist" / "samples.json").read_text())
    assert meta["tile"] == 28 and meta["cols"] == export.SPRITE_COLS and meta["channels"] == 1
    assert meta["index"] == sorted(set(meta["index"])) and len(meta["index"]) == len(meta["labels"])
    with Image.open(out / "data" / "mnist" / "samples.png") as im:
        rows = -(-len(meta["index"]) // meta["cols"])
        assert im.size == (meta["cols"] * 28, rows * 28)
    sheet = np.asarray(Image.open(out / "data" / "mnist" / "samples.png"))
    ds = tiny_dataset()
    k = 7
    r, c = divmod(k, meta["cols"])
    assert np.array_equal(sheet[r * 28:(r + 1) * 28, c * 28:(c + 1) * 28], ds.x_test[meta["index"][k]])
    assert meta["labels"][k] == int(ds.y_test[meta["index"][k]])


def test_pages_and_runtime(built):
    out, *_ = built
    for rel in ("index.html", "zh/index.html", "en/tiny.html", "zh/tiny.html", "static/css/site.css",
                "static/js/nnviz.js", "static/demos/draw/demo.js", "static/demos/confusion/demo.css", "static/css/palette.css"):
        assert (out / rel).is_file(), rel
    en = (out / "en" / "tiny.html").read_text(encoding="utf-8")
    acc = json.loads((out / "data" / "models.json").read_text())[0]["test_accuracy"]
    assert f"reads {100 * acc:.1f}% of the {N_TEST} test" in en
    assert 'data-model="tiny-h8"' in en and 'data-model="tiny-softmax"' in en
    if HAS_RUNTIME:
        files = json.loads((out / "runtime" / "manifest.json").read_text())["files"]
        for plain in ("nnviz.zip", "pyodide/pyodide.asm.wasm"):
            assert (out / "runtime" / files[plain]).is_file(), plain
        assert (out / "sw.js").is_file()
        html = out / "en" / "tiny.html"
        assert (out / "en" / "tiny.html.gz").is_file() or html.stat().st_size < 1024


def test_missing_cifar_is_one_clear_notice(built):
    out, _, _, ctx, logs = built
    notices = [line for line in logs if "CIFAR-10" in line]
    assert notices == [("NOTICE: CIFAR-10 skipped: official archive cifar-10-python.tar.gz not found "
                        "(tests/test_build.py)")], logs
    assert ctx["unavailable"] == ["tiny-cifar"]
    assert not (out / "data" / "tiny-cifar").exists() and not (out / "data" / "cifar10").exists()
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "CIFAR-10 skipped" not in index and "were not available when this copy of the site was built" in index
    assert "没能拿到" in (out / "zh" / "index.html").read_text(encoding="utf-8")
    en = (out / "en" / "tiny.html").read_text(encoding="utf-8")
    assert "nv-samples-missing" in en and "CIFAR-10 is missing from this build" in en
    assert "skipped" not in en and "not found" not in en      # the notice stays in the log


def test_missing_cifar_through_the_real_loader(tmp_path, monkeypatch, capsys):
    """data.load itself says why CIFAR-10 is skipped; the CLI builds and exits 0."""
    monkeypatch.setenv("NNVIZ_OFFLINE", "1")
    monkeypatch.setenv("NNVIZ_CACHE", str(tmp_path / "nnviz-cache"))
    empty = tmp_path / "downloads"
    empty.mkdir()

    def load(name):
        return data.load(name, data_dir=empty, progress=lambda *a: None) if name == "cifar10" else tiny_load(name)
    root = make_root(tmp_path)
    status, stdout, err = cli_build(monkeypatch, capsys, tmp_path / "site", root, tmp_path / "cache", load_data=load)
    assert status == 0, err
    assert "Site ready" in stdout
    for page in (tmp_path / "site").rglob("*.html"):                   # pages never show paths or errors
        html = page.read_text(encoding="utf-8")
        for leak in (str(tmp_path), "nnviz-cache", "cifar-10-python.tar.gz", "skipped", "Errno", "urlopen"):
            assert leak not in html, (page.name, leak)
    assert "CIFAR-10" in (tmp_path / "site" / "index.html").read_text(encoding="utf-8")


def test_warm_build_trains_and_analyses_nothing(built, tmp_path, monkeypatch):
    out, root, cache, *_ = built
    def no(*a, **k):
        raise AssertionError("the warm build recomputed something the cache holds")
    monkeypatch.setattr(train, "train", no)
    monkeypatch.setattr(an, "analyse", no)
    tiny_build(tmp_path / "again", root, cache)
    assert snapshot(tmp_path / "again") == snapshot(out)      # and the same bytes


# --------------------------------------------------------------------------- determinism

def test_clean_builds_are_byte_identical(tmp_path):
    """Two clean builds, each with a fresh model cache, in processes with different hash seeds.
    Only the measured train_seconds may differ between machines; FakeClock pins those."""
    root = make_root(tmp_path)
    run_child("build", tmp_path / "a", root, tmp_path / "cache-a", hash_seed="1")
    run_child("build", tmp_path / "b", root, tmp_path / "cache-b", hash_seed="2")
    a, b = snapshot(tmp_path / "a"), snapshot(tmp_path / "b")
    assert len(a) > 50
    assert sorted(a) == sorted(b)
    assert [p for p in a if a[p] != b[p]] == []
    names = [p.name for p in (tmp_path / "a").rglob("*")]
    assert not [n for n in names if ".tmp" in n or n.startswith(".")]


def test_real_site_builds_are_byte_identical(tmp_path, site_dir):
    """The real chapters, demos and models: `nnviz build` twice (warm model cache, as after
    `make site`; without a built site this is skipped: a cold cache would train every model), in
    processes with different hash seeds, gives the same bytes."""
    outs = []
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
        out = tmp_path / f"site-{seed}"
        r = subprocess.run([sys.executable, "-m", "nnviz.cli", "build", "--out", str(out)], env=env,
                           capture_output=True, text=True, timeout=1200, cwd=REPO, check=False)
        assert r.returncode == 0, r.stderr[-3000:]
        outs.append(snapshot(out))
    a, b = outs
    assert len(a) > 100 and sorted(a) == sorted(b)
    assert [p for p in a if a[p] != b[p]] == []


# --------------------------------------------------------------------------- atomicity

@pytest.fixture
def previous(tmp_path, built):
    """A site folder from an earlier build, and its snapshot."""
    import shutil
    _, root, cache, *_ = built
    out = tmp_path / "site"
    shutil.copytree(built[0], out)
    return out, root, cache, snapshot(out)


@pytest.mark.parametrize("where", ["export", "render", "swap"])
def test_failed_build_leaves_the_previous_site(previous, monkeypatch, where):
    out, root, cache, before = previous
    if where == "export":
        real = export.export_model
        calls = []

        def export_model(tmp, *a):          # the first model is written, then the second fails
            calls.append(1)
            if len(calls) == 2:
                raise OSError("disk full (test)")
            return real(tmp, *a)
        monkeypatch.setattr(export, "export_model", export_model)
    elif where == "render":
        from nnviz import render
        real = render.render_site

        def render_site(root, tmp, *a, **k):    # every page is written, then it fails
            real(root, tmp, *a, **k)
            raise OSError("disk full (test)")
        monkeypatch.setattr(render, "render_site", render_site)
    else:
        real_rename = os.rename

        def rename(a, b):                       # out -> .old succeeds, tmp -> out fails
            if ".tmp-" in str(a):
                raise OSError("rename failed (test)")
            return real_rename(a, b)
        monkeypatch.setattr(nb.os, "rename", rename)
    with pytest.raises(OSError, match=r"\(test\)"):
        tiny_build(out, root, cache)
    assert snapshot(out) == before
    assert leftovers(out) == []


def test_sigkill_while_writing_keeps_the_previous_site(previous, tmp_path):
    out, root, cache, before = previous
    marker = tmp_path / "marker"
    proc = run_child("hang-render", out, root, cache, marker=marker, wait=False)
    kill_when_marked(proc, marker)
    assert snapshot(out) == before
    stale = leftovers(out)
    assert len(stale) == 1 and stale[0].startswith(".site.tmp-"), stale   # what the killed build left
    assert (out.parent / stale[0] / "en" / "tiny.html").is_file()
    tiny_build(out, root, cache)                                         # the next build cleans up
    assert leftovers(out) == []
    assert snapshot(out) == before


def test_sigkill_between_the_renames_is_repaired(previous, tmp_path, monkeypatch):
    """Killed after `site` became `.site.old-PID` and before the new site took its place: the next
    build puts the previous site back first, so even a failing next build leaves it intact."""
    out, root, cache, before = previous
    marker = tmp_path / "marker"
    proc = run_child("hang-swap", out, root, cache, marker=marker, wait=False)
    kill_when_marked(proc, marker)
    assert not out.exists()
    assert sorted(n.split("-")[0] for n in leftovers(out)) == [".site.old", ".site.tmp"]
    broken = make_root(tmp_path / "broken", {"en/tiny.md": EN.replace("acc.tiny_softmax", "acc.nope")})
    with pytest.raises(Exception, match="acc.nope"):
        tiny_build(out, broken, cache)
    assert snapshot(out) == before
    assert leftovers(out) == []


def test_a_concurrent_builds_temp_folder_is_left_alone(previous):
    """Only folders of dead processes are stale: a live build's temp folder stays."""
    out, root, cache, _ = previous
    live = out.parent / f".site.tmp-{os.getppid()}"
    live.mkdir()
    dead = out.parent / ".site.tmp-999999999"
    dead.mkdir()
    tiny_build(out, root, cache)
    assert leftovers(out) == [live.name]


# --------------------------------------------------------------------------- bad input, through the CLI

def write_idx(path: Path, a: np.ndarray):
    magic = 0x0800 | a.ndim
    path.write_bytes(struct.pack(">I", magic) + struct.pack(f">{a.ndim}I", *a.shape) + a.tobytes())


def test_truncated_dataset_file_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NNVIZ_OFFLINE", "1")
    monkeypatch.setenv("NNVIZ_CACHE", str(tmp_path / "nnviz-cache"))
    ds = tiny_dataset()
    folder = tmp_path / "downloads"
    folder.mkdir()
    for name, a in zip(data.IDX_FILES, (ds.x_train, ds.y_train, ds.x_test, ds.y_test)):
        write_idx(folder / name, a)
    bad = folder / "train-images-idx3-ubyte"
    bad.write_bytes(bad.read_bytes()[:5000])                 # truncated mid-image

    def load(name):
        return data.load(name, data_dir=folder, progress=lambda *a: None) if name == "mnist" else tiny_load(name)
    out = tmp_path / "site"
    status, _, err = cli_build(monkeypatch, capsys, out, make_root(tmp_path), tmp_path / "cache", load_data=load)
    assert_clean_error(status, err, str(bad), "truncated")
    assert not out.exists() and leftovers(out) == []


def test_corrupt_dataset_cache_entry_is_rederived_by_the_build(tmp_path, monkeypatch, capsys):
    """A damaged per-user dataset cache is re-derived from its source, not trusted (nor fatal)."""
    monkeypatch.setenv("NNVIZ_OFFLINE", "1")
    monkeypatch.setenv("NNVIZ_CACHE", str(tmp_path / "nnviz-cache"))
    ds = tiny_dataset()
    folder = tmp_path / "downloads"
    folder.mkdir()
    for name, a in zip(data.IDX_FILES, (ds.x_train, ds.y_train, ds.x_test, ds.y_test)):
        write_idx(folder / name, a)
    monkeypatch.setitem(data.PINNED_DIGESTS, "mnist", ds.digest)
    load = lambda name: data.load(name, data_dir=folder, progress=lambda *a: None) if name == "mnist" else tiny_load(name)
    root = make_root(tmp_path)
    assert cli_build(monkeypatch, capsys, tmp_path / "a", root, tmp_path / "cache", load_data=load)[0] == 0
    entry = tmp_path / "nnviz-cache" / "data" / "mnist.npz"
    assert entry.is_file()
    entry.write_bytes(entry.read_bytes()[:1000])
    status, _, err = cli_build(monkeypatch, capsys, tmp_path / "b", root, tmp_path / "cache", load_data=load)
    assert status == 0, err
    assert snapshot(tmp_path / "a") == snapshot(tmp_path / "b")


BAD_NAMES = (EN.replace("::: demo confusion model=tiny-softmax", "::: demo confusoin model=tiny-softmax")
               .replace("::: demo draw model=tiny-h8", "::: demo draw model=tiny-h9")
               .replace("{{ params.tiny_h8 }}", "{{ params.tiny_h9 }}"))


def line_of(text, needle):
    return next(i for i, s in enumerate(text.splitlines(), 1) if needle in s)


@pytest.mark.parametrize("chapter, expect", [
    ("---\ntitle: Broken\nthis line is not key value\n---\nText.\n",
     ["chapters/en/tiny.md:3: expected 'key: value' in the front matter"]),
    (BAD_NAMES,    # every problem at once, each with its line
     [f"chapters/en/tiny.md:{line_of(BAD_NAMES, 'confusoin')}: unknown demo 'confusoin'",
      "did you mean 'confusion'?",
      f"chapters/en/tiny.md:{line_of(BAD_NAMES, 'tiny-h9')}: unknown model 'tiny-h9' in demo 'draw'",
      f"chapters/en/tiny.md:{line_of(BAD_NAMES, 'params.tiny_h9')}: unknown variable 'params.tiny_h9'"]),
], ids=["front-matter", "demo-model-variable"])
def test_chapter_errors_give_file_and_line(tmp_path, monkeypatch, capsys, built, chapter, expect):
    _, _, cache, *_ = built
    root = make_root(tmp_path, {"en/tiny.md": chapter, "zh/tiny.md": ZH})
    out = tmp_path / "site"
    out.mkdir()
    (out / "keep.txt").write_text("the previous site")
    status, _, err = cli_build(monkeypatch, capsys, out, root, cache)
    assert_clean_error(status, err, *expect)
    assert [p.name for p in out.iterdir()] == ["keep.txt"] and leftovers(out) == []


@pytest.mark.parametrize("damage", ["reshaped", "truncated"])
def test_damaged_model_cache_file_is_retrained_with_one_notice(tmp_path, monkeypatch, capsys, damage):
    """Issue 16.2: an entry that does not match its digest is recomputed, never published."""
    cache = tmp_path / "cache"
    root = make_root(tmp_path)
    assert cli_build(monkeypatch, capsys, tmp_path / "site", root, cache)[0] == 0
    before = snapshot(tmp_path / "site")
    path = next((cache / "models").glob("tiny-h8-*.npz"))
    if damage == "reshaped":
        with np.load(path) as z:
            arrays = dict(z)
        arrays["W2"] = arrays["W2"][:7]                          # (8, 10) -> (7, 10)
        with open(path, "wb") as f:
            np.savez(f, **arrays)
    else:
        path.write_bytes(path.read_bytes()[:2000])
    notices = []
    status, _, err = cli_build(monkeypatch, capsys, tmp_path / "site", root, cache, progress=notices.append)
    assert status == 0 and "Traceback" not in err, err
    assert [n for n in notices if n.startswith("NOTICE: ") and "CIFAR" not in n] == [
        next(n for n in notices if str(path) in n)]
    weights = lambda snap: {k: v for k, v in snap.items() if k.endswith(".npz")}
    assert weights(snapshot(tmp_path / "site")) == weights(before)   # retrained to the same numbers


def test_nan_weights_in_the_cache_are_a_clear_error(tmp_path, monkeypatch, capsys):
    cache = tmp_path / "cache"
    root = make_root(tmp_path)
    assert cli_build(monkeypatch, capsys, tmp_path / "site", root, cache)[0] == 0
    path = next((cache / "models").glob("tiny-softmax-*.npz"))
    with np.load(path) as z:
        arrays = dict(z)
    arrays["W1"][5, 2] = np.nan
    arrays["digest"] = np.array(content_digest(arrays))
    np.savez(path, **arrays)
    status, _, err = cli_build(monkeypatch, capsys, tmp_path / "site2", root, cache)
    assert_clean_error(status, err, str(path), "W1 of model tiny-softmax holds NaN or inf")


def test_ctrl_c_is_exit_130_with_one_line(monkeypatch, capsys, tmp_path):
    def interrupted(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(cli, "build", interrupted)
    assert cli.main(["build", "--out", str(tmp_path / "site")]) == 130
    err = capsys.readouterr().err
    assert err == "interrupted\n"


def test_missing_runtime_is_a_clear_error(tmp_path, monkeypatch, capsys):
    """Without node_modules (no `npm ci`) the build says what to run, not a traceback."""
    root = make_root(tmp_path)
    (root / "node_modules").unlink()
    status, _, err = cli_build(monkeypatch, capsys, tmp_path / "site", root, tmp_path / "cache", runtime=True)
    assert_clean_error(status, err, "npm ci")


def test_real_cli_exits_1_without_traceback(tmp_path):
    """The real entry point in a fresh process, offline, with an empty data cache: CIFAR-10 is a
    notice, but MNIST and Fashion-MNIST are needed, so that is one clear error (not a wall of
    "unknown variable" problems from chapters whose models were never trained)."""
    env = dict(os.environ, NNVIZ_OFFLINE="1", NNVIZ_CACHE=str(tmp_path / "empty-cache"),
               NNVIZ_MODEL_CACHE=str(tmp_path / "models"))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    r = subprocess.run([sys.executable, "-m", "nnviz.cli", "build", "--out", str(tmp_path / "site")],
                       env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path, check=False)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr, r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "NNVIZ_OFFLINE is set" in errors[0] and "the site needs" in errors[0], r.stderr
    assert not (tmp_path / "site").exists()
