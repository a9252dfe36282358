"""API keys with roles: hashed at rest, 401 without a key, 403 for the wrong role, revocation within a second,
health open; the registry-changing CLI commands check roles too; nothing secret in the logs."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from citymind.access import AccessDenied, KeyStore, allowed
from registry import MlflowRegistry
from serving.app import create_app
from serving.model_hub import ModelHub


@pytest.fixture
def keys(tmp_path: Path) -> KeyStore:
    return KeyStore(tmp_path / "keys.json")


def test_keys_are_hashed_at_rest_and_shown_once(keys: KeyStore) -> None:
    record, secret = keys.create("12345-intake", "consumer")
    stored = keys.path.read_text(encoding="utf-8")
    assert secret.split("_", 2)[2] not in stored and record.digest in stored
    assert stat.S_IMODE(os.stat(keys.path).st_mode) == 0o600
    assert keys.verify(secret).id == record.id
    for wrong in (None, "", "cm_nope_x", secret[:-1] + ("A" if secret[-1] != "A" else "B"), "Bearer " + secret):
        with pytest.raises(AccessDenied) as info:
            keys.verify(wrong)
        assert info.value.status == 401
    keys.revoke(record.id)
    with pytest.raises(AccessDenied, match="revoked"):
        keys.verify(secret)


def test_roles() -> None:
    assert allowed("consumer", "infer") and not allowed("consumer", "register:model")
    assert allowed("data_scientist", "register:model") and not allowed("data_scientist", "register:rule")
    assert allowed("rule_author", "register:rule") and allowed("rule_author", "backtest")
    assert not allowed("rule_author", "operate") and allowed("admin", "register:knowledge")


@pytest.fixture
def http(bootstrapped: MlflowRegistry, keys: KeyStore) -> Iterator[TestClient]:
    with TestClient(create_app(ModelHub(bootstrapped), keys=keys)) as client:
        yield client


def test_the_gateway_asks_for_keys_once_any_exist(http: TestClient, keys: KeyStore, caplog: Any) -> None:
    body = {"text": "南村镇路灯不亮"}
    assert http.post("/v1/events/classify", json=body).status_code == 200  # no keys yet: a local, open install
    _, consumer = keys.create("intake", "consumer")
    _, scientist = keys.create("ds", "data_scientist")
    caplog.set_level(logging.DEBUG)
    missing = http.post("/v1/events/classify", json=body)
    assert missing.status_code == 401 and "API key is required" in missing.json()["error"]
    assert missing.headers["www-authenticate"].startswith("Bearer")
    ok = http.post("/v1/events/classify", json=body, headers={"Authorization": f"Bearer {consumer}"})
    assert ok.status_code == 200 and ok.json()["category"]
    assert http.get("/v1/registry/rule", headers={"X-API-Key": consumer}).status_code == 200
    refresh = http.post("/v1/models/refresh", headers={"X-API-Key": consumer})
    assert (
        refresh.status_code == 403
        and "may not operate; the roles that may: data_scientist, admin" in refresh.json()["error"]
    )
    assert http.post("/v1/models/refresh", headers={"X-API-Key": scientist}).status_code == 200
    assert http.get("/v2/health/live").status_code == 200 and http.get("/v1/health").status_code == 200
    keys.revoke(consumer.split("_")[1])
    assert http.post("/v1/events/classify", json=body, headers={"X-API-Key": consumer}).status_code == 401
    assert consumer not in caplog.text and consumer.split("_", 2)[2] not in caplog.text


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "citymind.cli", *args], env=env, capture_output=True, text=True, timeout=300
    )


def test_registry_changing_commands_check_the_role(bootstrapped: MlflowRegistry, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "CITYMIND_TRACKING_URI": bootstrapped.tracking_uri,
        "CITYMIND_ARTIFACT_LOCATION": bootstrapped.artifact_location or "",
        "CITYMIND_KEYS_FILE": str(tmp_path / "keys.json"),
    }
    first = cli(env, "keys", "create", "--name", "ops", "--role", "consumer")
    assert first.returncode != 0 and "first key must be an admin key" in first.stderr
    admin = cli(env, "keys", "create", "--name", "ops", "--role", "admin").stdout.strip().splitlines()[-1]
    env["CITYMIND_API_KEY"] = admin
    ds = cli(env, "keys", "create", "--name", "ds", "--role", "data_scientist").stdout.strip().splitlines()[-1]
    rules = tmp_path / "r.yaml"
    rules.write_text("groups:\n  - name: g\n    kind: alert\n    rules:\n      - id: a\n        when: value > 1\n")
    register = ["rules", "register", str(rules), "--name", "access-rules"]
    denied = cli({**env, "CITYMIND_API_KEY": ds}, *register)
    assert (
        denied.returncode == 2
        and "(data_scientist) may not register:rule; the roles that may: rule_author, admin" in denied.stderr
    )
    ui = cli({**env, "CITYMIND_API_KEY": ds}, "ui", "--port", "1")  # MLflow's UI can move any alias: admin only
    assert ui.returncode == 2 and "(data_scientist) may not admin" in ui.stderr
    assert cli({k: v for k, v in env.items() if k != "CITYMIND_API_KEY"}, *register).returncode == 2
    assert cli(env, *register).returncode == 0  # admin
    listed = json.loads(cli(env, "keys", "list", "--json").stdout)
    assert {k["role"] for k in listed} == {"admin", "data_scientist"} and "digest" not in listed[0]
