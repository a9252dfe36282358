"""The gateway's FastAPI app without Ray: readiness, server metadata, the binary tensor extension both ways
(encoded and decoded by tritonclient's own code) and input limits. A stub registry hands out one real ONNX model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from models.onnx_session import OnnxTextClassifier
from models.text.event_classifier import EventClassifier
from serving.app import create_app
from serving.model_hub import ModelHub
from tests.one_model_registry import OneModelRegistry
from training.text.data import load_labelled_texts
from training.text.sample_corpus import generate_sample_reports


@pytest.fixture(scope="module")
def onnx_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("gateway-app")
    data = load_labelled_texts(generate_sample_reports(folder / "r.csv", per_category=20), ["text"], "category")
    path = folder / "event-classifier.onnx"
    path.write_bytes(EventClassifier().fit(data.texts, data.labels).to_onnx().SerializeToString())
    return path


@pytest.fixture
def hub(onnx_path: Path) -> ModelHub:
    return ModelHub(OneModelRegistry(onnx_path))  # type: ignore[arg-type]


@pytest.fixture
def client(hub: ModelHub) -> Iterator[TestClient]:
    with TestClient(create_app(hub)) as http:
        yield http


def test_readiness_is_503_until_a_model_is_served(client: TestClient, hub: ModelHub) -> None:
    before = client.get("/v2/health/ready")
    assert before.status_code == 503 and before.json() == {"ready": False, "models": {}}
    hub.get("event-classifier")
    after = client.get("/v2/health/ready")
    assert after.status_code == 200 and after.json() == {"ready": True, "models": {"event-classifier": 1}}


def test_server_metadata_lists_the_binary_extension(client: TestClient) -> None:
    assert client.get("/v2").json()["extensions"] == ["binary_tensor_data"]


def triton_request(texts: list[str], outputs: list[Any] | None) -> tuple[bytes, dict[str, str]]:
    import tritonclient.http as triton

    tensor = triton.InferInput("text", [len(texts), 1], "BYTES")
    tensor.set_data_from_numpy(np.asarray(texts, dtype=object).reshape(-1, 1))  # binary input
    body, json_size = triton.InferenceServerClient.generate_request_body([tensor], outputs=outputs)
    headers = {"Inference-Header-Content-Length": str(json_size)} if json_size is not None else {}
    return body, headers


def test_binary_outputs_decode_with_tritonclient(client: TestClient, onnx_path: Path) -> None:
    import tritonclient.http as triton

    texts = ["路口红绿灯坏了，车辆乱停堵路", "单位拖欠工资三个月"]
    body, headers = triton_request(texts, outputs=None)  # no outputs named: tritonclient asks for binary
    response = client.post("/v2/models/event-classifier/infer", content=body, headers=headers)
    assert response.status_code == 200 and response.headers["content-type"] == "application/octet-stream"
    header_length = int(response.headers["inference-header-content-length"])
    result = triton.InferResult.from_response_body(response.content, header_length=header_length)
    expected = OnnxTextClassifier.from_path(onnx_path).predict_proba(texts)
    assert np.allclose(result.as_numpy("probabilities"), expected, atol=1e-6)
    labels = [v.decode() for v in result.as_numpy("label").tolist()]
    assert labels == [OnnxTextClassifier.from_path(onnx_path).classes[i] for i in expected.argmax(axis=1)]


def test_outputs_asked_as_json_stay_json(client: TestClient) -> None:
    import tritonclient.http as triton

    outputs = [triton.InferRequestedOutput("label", binary_data=False)]
    body, headers = triton_request(["楼道里闻到煤气味"], outputs)
    response = client.post("/v2/models/event-classifier/infer", content=body, headers=headers)
    assert response.headers["content-type"] == "application/json"
    assert "inference-header-content-length" not in response.headers
    (output,) = response.json()["outputs"]
    assert output["name"] == "label" and output["shape"] == [1] and isinstance(output["data"][0], str)


def test_texts_over_the_limit_are_refused_on_both_endpoints(client: TestClient) -> None:
    long_text = "路灯不亮" * 1251  # 5004 characters
    oip = {"inputs": [{"name": "text", "shape": [2, 1], "datatype": "BYTES", "data": ["路灯不亮", long_text]}]}
    response = client.post("/v2/models/event-classifier/infer", json=oip)
    assert response.status_code == 400
    assert response.json()["error"].startswith("inputs[text]: elements [1] exceed 5000 characters")
    response = client.post("/v1/events/classify", json={"texts": ["路灯不亮", long_text]})
    assert (
        response.status_code == 400
        and response.json()["error"] == "texts.1: String should have at most 5000 characters"
    )


def test_texts_up_to_the_limit_are_read_to_2000_cleaned_characters(client: TestClient) -> None:
    head = "夜间施工噪音扰民睡不着" * 200  # 2200 characters: the model reads the first 2000
    full = client.post("/v1/events/classify", json={"text": head + "公司拖欠工资" * 400}).json()
    cut = client.post("/v1/events/classify", json={"text": head[:2000]}).json()
    assert full["top_k"] == cut["top_k"] and full["category"] == "生态环境"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"text": ""}, "text: String should have at least 1 character"),
        ({"text": " \t\n\u3000"}, "text: must have words in it, not be empty or only whitespace"),
        ({"texts": ["路灯不亮", "  "]}, "texts.1: must have words in it, not be empty or only whitespace (got '  ')"),
        (
            {"text": "路灯不亮", "model": "../etc/passwd"},
            "model: must be an asset name: letters, digits, Chinese characters, '_', '-', '.' and inner spaces"
            " (got '../etc/passwd')",
        ),
        ({"text": "路灯不亮", "model": "a@b", "version": 2}, "model: must be an asset name"),
    ],
)
def test_blank_texts_and_malformed_model_names_are_400(client: TestClient, body: dict[str, Any], message: str) -> None:
    response = client.post("/v1/events/classify", json=body)
    assert response.status_code == 400 and message in response.json()["error"], response.text


def test_malformed_model_name_on_oip_is_400_and_unknown_is_404(client: TestClient) -> None:
    assert client.get("/v2/models/a@b").status_code == 400
    assert client.get("/v2/models/no-such-model").status_code == 404


@pytest.fixture(scope="module")
def iris_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 4-feature logistic regression exported by skl2onnx as it comes (probabilities in a ZipMap) and without."""
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    X = np.random.default_rng(0).random((40, 4)).astype(np.float32)
    fitted = LogisticRegression().fit(X, np.arange(40) % 3)
    folder = tmp_path_factory.mktemp("iris")
    paths = {"zipmap": folder / "zipmap.onnx", "tensors": folder / "tensors.onnx"}
    paths["zipmap"].write_bytes(to_onnx(fitted, X[:1]).SerializeToString())
    paths["tensors"].write_bytes(to_onnx(fitted, X[:1], options={"zipmap": False}).SerializeToString())
    return paths


