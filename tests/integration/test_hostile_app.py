"""Every hostile payload (tests/hostile_payloads.py) against the gateway's app with API keys on, as every role and
as no one: never a 5xx. The same payloads run against the real Ray Serve gateway in tests/e2e/test_zzz_hostile.py
(with the CPU and memory each costs there)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from citymind.access import ROLES, KeyStore
from serving.app import create_app
from serving.model_hub import ModelHub
from tests.hostile_payloads import Payload, payloads


def send(http: httpx.Client, payload: Payload, headers: dict[str, str]) -> httpx.Response:
    raw = {k: v.encode("latin-1") for k, v in {**payload.headers, **headers}.items()}  # header bytes, as sent
    kwargs: dict[str, Any] = {"headers": raw}
    if payload.files is not None:
        kwargs |= {"files": payload.files, "data": payload.data}
    elif payload.content is not None:
        kwargs["content"] = payload.chunks() if payload.chunked else payload.content
    elif payload.json is not None:  # escaped JSON: a lone surrogate goes as \ud800, as an attacker would send it
        kwargs["content"] = json.dumps(payload.json).encode()
        kwargs["headers"].setdefault("content-type", b"application/json")
    return http.request(payload.method, payload.path, **kwargs)


@pytest.fixture(scope="module")
def keyed(bootstrapped: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    store = KeyStore(tmp_path_factory.mktemp("hostile-keys") / "keys.json")
    secrets = {role: store.create(f"hostile-{role}", role)[1] for role in ROLES}
    with TestClient(create_app(ModelHub(bootstrapped), keys=store), raise_server_exceptions=False) as http:
        yield http, secrets


def test_no_hostile_payload_gets_a_5xx_as_any_role(keyed: tuple[TestClient, dict[str, str]]) -> None:
    http, secrets = keyed
    callers = {"anonymous": {}, "wrong key": {"x-api-key": "cm_0000_wrong"}} | {
        role: {"x-api-key": secret} for role, secret in secrets.items()
    }
    failures, unexpected, answered = [], [], 0
    for payload in payloads():
        for caller, headers in callers.items():
            if caller not in ("admin", "consumer", "anonymous") and payload.expect:
                continue  # the size refusals come before any key check: three callers show it
            response = send(http, payload, headers)
            answered += 1
            if response.status_code >= 500:
                failures.append(f"{payload.name} as {caller}: {response.status_code} {response.text[:200]}")
            elif caller == "admin" and payload.expect and response.status_code not in payload.expect:
                unexpected.append(f"{payload.name}: {response.status_code}, expected {payload.expect}")
    assert failures == [] and unexpected == [], failures + unexpected
    assert answered > 80 * len(callers) // 2


def test_roles_hold_on_hostile_shapes(keyed: tuple[TestClient, dict[str, str]]) -> None:
    http, secrets = keyed
    refresh = Payload("refresh", "POST", "/v1/models/refresh")
    assert send(http, refresh, {"x-api-key": secrets["consumer"]}).status_code == 403
    assert send(http, refresh, {"x-api-key": secrets["data_scientist"]}).status_code == 200
    assert send(http, refresh, {}).status_code == 401
