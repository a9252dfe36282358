"""Schemathesis against the gateway's own OpenAPI: generated requests to every operation, valid and invalid, never
get a 5xx. The app runs in process on a bootstrapped registry (the same app the Ray ingress serves)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from citymind.access import KeyStore
from events.records import EventRecords
from serving.app import create_app
from serving.model_hub import ModelHub


@pytest.fixture(scope="module", params=["open", "keyed"])
def fuzzed(
    request: pytest.FixtureRequest, bootstrapped: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[list[Any], dict[str, str]]]:
    """The operations of an open local install (no keys), and of one with keys (every request sends an admin's,
    so the generated requests reach the routes; the quotas are raised so the fuzzer is not rate limited)."""
    home = Path(tmp_path_factory.mktemp("fuzz-keys"))
    keys = KeyStore(home / "keys.json")
    headers = {"x-api-key": keys.create("fuzz", "admin")[1]} if request.param == "keyed" else {}
    hub = ModelHub(bootstrapped)
    hub.get("event-classifier")  # ready: readiness answers 503 only before a model is served, as the OIP wants
    records = EventRecords(f"sqlite:///{home / 'events.db'}")  # the closed loop's routes have a store behind them
    app = create_app(hub, keys=keys, quota_overrides='{"admin": {"rate": 100000, "burst": 100000}}', records=records)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    yield [result.ok() for result in schema.get_all_operations()], headers
    app.state.replica.close()  # schemathesis calls the app without its lifespan


@pytest.fixture
def operations(fuzzed: tuple[list[Any], dict[str, str]]) -> list[Any]:
    return fuzzed[0]


def test_every_operation_is_fuzzed(operations: list[Any]) -> None:
    paths = {op.path for op in operations}
    assert {"/v1/events/triage", "/v1/events/classify", "/v2/models/{name}/infer", "/v1/pipelines/{name}"} <= paths
    assert {"/v1/events", "/v1/events/{event_id}", "/v1/events/{event_id}/outcomes", "/open311/v2/requests.json",
            "/open311/v2/requests/{request_id}.json", "/v1/indicators/demand", "/v1/indicators/drift",
            "/v1/evaluation/drift"} <= paths  # fmt: skip


def test_no_generated_request_gets_a_server_error(fuzzed: tuple[list[Any], dict[str, str]], figure: Any) -> None:
    """Schemathesis' own pytest plugin does not load under pytest 9, so each operation runs through Hypothesis here.
    With keys on, a request the key may not make is a 4xx as well (never a 5xx)."""
    operations, headers = fuzzed
    for operation in operations:

        @settings(
            max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=True
        )
        @given(case=operation.as_strategy())
        def call(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        call()
    mode = "with an admin key, auth on" if headers else "auth off"
    figure(f"schemathesis ({mode}): {len(operations)} operations × up to 20 generated requests each, no 5xx")


def test_digits_that_are_not_ascii_are_refused_not_crashed(bootstrapped: Any) -> None:
    """Found by the fuzzer: '¹'.isdigit() is True but int('¹') fails."""
    from fastapi.testclient import TestClient

    with TestClient(create_app(ModelHub(bootstrapped))) as client:
        ready = client.get("/v2/models/event-classifier/versions/%C2%B9/ready")
        assert ready.status_code == 400 and "positive integer" in ready.json()["error"]
        infer = client.post(
            "/v2/models/event-classifier/infer",
            content=b"{}",
            headers={"Inference-Header-Content-Length": b"\xb9", "content-type": "application/octet-stream"},
        )
        assert infer.status_code == 400
