"""A registry bootstrapped with the Pingdu defaults, shared by the integration tests that need served assets."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="session")
def bootstrapped(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from citymind.bootstrap import bootstrap
    from registry import MlflowRegistry

    home = tmp_path_factory.mktemp("bootstrapped")
    registry = MlflowRegistry(
        f"sqlite:///{home / 'mlflow.db'}", artifact_location=(home / "artifacts").as_uri(), cache_dir=home / "cache"
    )
    lines = list(bootstrap(registry))
    assert any("component  report-intake/1 @production" in line for line in lines), lines
    return registry
