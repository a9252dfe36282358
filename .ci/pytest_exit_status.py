"""pytest plugin used by .ci/run: records pytest's own exit status in $CITYMIND_PYTEST_STATUS_FILE.

make reports every failed recipe as exit 2, which hides pytest's 5 ("no tests collected") from .ci/run.
"""

from __future__ import annotations

import os

import pytest


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    path = os.environ.get("CITYMIND_PYTEST_STATUS_FILE")
    if path and not hasattr(session.config, "workerinput"):  # pytest-xdist's workers finish before the controller
        with open(path, "w", encoding="utf-8") as status:
            status.write(str(int(exitstatus)))
