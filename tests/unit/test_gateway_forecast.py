"""``POST /v1/forecast`` and the forecaster's OIP endpoint in the gateway app without Ray: the answer equals the
registered graph's, and bad histories get a clear 4xx, never a 500. A stub registry hands out a real ONNX
forecaster (version 1) and the text classifier's absence is irrelevant here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from models.forecast.forecaster import HourlyForecaster
from models.onnx_session import make_session
from serving.app import create_app
from serving.model_hub import ModelHub
from tests.one_model_registry import OneModelRegistry
from training.forecast.defaults import generate_sample_series, sample_request
from training.forecast.series_data import load_hourly_series


@pytest.fixture(scope="module")
def onnx_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("forecast-app")
    series = load_hourly_series(
        generate_sample_series(folder / "s.csv", weeks=6), "pm25", ["time"], exog=["temperature"]
    )
    model = HourlyForecaster(exog=("temperature",)).fit(series.frame, series.frame["pm25"])
    path = folder / "forecaster.onnx"
    path.write_bytes(model.to_onnx().SerializeToString())
    return path


@pytest.fixture
def client(onnx_path: Path) -> Iterator[TestClient]:
    with TestClient(
        create_app(ModelHub(OneModelRegistry(onnx_path, "pm25-forecaster"))), raise_server_exceptions=False
    ) as http:  # type: ignore[arg-type]
        yield http


def test_forecast_equals_the_graph_and_carries_a_summary(client: TestClient, onnx_path: Path) -> None:
    body = sample_request(exog=True)
    answer = client.post("/v1/forecast", json={**body, "version": 1})
    assert answer.status_code == 200, answer.text
    out = answer.json()
    assert out["model"] == "pm25-forecaster" and out["version"] == 1 and out["target"] == "pm25"
    assert len(out["forecast"]) == 24 and out["start"] == "2025-01-20T00:00:00" and out["interval"] == 0.8
    history = np.array([[np.nan if v is None else v for v in body["history"]]])
    origin = np.array([[int(np.datetime64(body["end"], "s").astype(np.int64))]])
    (expected,) = make_session(onnx_path).run(
        ["forecast"], {"history": history, "origin": origin, "exog": [[body["exog"]["temperature"]]]}
    )
    assert np.allclose(out["forecast"], expected[0], atol=1e-4)
    assert all(lo <= f <= hi for lo, f, hi in zip(out["lower"], out["forecast"], out["upper"], strict=True))
    assert out["summary"] == {
        "max": max(out["forecast"]),
        "min": min(out["forecast"]),
        "mean": pytest.approx(np.mean(out["forecast"]), abs=1e-4),
        "hours": 24,
    }


def test_missing_hours_as_null_are_forecast_through(client: TestClient) -> None:
    body = sample_request(exog=True)
    body["history"][-5:-2] = [None, None, None]
    assert client.post("/v1/forecast", json=body).status_code == 200


def test_oip_infer_serves_the_forecaster(client: TestClient) -> None:
    body = sample_request()
    meta = client.get("/v2/models/pm25-forecaster").json()
    assert [i["name"] for i in meta["inputs"]] == ["history", "origin", "exog"]
    assert meta["inputs"][0] == {"name": "history", "datatype": "FP64", "shape": [-1, 168]}
    filled = [50.0 if v is None else v for v in body["history"]]
    inputs = [
        {"name": "history", "shape": [1, 168], "datatype": "FP64", "data": filled},
        {"name": "origin", "shape": [1, 1], "datatype": "INT64", "data": [1737331200]},
        {"name": "exog", "shape": [1, 1], "datatype": "FP64", "data": [3.0]},
    ]
    out = client.post("/v2/models/pm25-forecaster/infer", json={"inputs": inputs}).json()
    assert {o["name"]: o["shape"] for o in out["outputs"]} == {"forecast": [1, 24], "lower": [1, 24], "upper": [1, 24]}


def _with(**changes: Any) -> dict[str, Any]:
    return {**sample_request(exog=True), **changes}


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (lambda: _with(history=[50.0] * 100), 422, "history: 100 hourly values given; this model reads the last 168"),
        (lambda: _with(history=[None] * 168), 422, "a forecast needs at least one in the last 24 hours"),
        (lambda: _with(history=[50.0] * 100 + [None] * 68), 422, "0 in the last 24"),
        (lambda: _with(history=["50"] * 168), 400, "history.0"),
        (lambda: _with(history="fifty"), 400, "history"),
        (lambda: _with(end="2025-01-19T23:30:00"), 400, "not on the hour"),
        (lambda: _with(end="yesterday"), 400, "end"),
        (lambda: _with(end="1960-01-01T00:00:00"), 400, "after 1970"),
        (lambda: _with(exog=None), 422, "missing ['temperature']"),
        (lambda: _with(exog={"temperature": 3.0, "wind": 1.0}), 422, "unknown ['wind']"),
        (lambda: _with(model="ghost"), 404, "ghost"),
        (lambda: _with(indicator="no2"), 404, "no2-forecaster"),
        (lambda: _with(indicator="PM 2.5"), 400, "indicator"),
        (lambda: _with(version=7), 404, "Version 7"),
        (lambda: _with(model="../x"), 400, "must be an asset name"),
    ],
)
def test_bad_requests_get_a_clear_4xx(client: TestClient, body: Any, status: int, message: str) -> None:
    response = client.post("/v1/forecast", json=body())
    assert response.status_code == status, response.text
    assert message in response.json()["error"]


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_readings_are_refused_with_a_hint(client: TestClient, literal: bytes) -> None:
    body = sample_request()
    raw = (
        "{" + f'"end": "{body["end"]}", "exog": {{"temperature": 1}}, "history": [' + ", ".join(["50"] * 167)
    ).encode()
    response = client.post(
        "/v1/forecast", content=raw + b", " + literal + b"]}", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert "send null for an hour without a reading" in response.json()["error"]
