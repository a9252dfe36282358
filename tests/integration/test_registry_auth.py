"""Roles enforced where the registry is written (issue 20, item 10): a real ``mlflow server --app-name basic-auth``
with a user per citymind role. The MLflow server refuses a user whose permissions do not allow a write, whatever
client it uses (the citymind CLI's own key check only stops a well-behaved caller), and citymind says so clearly."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import running_mlflow_server

pytestmark = pytest.mark.server
ADMIN = ("admin", secrets.token_urlsafe(12))
SCRIPT = """
import json, sys
from registry import MlflowRegistry
from citymind.errors import CitymindError
reg = MlflowRegistry(sys.argv[1])
try:
    version = reg.register("component", sys.argv[2], sys.argv[3])
    reg.set_alias(sys.argv[2], "production", version.version)
    print(json.dumps({"version": version.version}))
except CitymindError as exc:
    print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
"""


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("mlflow-auth")
    config = root / "auth.ini"
    config.write_text(
        "[mlflow]\ndefault_permission = READ\n"
        f"database_uri = sqlite:///{root / 'auth.db'}\nadmin_username = {ADMIN[0]}\nadmin_password = {ADMIN[1]}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n",
        encoding="utf-8",
    )
    env = {"MLFLOW_AUTH_CONFIG_PATH": str(config), "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_hex(16)}
    with running_mlflow_server(
        root, f"sqlite:///{root / 'mlflow.db'}", env=env, args=("--app-name", "basic-auth")
    ) as s:
        yield s["tracking_uri"]


def as_user(url: str, user: tuple[str, str] | None, name: str, asset: Path) -> dict[str, object]:
    env = {"PYTHONPATH": str(Path(__file__).resolve().parents[2]), "PATH": "/usr/bin:/bin", "HOME": str(asset.parent)}
    if user is not None:
        env |= {"MLFLOW_TRACKING_USERNAME": user[0], "MLFLOW_TRACKING_PASSWORD": user[1]}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, url, name, str(asset)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def admin_call(url: str, path: str, body: dict[str, str]) -> None:
    response = httpx.post(f"{url}{path}", json=body, auth=ADMIN, timeout=30)
    assert response.status_code == 200, response.text


def grant(url: str, user: str, resource_type: str, resource: str, permission: str) -> None:
    body = {"username": user, "resource_type": resource_type, "resource_id": resource, "permission": permission}
    admin_call(url, "/api/3.0/mlflow/users/permissions/grant", body)


def test_the_mlflow_server_enforces_roles_on_registry_writes(auth_server: str, tmp_path: Path) -> None:
    asset = tmp_path / "asset.json"
    asset.write_text('{"format": "citymind.component/1", "component": "text.normalize", "params": {}}')
    assert as_user(auth_server, ADMIN, "intake-normalize", asset) == {"version": 1}
    users = {role: (f"{role}-user", secrets.token_urlsafe(12)) for role in ("consumer", "data_scientist")}
    for username, password in users.values():
        admin_call(auth_server, "/api/2.0/mlflow/users/create", {"username": username, "password": password})
    experiment = httpx.get(
        f"{auth_server}/api/2.0/mlflow/experiments/get-by-name",
        params={"experiment_name": "citymind-registry"},
        auth=ADMIN,
        timeout=30,
    ).json()["experiment"]["experiment_id"]
    scientist = users["data_scientist"][0]
    grant(auth_server, scientist, "experiment", experiment, "EDIT")
    grant(auth_server, scientist, "registered_model", "intake-normalize", "MANAGE")

    refused = as_user(auth_server, users["consumer"], "intake-normalize", asset)
    assert refused["error"] == "RegistryAccessDenied" and "refused user 'consumer-user'" in str(refused["message"])
    anonymous = as_user(auth_server, None, "intake-normalize", asset)
    assert anonymous["error"] == "RegistryAccessDenied" and "MLFLOW_TRACKING_USERNAME" in str(anonymous["message"])
    assert as_user(auth_server, users["data_scientist"], "intake-normalize", asset) == {"version": 2}
