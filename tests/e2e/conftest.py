"""One real gateway per test session: an embedded registry bootstrapped with the defaults, Ray Serve on
127.0.0.1, torn down at the end."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port

E2E = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every end-to-end test starts (or shares) a real Ray Serve gateway: ``-m "not serve"`` skips them."""
    for item in items:
        if E2E in item.path.resolve().parents:
            item.add_marker(pytest.mark.serve)


@pytest.fixture(scope="session")
def gateway_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gateway-home")


@pytest.fixture(scope="session")
def gateway_registry(gateway_home: Path) -> Any:
    from citymind.bootstrap import bootstrap
    from registry import MlflowRegistry

    reg = MlflowRegistry(
        f"sqlite:///{gateway_home / 'mlflow.db'}",
        artifact_location=(gateway_home / "artifacts").as_uri(),
        cache_dir=gateway_home / "cache",
    )
    lines = list(bootstrap(reg))
    assert any("event-classifier/1 @champion" in line for line in lines), lines
    return reg


@pytest.fixture(scope="session")
def gateway(gateway_registry: Any, gateway_home: Path) -> Iterator[str]:
    from serving.deployments import GatewayConfig
    from serving.launcher import start_gateway, stop_gateway

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    config = GatewayConfig(
        tracking_uri=gateway_registry.tracking_uri,
        artifact_location=gateway_registry.artifact_location,
        cache_dir=str(gateway_home / "gateway-cache"),
        refresh_interval=0.5,
    )
    url = start_gateway(config, port=free_port()).url
    try:
        ready = httpx.get(f"{url}/v2/health/ready", timeout=30)
        assert ready.status_code == 200 and ready.json()["ready"] is True
        yield url
    finally:
        stop_gateway()


@pytest.fixture
def client(gateway: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway, timeout=30) as http:
        yield http
