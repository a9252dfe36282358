"""The auth matrix: every route of the gateway × every role (and no key): 401 without a key except on health, 403
where the role may not, and past the check (any other answer) where it may."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from citymind.access import ROLES, KeyStore, allowed
from registry import MlflowRegistry
from serving.app import create_app
from serving.auth import action_of
from serving.model_hub import ModelHub


@pytest.fixture(scope="module")
def gateway(bootstrapped: MlflowRegistry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    keys = KeyStore(Path(tmp_path_factory.mktemp("matrix")) / "keys.json")
    secrets = {role: keys.create(f"matrix-{role}", role)[1] for role in ROLES}
    app = create_app(ModelHub(bootstrapped), keys=keys)
    with TestClient(app) as client:
        yield client, app, secrets


def routes(app: Any) -> list[tuple[str, str]]:
    """Every operation the OpenAPI document publishes, plus the unpublished /metrics."""
    out = [("GET", "/metrics")]
    for path, operations in app.openapi()["paths"].items():
        concrete = path.replace("{name}", "event-classifier").replace("{kind}", "model")
        out.extend((method.upper(), concrete) for method in sorted(operations))
    return out


def test_every_route_for_every_role(gateway: Any, figure: Any) -> None:
    client, app, secrets = gateway
    checked = 0
    for method, path in routes(app):
        action = action_of(method, path)
        for role in (None, *ROLES):
            headers = {"X-API-Key": secrets[role]} if role else {}
            status = client.request(method, path, headers=headers, json={}).status_code
            if action is None:
                expected_ok = status not in (401, 403)
            elif role is None:
                expected_ok = status == 401
            elif allowed(role, action):
                expected_ok = status not in (401, 403)
            else:
                expected_ok = status == 403
            assert expected_ok, (method, path, role, action, status)
            checked += 1
    figure(f"auth matrix: {checked} route × role checks over {len(routes(app))} routes")
    assert checked >= 5 * 20
