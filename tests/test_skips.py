"""No silent skips: the exact set of tests that may skip, and the helper that makes CI fail instead.

A test may skip only through `missing(reason)` (tests/skips.py), only because a prerequisite of
the machine is absent, and only if it is listed in MAY_SKIP below (test function or fixture ->
what it needs). Adding a skip means adding it here, on purpose.
"""
import ast
import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent

MAY_SKIP = {
    "browser/conftest.py::real_site": "a built site with the runtime and a live demo",
    "browser/conftest.py::browser": "Debian's chromium and Playwright",
    "browser/test_demos_charts.py::charts": "a built site with the sweep models",
    "browser/test_demos_confusion.py::demo_site": "a built site with the analysis models",
    "browser/test_demos_confusion.py::test_fashion_confusion_uses_short_class_names": "Fashion-MNIST in the build",
    "browser/test_demos_neurons.py::neurons_url": "a built site with the neuron strips",
    "browser/test_demos_repmap.py::served": "a built site with the representation map",
    "browser/test_demos_weights.py::weights_site": "a built site with the runtime and the weight models",
    "browser/test_draw.py::draw_site": "a built site with the drawing lab",
    "browser/test_draw.py::test_chinese_page_and_dark_mode": "the Chinese page of the drawing lab",
    "browser/test_runtime.py::test_pinned_numpy_matches_pyodide_lock": "node_modules/pyodide (npm ci)",
    "browser/test_runtime.py::mnist_test_pixels": "MNIST (nnviz.data)",
    "browser/test_serve_reload.py::served": "node_modules/pyodide (npm ci) and MNIST",
    "conftest.py::site_dir": "a built site (make site)",
    "conftest.py::real_dataset": "the datasets (nnviz.data)",
    "test_data.py::test_real_data_if_cached": "MNIST and Fashion-MNIST in the data cache",
    "test_render.py::needs_katex": "node + node_modules/katex (npm ci)",
}
SKIPPERS = {"skip", "skipif", "importorskip", "xfail"}


def calls(tree):
    """(enclosing top-level function, called name) for every call in a module."""
    for top in tree.body:
        if isinstance(top, (ast.FunctionDef, ast.ClassDef)):
            for node in ast.walk(top):
                if isinstance(node, ast.Call):
                    f = node.func
                    yield top.name, f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")


def test_the_exact_set_of_tests_that_may_skip():
    found, direct = set(), []
    for path in sorted(TESTS.rglob("*.py")):
        rel = path.relative_to(TESTS).as_posix()
        for where, name in calls(ast.parse(path.read_text(encoding="utf-8"))):
            if name == "missing":
                found.add(f"{rel}::{where}")
            elif name in SKIPPERS and rel != "skips.py" and not (name == "xfail" and where == "judge"):
                direct.append(f"{rel}::{where} calls {name}")
        source = path.read_text(encoding="utf-8")
        if "mark.skip" in source and path.name != Path(__file__).name:
            direct.append(f"{rel} uses a skip mark")
    assert not direct, f"skips that bypass missing(): {direct}"
    assert found == set(MAY_SKIP), (f"not listed in MAY_SKIP: {sorted(found - set(MAY_SKIP))}; "
                                    f"listed but no longer skipping: {sorted(set(MAY_SKIP) - found)}")


PROBE = """
from skips import missing
import pytest

def test_needs_something():
    missing("the something")

def test_skips_directly():
    pytest.skip("no reason at all")

def test_runs():
    assert True
"""


def run_probe(tmp_path, ci):
    (tmp_path / "test_probe.py").write_text(PROBE)
    (tmp_path / "conftest.py").write_text((TESTS / "conftest.py").read_text(encoding="utf-8"))
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")])
    if ci:
        env["CI"] = "1"
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", str(tmp_path)],
                       env=env, capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False)
    return r.stdout


def test_missing_skips_locally_and_fails_under_ci(tmp_path):
    local, ci = run_probe(tmp_path, ci=False), run_probe(tmp_path, ci=True)
    assert "1 failed, 1 passed, 1 skipped" in local, local
    assert "SKIPPED" in local and "missing prerequisite: the something" in local, local
    assert "skipped without missing()" in local, "a direct pytest.skip must fail, even locally"
    assert "2 failed, 1 passed" in ci and "the something" in ci, ci


def test_ci_runs_the_suite_with_ci_set():
    assert "export CI=1" in (TESTS.parent / ".ci" / "run").read_text(encoding="utf-8")
