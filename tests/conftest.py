"""Fixtures every test file may use: the one skip helper (tests/skips.py), the built site, the
real datasets. No silent skips: a skip that did not go through `missing()` fails (hook below)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
try:
    import nnviz  # noqa: F401
except ImportError:  # running from a clone without `pip install -e .`
    sys.path.insert(0, str(REPO / "src"))
if str(REPO / "tests") not in sys.path:
    sys.path.insert(0, str(REPO / "tests"))
from skips import MISSING, missing  # noqa: E402


@pytest.fixture(name="missing", scope="session")
def missing_fixture():
    """missing(reason): skip locally, fail under CI."""
    return missing


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A skip that did not come from missing() is a failure: it would hide a test everywhere."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = str(report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr)
        if MISSING not in reason:
            report.outcome = "failed"
            report.longrepr = f"{item.nodeid}: skipped without missing() ({reason}); see tests/conftest.py"


@pytest.fixture(scope="session")
def site_dir() -> Path:
    """The built site: $NNVIZ_SITE or <repo>/site."""
    path = Path(os.environ.get("NNVIZ_SITE") or REPO / "site")
    if not (path / "index.html").is_file():
        missing(f"no built site at {path} (run `make site`, or set NNVIZ_SITE)")
    return path


@pytest.fixture(scope="session")
def real_dataset():
    """real_dataset(name) -> nnviz.data.Dataset from the local data cache (never downloads)."""
    from nnviz import data
    loaded = {}

    def get(name):
        if name not in loaded:
            try:
                loaded[name] = data.load(name, progress=lambda *a: None)
            except (data.DataUnavailable, data.DataError) as e:
                missing(f"{name} unavailable via nnviz.data.load: {e}")
        return loaded[name]
    return get
