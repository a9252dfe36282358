"""The gateway as other platform services call it: real Ray Serve, real HTTP, real onnxruntime."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pytest


def test_classify_a_chinese_report_matches_the_registered_model(client: httpx.Client, gateway_registry: Any) -> None:
    from models.onnx_session import OnnxTextClassifier

    text = "南村镇小区门口垃圾堆放很久没人清理，希望尽快处理"
    body = client.post("/v1/events/classify", json={"text": text}).json()
    assert body["model"] == "event-classifier" and body["version"] == 1
    assert body["category"] == "市容环境" and len(body["top_k"]) == 3
    direct = OnnxTextClassifier.from_path(gateway_registry.load("event-classifier@champion"))
    proba = direct.predict_proba([text])[0]
    assert body["confidence"] == pytest.approx(float(proba.max()), abs=1e-6)
    assert body["top_k"][0]["category"] == direct.classes[int(np.argmax(proba))]


def test_classify_a_batch(client: httpx.Client) -> None:
    texts = ["楼道里闻到很浓的煤气味", "公司拖欠工资三个月不发", "夜间施工噪音扰民睡不着"]
    body = client.post("/v1/events/classify", json={"texts": texts, "top_k": 1}).json()
    assert [r["category"] for r in body["results"]] == ["公共安全", "劳动社保", "生态环境"]
    assert all(len(r["top_k"]) == 1 for r in body["results"])


def test_tritonclient_speaks_to_the_gateway(gateway: str) -> None:
    import tritonclient.http as triton

    client = triton.InferenceServerClient(url=gateway.removeprefix("http://"))
    assert client.is_server_live() and client.is_server_ready()
    assert client.get_server_metadata()["extensions"] == ["binary_tensor_data"]
    assert client.is_model_ready("event-classifier") and client.is_model_ready("event-classifier", "1")
    meta = client.get_model_metadata("event-classifier")
    assert meta["inputs"] == [{"name": "text", "datatype": "BYTES", "shape": [-1, 1]}]
    assert client.get_server_metadata()["name"] == "citymind"

    texts = np.array([["路口红绿灯坏了，车辆乱停堵路"], ["单位不给缴纳社保"]], dtype=object)
    tensor = triton.InferInput("text", [2, 1], "BYTES")
    tensor.set_data_from_numpy(texts, binary_data=False)
    outputs = [
        triton.InferRequestedOutput("label", binary_data=False),
        triton.InferRequestedOutput("probabilities", binary_data=False),
    ]
    result = client.infer("event-classifier", [tensor], outputs=outputs)
    labels = [v.decode() if isinstance(v, bytes) else v for v in result.as_numpy("label").tolist()]
    assert labels == ["道路交通", "劳动社保"]
    assert result.as_numpy("probabilities").shape == (2, 8)
    assert np.allclose(result.as_numpy("probabilities").sum(axis=1), 1.0, atol=1e-5)

    binary = triton.InferInput("text", [2, 1], "BYTES")
    binary.set_data_from_numpy(texts)  # the client's default: the binary tensor extension, both ways
    again = client.infer("event-classifier", [binary], model_version="1")
    assert again.get_output("probabilities")["parameters"]["binary_data_size"] == 2 * 8 * 4
    assert np.allclose(again.as_numpy("probabilities"), result.as_numpy("probabilities"), atol=1e-6)
    assert [v.decode() for v in again.as_numpy("label").tolist()] == ["道路交通", "劳动社保"]


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        ("/v1/events/classify", b"{not json", 400, "not valid JSON"),
        ("/v1/events/classify", b"{}", 400, "exactly one of 'text'"),
        ("/v1/events/classify", b'{"texts": []}', 400, "at least 1 item"),
        ("/v1/events/classify", b'{"text": "' + "长".encode() * 5001 + b'"}', 400, "at most 5000 characters"),
        ("/v1/events/classify", b'{"text": "x", "model": "no-such-model"}', 404, "No model 'no-such-model'"),
        ("/v1/events/classify", b'{"text": "x", "version": 99}', 404, "Version 99 of"),
        ("/v1/events/classify", b'{"texts": ["x", 3]}', 400, "texts.1"),
        ("/v1/events/classify", b'{"text": " \\t\\n\\u3000"}', 400, "text: must have words in it"),
        ("/v1/events/classify", b'{"text": "x", "model": "bad/name"}', 400, "model: must be an asset name"),
        (
            "/v2/models/event-classifier/infer",
            b'{"inputs": [{"name": "text", "shape": [1, 1], "datatype": "BYTES", "data": ["'
            + "长".encode() * 5001
            + b'"]}]}',
            400,
            "exceed 5000 characters",
        ),
        (
            "/v2/models/event-classifier/infer",
            b'{"inputs": [{"name": "text", "shape": [2, 1], "datatype": "BYTES", "data": ["x"]}]}',
            422,
            "needs 2 elements but data has 1",
        ),
        (
            "/v2/models/event-classifier/infer",
            b'{"inputs": [{"name": "text", "shape": [1, 1], "datatype": "FP32", "data": [1.0]}]}',
            422,
            "expects datatype BYTES",
        ),
        (
            "/v2/models/event-classifier/infer",
            b'{"inputs": [{"name": "txt", "shape": [1, 1], "datatype": "BYTES", "data": ["x"]}]}',
            422,
            "unknown ['txt']",
        ),
        (
            "/v2/models/event-classifier/infer",
            b'{"inputs": [{"name": "text", "shape": [1], "datatype": "INT4", "data": [1]}]}',
            400,
            "inputs.0.datatype: Input should be",
        ),
        (
            "/v2/models/event-classifier/versions/abc/infer",
            b'{"inputs": [{"name": "text", "shape": [1, 1], "datatype": "BYTES", "data": ["x"]}]}',
            400,
            "positive integer",
        ),
        (
            "/v2/models/ghost/infer",
            b'{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]}',
            404,
            "ghost",
        ),
    ],
)
def test_bad_requests_get_a_clear_4xx(client: httpx.Client, path: str, body: bytes, status: int, message: str) -> None:
    response = client.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == status, response.text
    assert message in response.json()["error"]


def test_oversized_body_is_413(client: httpx.Client) -> None:
    response = client.post(
        "/v1/events/classify", content=b"x" * (3 * 1024 * 1024), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413 and "exceeds the limit" in response.json()["error"]


def test_openapi_docs_are_served(client: httpx.Client) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/events/classify", "/v2/models/{name}/infer", "/v2/health/ready"} <= set(paths)
