"""The gateway's OpenAPI, walked: every operation's answers have a schema, errors are the one ``ErrorAnswer``, the
key schemes are declared (the docs page's "Authorize" works), and every request body's examples are answered 200
by the app itself — an example that stopped working fails here."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from events.records import EventRecords
from events.video import VideoAnalyzer, VideoConfig
from serving.app import create_app
from serving.model_hub import ModelHub
from serving.routes_video import InProcessVideo

#: path parameters the examples are sent with
PATH_VALUES = {"name": "event-classifier", "version": "1"}
#: operations whose example takes another path than PATH_VALUES gives
EXAMPLE_PATHS = {
    "/v1/components/{name}": "/v1/components/privacy.mask",
    "/v1/pipelines/{name}": "/v1/pipelines/report-intake",
    "/v1/rules/{name}/versions": "/v1/rules/pingdu-rules/versions",  # the example publishes to 'staging'
    "/v1/registry/{kind}/{name}/aliases/{alias}": "/v1/registry/model/event-classifier/aliases/champion",
}


@pytest.fixture(scope="module")
def client(bootstrapped: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    home = Path(tmp_path_factory.mktemp("spec"))
    config = VideoConfig()
    app = create_app(
        ModelHub(bootstrapped),
        video=InProcessVideo(VideoAnalyzer(config)),
        video_config=config,
        records=EventRecords(f"sqlite:///{home / 'events.db'}"),
        auth="off",
    )
    with TestClient(app) as http:
        yield http


@pytest.fixture(scope="module")
def spec(client: TestClient) -> dict[str, Any]:
    return dict(client.get("/openapi.json").json())


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_every_answer_has_a_schema_and_every_error_is_the_error_answer(spec: dict[str, Any]) -> None:
    found = list(operations(spec))
    assert len(found) >= 29 and "/v1/video/analyze" in spec["paths"]
    for path, method, operation in found:
        ok = operation["responses"]["200"]["content"]
        assert ok and all(media.get("schema") not in (None, {}) for media in ok.values()), (method, path)
        for status, answer in operation["responses"].items():
            if status.startswith(("4", "5")) and not (path.endswith(("/health", "/ready")) and status == "503"):
                schema = answer["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorAnswer"}, (method, path, status)
    assert "HTTPValidationError" not in spec["components"]["schemas"]  # a malformed request is a 400 here


def test_the_key_schemes_are_declared_on_every_keyed_operation(spec: dict[str, Any]) -> None:
    assert spec["components"]["securitySchemes"]["ApiKey"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    for path, method, operation in operations(spec):
        open_route = path.startswith(("/v2/health", "/v1/health"))
        expected = [] if open_route else [{"ApiKey": []}, {"Bearer": []}]
        assert operation["security"] == expected, (method, path)
        if not open_route:
            assert {"401", "403", "429"} <= set(operation["responses"]), (method, path)


def body_examples(spec: dict[str, Any], operation: dict[str, Any]) -> list[Any]:
    media = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if media is None:
        return []
    schema = media["schema"]
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return list(schema.get("examples", []))


def test_every_json_body_has_examples_and_each_is_answered(client: TestClient, spec: dict[str, Any]) -> None:
    sent = []
    for path, method, operation in operations(spec):
        if "application/json" not in operation.get("requestBody", {}).get("content", {}):
            continue
        examples = body_examples(spec, operation)
        assert examples, f"{method} {path} has no example"
        values = dict(PATH_VALUES)
        if "{event_id}" in path:  # an event the example triage made
            values["event_id"] = client.get("/v1/events", params={"limit": 1}).json()["events"][0]["id"]
        url = EXAMPLE_PATHS.get(path) or path.format(**values)
        for example in examples:
            answer = client.request(method, url, json=example)
            assert answer.status_code == 200, (method, url, example, answer.text)
            sent.append(f"{method} {path}")
    assert len(sent) >= 14, sent


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_pages_load_everything_from_the_gateway(client: TestClient, page: str) -> None:
    """Offline (a city intranet): every script, style and icon the page references is the gateway's own."""
    html = client.get(page)
    assert html.status_code == 200 and "text/html" in html.headers["content-type"]
    referenced = re.findall(r"""(?:src|href|spec-url)=["']([^"']+)["']|(?:url|Url)\s*:\s*["']([^"']+)["']""", html.text)
    urls = {a or b for a, b in referenced}
    assert "/openapi.json" in urls and len(urls) >= 3, urls
    assert all(url.startswith("/") and not url.startswith("//") for url in urls), urls  # no CDN, no other host
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200 and len(asset.content) > 100, url
    assert "validator.swagger.io" not in html.text and "fonts.googleapis" not in html.text
    policy = dict(part.strip().split(" ", 1) for part in html.headers["content-security-policy"].split(";"))
    assert policy["default-src"] == "'none'" and policy["img-src"] == "'self' data:"  # not cdn.redoc.ly's logo
    assert policy["connect-src"] == "'self'" and html.headers["x-content-type-options"] == "nosniff"


def test_operation_ids_are_the_client_methods(spec: dict[str, Any]) -> None:
    """A generated client names its functions by operationId; citymind.client has a method of each name (the
    ``version_`` / ``infer_version`` operations are its methods' ``version=`` argument)."""
    from citymind.client import AsyncClient, Client

    ids = [operation["operationId"] for _, _, operation in operations(spec)]
    assert len(ids) == len(set(ids)), ids
    by_version = {"infer_version": "infer", "version_metadata": "model_metadata", "version_ready": "model_ready"}
    missing = [
        i for i in ids if not (hasattr(Client, by_version.get(i, i)) and hasattr(AsyncClient, by_version.get(i, i)))
    ]
    assert missing == [], missing
