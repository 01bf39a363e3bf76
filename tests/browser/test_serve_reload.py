"""A real `nnviz serve` (issue 16 items 5, 6, 11) on a copy of the sources, watched by a real
Chromium page: an edit to src/nnviz/*.py is the code the next build runs, a successful rebuild
reloads the open page, a failed one keeps the old site and shows its error on the page and in
the terminal, and Ctrl-C ends it with status 130 and one line, at once even while a rebuild runs.

The copy trains one small model (one epoch on 2,000 MNIST images) into its own cache."""
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

from conftest import REPO, assert_all_local, missing

CHAPTER = """\
---
title: {title}
summary: Built by tests/browser/test_serve_reload.py.
order: 1
---
{text} {{{{ acc.tiny_softmax }}}}
"""
TINY_SPECS = """
SPECS = [Spec("tiny-softmax", "mnist", (), init="zeros", epochs=1, train_subset=2000)]
BY_NAME = {s.name: s for s in SPECS}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_root(base):
    """The real templates, static, demos, scripts and node_modules (linked); a copy of src/ that
    the test edits; one tiny chapter per language; a model table of one small model."""
    root = base / "root"
    root.mkdir()
    for name in ("templates", "static", "demos", "scripts", "node_modules"):
        (root / name).symlink_to(REPO / name, target_is_directory=True)
    shutil.copytree(REPO / "src" / "nnviz", root / "src" / "nnviz",
                    ignore=shutil.ignore_patterns("__pycache__"))
    with open(root / "src" / "nnviz" / "specs.py", "a", encoding="utf-8") as f:
        f.write(TINY_SPECS)
    write_chapters(root, "All good.")
    return root


def write_chapters(root, text):
    for lang, title in (("en", "Serve test"), ("zh", "服务测试")):
        p = root / "chapters" / lang / "serve.md"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(CHAPTER.format(title=title, text=text), encoding="utf-8")


class Served:
    """`nnviz serve` in a fresh process; every output line goes to a queue and to `log`."""

    def __init__(self, root, out, cache, port):
        env = dict(os.environ, PYTHONPATH=str(root / "src"), NNVIZ_MODEL_CACHE=str(cache),
                   NNVIZ_OFFLINE="1", PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1")
        self.url = f"http://127.0.0.1:{port}/"
        self.proc = subprocess.Popen([sys.executable, "-m", "nnviz.cli", "serve", "--out", str(out),
                                      "--port", str(port)], cwd=root, env=env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.lines, self.log = queue.Queue(), []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.log.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def expect(self, pattern, timeout=600):
        """The next output line matching `pattern` (lines before it are kept in `log`)."""
        while True:
            line = self.lines.get(timeout=timeout)
            if line is None:
                raise AssertionError(f"serve ended before {pattern!r}:\n{''.join(self.log)[-3000:]}")
            if re.search(pattern, line):
                return line

    def status(self, since):
        with urllib.request.urlopen(f"{self.url}__nnviz/status?since={since}", timeout=60) as r:
            return json.load(r)

    def next_status(self, since):
        """Long-poll until the build after version `since` has finished."""
        while (s := self.status(since))["version"] == since:
            pass
        return s


@pytest.fixture
def served(tmp_path):
    if not (REPO / "node_modules" / "pyodide" / "package.json").is_file():
        missing("node_modules/pyodide is missing: run `npm ci`")
    try:
        from nnviz import data
        data.load("mnist", progress=lambda *a: None)
    except Exception as e:
        missing(f"MNIST is not available here ({type(e).__name__}: {e})")
    root = make_root(tmp_path)
    s = Served(root, tmp_path / "site", tmp_path / "cache", free_port())
    s.root, s.out = root, tmp_path / "site"
    try:
        s.expect(r"^serving ")
        yield s
    finally:
        if s.proc.poll() is None:
            s.proc.kill()
        s.proc.wait(60)


def test_serve_runs_edited_code_reloads_pages_and_shows_failed_builds(served, browser):
    context = browser.new_context()
    requests = []
    context.on("request", lambda r: requests.append(r.url))
    page = context.new_page()
    page.set_default_timeout(120_000)
    page.goto(served.url + "en/serve.html")
    assert served.status(-1) == {"version": 1, "error": None}
    analysis = served.out / "data" / "tiny-softmax" / "analysis.json"
    assert max(len(c["top"]) for c in json.loads(analysis.read_text())["cells"].values()) > 3

    # 1. An edit to the analysis code: the rebuild runs the new code and the page reloads.
    page.evaluate("window.beforeReload = true")
    code = served.root / "src" / "nnviz" / "analyse.py"
    code.write_text(code.read_text().replace("TOP = 16 ", "TOP = 3 "))
    assert served.next_status(1) == {"version": 2, "error": None}
    page.wait_for_function("() => window.beforeReload === undefined")   # a function: a bare expression needs eval, which the CSP forbids
    assert max(len(c["top"]) for c in json.loads(analysis.read_text())["cells"].values()) == 3

    # 2. A chapter error: the old site stays, the error is on the page and in the terminal.
    page.evaluate("window.beforeReload = true")
    before = (served.out / "en" / "serve.html").read_bytes()
    write_chapters(served.root, "Broken: {{ acc.no_such_model }}")
    state = served.next_status(2)
    assert state["version"] == 3 and "unknown variable 'acc.no_such_model'" in state["error"]
    assert "chapters/en/serve.md:6" in state["error"]
    served.expect(r"^error: .*chapters/(en|zh)/serve\.md:6: unknown variable 'acc\.no_such_model'")
    served.expect(r"^rebuild failed; still serving the previous site")
    banner = page.locator("#nnviz-serve-error")
    banner.wait_for()
    assert "unknown variable 'acc.no_such_model'" in banner.inner_text()
    assert page.evaluate("window.beforeReload") is True
    assert (served.out / "en" / "serve.html").read_bytes() == before
    with urllib.request.urlopen(served.url + "en/serve.html", timeout=60) as r:
        assert b"All good." in r.read()

    # 3. Fixed: the page reloads and the banner is gone.
    write_chapters(served.root, "Fixed now.")
    assert served.next_status(3) == {"version": 4, "error": None}
    page.wait_for_function("() => window.beforeReload === undefined")   # a function: a bare expression needs eval, which the CSP forbids
    assert "Fixed now." in page.inner_text("body") and banner.count() == 0
    context.close()
    assert_all_local(requests)

    # 4. Ctrl-C: exit status 130 and one line, no traceback.
    served.proc.send_signal(signal.SIGINT)
    assert served.proc.wait(60) == 130
    served.expect(r"^interrupted$")
    log = "".join(served.log)
    assert "Traceback" not in log and log.rstrip().endswith("\ninterrupted"), log[-2000:]


# A rebuild that hangs: it records its pid and a grandchild's, then sleeps deaf to Ctrl-C, like a
# build stuck in a long numpy call. Shutdown must end it (and its children), never wait for it.
STUCK_BUILD = '''
import os as _os, signal as _signal, subprocess as _subprocess, sys as _sys, time as _time
def write_site(tmp, *args, **kwargs):
    _signal.signal(_signal.SIGINT, _signal.SIG_IGN)
    (tmp / "half-written.html").write_text("not finished")
    child = _subprocess.Popen(["sleep", "3600"])
    print(f"stuck build: {_os.getpid()} {child.pid}", file=_sys.stderr, flush=True)
    _time.sleep(3600)
'''


def alive(pid):
    """True while `pid` runs (a zombie nobody reaped yet counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] not in "ZX"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_ctrl_c_during_a_rebuild_ends_it_at_once_and_leaves_the_old_site(served, sig):
    before = (served.out / "en" / "serve.html").read_bytes()
    with open(served.root / "src" / "nnviz" / "build.py", "a", encoding="utf-8") as f:
        f.write(STUCK_BUILD)
    served.expect(r"^changed: build\.py; rebuilding")
    pids = [int(p) for p in served.expect(r"^stuck build: \d+ \d+$").split()[2:]]
    assert all(alive(p) for p in pids)

    served.proc.send_signal(sig)
    try:
        assert served.proc.wait(60) == 130               # the build sleeps for an hour: only a hang waits 60 s
        assert not any(alive(p) for p in pids), "the rebuild or its child outlived serve"
    finally:
        for p in filter(alive, pids):
            os.kill(p, signal.SIGKILL)
    assert (served.out / "en" / "serve.html").read_bytes() == before
    assert sorted(p.name for p in served.out.parent.glob(".site.*")) == []    # no half-written site
    assert "Traceback" not in "".join(served.log)