def test_an_input_of_the_wrong_shape_is_422_naming_the_shape_the_model_takes(iris_models: dict[str, Path]) -> None:
    with TestClient(create_app(ModelHub(OneModelRegistry(iris_models["tensors"], "iris")))) as http:  # type: ignore[arg-type]
        infer = "/v2/models/iris/infer"
        ok = http.post(infer, json={"inputs": [{"name": "X", "shape": [2, 4], "datatype": "FP32", "data": [0.1] * 8}]})
        assert ok.status_code == 200 and ok.json()["outputs"][1]["shape"] == [2, 3]
        for shape in ([2, 3], [6]):
            body = {"inputs": [{"name": "X", "shape": shape, "datatype": "FP32", "data": [0.1] * 6}]}
            wrong = http.post(infer, json=body)
            assert wrong.status_code == 422 and wrong.json()["error"] == (
                f"inputs[X]: the model expects shape [-1, 4] (-1: any size), got {shape}."
            )


def test_a_model_answering_maps_is_refused_with_how_to_export_it(iris_models: dict[str, Path]) -> None:
    with TestClient(create_app(ModelHub(OneModelRegistry(iris_models["zipmap"], "iris")))) as http:  # type: ignore[arg-type]
        body = {"inputs": [{"name": "X", "shape": [1, 4], "datatype": "FP32", "data": [0.1] * 4}]}
        refused = http.post("/v2/models/iris/infer", json=body)
        assert refused.status_code == 409, refused.text
        message = refused.json()["error"]
        assert "output_probability (seq(map(int64,tensor(float))))" in message and "'zipmap': False" in message


