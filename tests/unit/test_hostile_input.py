"""Hostile input against the gateway's app, without Ray (issue: one key must not take a replica down): what a
request may cost is bounded before the work starts. The same shapes run against the real Ray Serve gateway in
tests/e2e/test_hostile_suite.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from serving.app import create_app
from serving.limits import MAX_BODY_BYTES
from serving.model_hub import ModelHub
from tests.one_model_registry import OneModelRegistry
from tests.unit.test_gateway_app import onnx_path  # noqa: F401  (the fixture)


@pytest.fixture
def client(onnx_path: object) -> Iterator[TestClient]:  # noqa: F811
    with TestClient(create_app(ModelHub(OneModelRegistry(onnx_path))), raise_server_exceptions=False) as http:  # type: ignore[arg-type]
        yield http


def test_a_chunked_body_over_the_limit_is_413_before_it_is_parsed(client: TestClient) -> None:
    sent = []

    def chunks() -> Iterator[bytes]:
        yield b'{"texts": ["'
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            sent.append(65536)
            yield b"a" * 65536
        yield b'"]}'

    response = client.post("/v1/events/classify", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413, response.text
    assert "exceeds the limit of 2097152 bytes" in response.json()["error"]


def test_a_chunked_body_within_the_limit_is_served(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield '{"text": "南村镇路灯'.encode()
        yield '不亮了"}'.encode()

    response = client.post("/v1/events/classify", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 200 and response.json()["category"], response.text
