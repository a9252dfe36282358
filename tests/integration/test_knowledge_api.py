"""The knowledge routes in process over a bootstrapped registry (the Ray gateway's are in e2e): a search of a
snapshot without a case index says how to build one, and a text or count out of bounds is a 400 naming it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from registry import MlflowRegistry
from serving.app import create_app
from serving.model_hub import ModelHub


@pytest.fixture(scope="module")
def client(bootstrapped: MlflowRegistry) -> Iterator[TestClient]:
    with TestClient(create_app(ModelHub(bootstrapped))) as http:
        yield http


def test_a_search_without_a_case_index_is_a_404_saying_how_to_build_one(client: TestClient) -> None:
    answer = client.get("/v1/knowledge/search", params={"q": "路灯坏了"})
    assert answer.status_code == 404
    assert "pingdu-knowledge/1) has no case index: build one with `citymind kg index" in answer.json()["error"]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"q": ""}, "q"), ({"q": "路" * 2001}, "q"), ({"q": "路灯", "k": 0}, "k"), ({"q": "路灯", "of": "rules"}, "of")],
)
def test_a_search_out_of_bounds_is_refused_naming_the_field(
    client: TestClient, params: dict[str, object], field: str
) -> None:
    answer = client.get("/v1/knowledge/search", params=params)
    assert answer.status_code == 400 and f"query.{field}" in answer.json()["error"], answer.text