def test_a_fault_of_the_gateway_is_json_with_an_incident_id(
    hub: ModelHub, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import serving.oip

    def broken(name: str, array: np.ndarray) -> dict[str, object]:
        raise AttributeError("'list' object has no attribute 'dtype'")

    monkeypatch.setattr(serving.oip, "encode_output", broken)
    with TestClient(create_app(hub), raise_server_exceptions=False) as http:
        body = {"inputs": [{"name": "text", "shape": [1, 1], "datatype": "BYTES", "data": ["路灯不亮"]}]}
        answer = http.post("/v2/models/event-classifier/infer", json=body)
    assert answer.status_code == 500 and answer.headers["content-type"] == "application/json"
    incident = answer.json()["error"].split()[2]
    assert (
        answer.json()["error"]
        == f"internal error {incident} on /v2/models/event-classifier/infer; the gateway's log has its details"
    )
    assert any(f"incident {incident}" in r.getMessage() and r.exc_info for r in caplog.records)


def test_head_answers_as_get_without_a_body(client: TestClient) -> None:
    for path in ("/v2/health/live", "/console", "/v2/models/event-classifier"):
        get, head = client.get(path), client.head(path)
        assert head.status_code == get.status_code == 200, path
        assert head.content == b"" and head.headers["content-length"] == str(len(get.content)), path
        assert head.headers["content-type"] == get.headers["content-type"], path
    refused = client.head("/v2/models/event-classifier/infer")  # a POST endpoint
    assert refused.status_code == 405 and refused.headers["allow"] == "POST" and refused.content == b""


def test_a_path_no_endpoint_has_and_a_method_an_endpoint_lacks_are_said_with_what_was_asked(client: TestClient) -> None:
    unknown = client.get("/v1/event/abc")
    assert unknown.status_code == 404 and unknown.json() == {
        "error": "no endpoint GET /v1/event/abc: the gateway's endpoints are listed at /openapi.json (and /docs)"
    }
    wrong = client.get("/v2/models/event-classifier/infer")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"
    assert wrong.json() == {"error": "GET /v2/models/event-classifier/infer: this endpoint takes POST"}
    missing = client.get("/v2/models/no-such-model")  # a 404 of an endpoint keeps its own message
    assert missing.status_code == 404 and "no-such-model" in missing.json()["error"]
    assert "openapi" not in missing.json()["error"]


def test_a_field_the_body_does_not_have_is_refused_naming_those_it_has(client: TestClient) -> None:
    typo = client.post("/v1/events/classify", json={"text": "路灯坏了", "topk": 1})
    assert typo.status_code == 400
    assert typo.json()["error"] == "body: 'topk' is not a field here; the fields are text, texts, top_k, model, version"
    nested = client.post("/v1/events/triage", json={"report": {"text": "南村镇路灯坏了一周", "report_id": "X1"}})
    assert nested.status_code == 400
    assert nested.json()["error"] == (
        "report: 'report_id' is not a field here; the fields are text, id, area, time, channel, reporter"
    )
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    assert [schema[name]["additionalProperties"] for name in ("Report", "ClassifyRequest")] == [False, False]


def test_json_sent_as_another_content_type_is_told_to_say_json(client: TestClient) -> None:
    form = {"content-type": "application/x-www-form-urlencoded"}  # what `curl -d` sends unless told
    answer = client.post("/v1/events/classify", content='{"text": "路灯坏了"}', headers=form)
    assert answer.status_code == 400
    assert answer.json()["error"] == (
        "the body is not a JSON object; send JSON with the header Content-Type: application/json"
    )


def test_a_slow_first_load_holds_up_no_other_model(onnx_path: Path) -> None:
    """One model's first load waiting on the registry: another model loads, and an unknown one is a 404 meanwhile."""
    import threading

    from citymind.errors import AssetNotFound

    class SlowFirst(OneModelRegistry):
        entered, release = threading.Event(), threading.Event()

        def resolve(self, ref: str) -> Any:
            if ref.startswith("slow@"):
                self.entered.set()
                self.release.wait(30)
                raise AssetNotFound(f"no {ref}")
            return super().resolve(ref)

    registry = SlowFirst(onnx_path)
    hub = ModelHub(registry)  # type: ignore[arg-type]
    slow = threading.Thread(target=lambda: pytest.raises(AssetNotFound, hub.get, "slow"))
    slow.start()
    try:
        assert registry.entered.wait(10)
        assert hub.get("event-classifier").version == 1
        assert hub.get("event-classifier", 1).version == 1
        with pytest.raises(AssetNotFound, match="No model 'unknown'"):
            hub.get("unknown")
        assert slow.is_alive()  # all the above answered while the slow load still waits
    finally:
        registry.release.set()
        slow.join(10)
