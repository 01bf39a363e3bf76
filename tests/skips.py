"""The one way a test may skip: `missing(reason)` when a prerequisite is absent (a built site,
node_modules, a cached dataset, Chromium). A skip on a developer's machine; a failure under CI
(`.ci/run` exports CI=1), where a missing prerequisite means a broken set-up. tests/conftest.py
turns every other skip into a failure, and tests/test_skips.py lists who may call this."""
import os

import pytest

IN_CI = bool(os.environ.get("CI"))
MISSING = "missing prerequisite: "   # the prefix of every skip that went through missing()


def missing(reason: str):
    """Skip locally; fail under CI."""
    if IN_CI:
        pytest.fail(reason, pytrace=False)
    pytest.skip(MISSING + reason)
