"""Registries of the integration tests: ``reg`` over the session's embedded store (a cache of the test's own), and
one bootstrapped with the Pingdu defaults for the tests that need served assets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def bootstrapped(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from citymind.cli.bootstrap import bootstrap
    from registry import MlflowRegistry

    home = tmp_path_factory.mktemp("bootstrapped")
    registry = MlflowRegistry(
        f"sqlite:///{home / 'mlflow.db'}", artifact_location=(home / "artifacts").as_uri(), cache_dir=home / "cache"
    )
    lines = list(bootstrap(registry))
    assert any("component  report-intake/1 @production" in line for line in lines), lines
    return registry


@pytest.fixture
def reg(embedded_store: dict[str, str], tmp_path: Path) -> Any:
    from registry import MlflowRegistry

    return MlflowRegistry(
        embedded_store["tracking_uri"],
        artifact_location=embedded_store["artifact_location"],
        cache_dir=tmp_path / "cache",
    )
