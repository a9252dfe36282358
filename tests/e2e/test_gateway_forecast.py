"""Trend prediction through the real gateway (Ray Serve, direct ingress, onnxruntime in the ingress replica):
``/v1/forecast`` equals the registered graph, versions are selectable, OIP v2 serves the same model, bad
histories are a clear 4xx."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pytest

from training.forecast.defaults import register_default_forecaster, sample_request


@pytest.fixture(scope="module")
def forecaster(gateway_registry: Any) -> Any:
    """The SAMPLE forecaster registered twice: v2 is champion, v1 stays selectable by version."""
    from registry import AssetNotFound

    try:
        return gateway_registry.resolve("pm25-forecaster@champion")
    except AssetNotFound:
        register_default_forecaster(gateway_registry)
        return register_default_forecaster(gateway_registry)


def test_forecast_equals_the_registered_graph(client: httpx.Client, gateway_registry: Any, forecaster: Any) -> None:
    from models.onnx_session import make_session

    body = sample_request()
    out = client.post("/v1/forecast", json=body).json()
    assert out["model"] == "pm25-forecaster" and out["version"] == forecaster.version and len(out["forecast"]) == 24
    session = make_session(gateway_registry.load(f"pm25-forecaster/{forecaster.version}"))
    history = np.array([[np.nan if v is None else v for v in body["history"]]])
    origin = np.array([[int(np.datetime64(body["end"], "s").astype(np.int64))]])
    (expected,) = session.run(["forecast"], {"history": history, "origin": origin})
    assert np.allclose(out["forecast"], expected[0], atol=1e-4)
    first = client.post("/v1/forecast", json={**body, "version": 1}).json()
    assert first["version"] == 1 and len(first["lower"]) == 24


def test_oip_v2_serves_the_forecaster(client: httpx.Client, forecaster: Any) -> None:
    body = sample_request()
    history = [50.0 if v is None else v for v in body["history"]]
    inputs = [
        {"name": "history", "shape": [1, 168], "datatype": "FP64", "data": history},
        {"name": "origin", "shape": [1, 1], "datatype": "INT64", "data": [1737331200]},
    ]
    out = client.post(
        "/v2/models/pm25-forecaster/infer", json={"inputs": inputs, "outputs": [{"name": "forecast"}]}
    ).json()
    assert out["model_version"] == str(forecaster.version)
    assert out["outputs"][0]["name"] == "forecast" and out["outputs"][0]["shape"] == [1, 24]


@pytest.mark.parametrize(
    ("changes", "status", "message"),
    [
        ({"history": [50.0] * 24}, 422, "history: 24 hourly values given"),
        ({"history": [None] * 168}, 422, "a forecast needs at least one in the last 24 hours"),
        ({"history": [True] * 168}, 400, "history.0"),
        ({"exog": {"temperature": 3.0}}, 422, "uses no weather columns"),
        ({"model": "event-classifier"}, 422, "is not a forecaster"),
        ({"version": 99}, 404, "Version 99"),
    ],
)
def test_bad_histories_get_a_clear_4xx(
    client: httpx.Client, forecaster: Any, changes: dict[str, Any], status: int, message: str
) -> None:
    response = client.post("/v1/forecast", json={**sample_request(), **changes})
    assert response.status_code == status, response.text
    assert message in response.json()["error"]


def test_nan_is_refused(client: httpx.Client, forecaster: Any) -> None:
    body = sample_request()
    raw = f'{{"end": "{body["end"]}", "history": [' + "50, " * 167 + "NaN]}"
    response = client.post("/v1/forecast", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 400 and "send null" in response.json()["error"]
