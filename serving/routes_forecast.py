"""Trend prediction (趋势预测) endpoint: ``POST /v1/forecast``, recent hourly history in, the next hours with
their interval out. Runs the forecaster's ONNX graph in the ingress process (the fast path, like
``/v1/events/classify``); the graph computes its own features, so the route only checks and shapes the input."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from fastapi import APIRouter
from pydantic import BaseModel, Field, StrictFloat, StrictInt, model_validator

from registry import ValidationError
from serving.model_hub import ModelHub, ServedModel

MAX_HISTORY = 5000
#: A forecast needs a reading in the last day (the level it starts from) and half of the week it reads.
MIN_OBSERVED_FRACTION = 0.5

Reading = StrictFloat | StrictInt | None


class ForecastRequest(BaseModel):
    """Hourly readings of one indicator, oldest first, ``null`` for an hour without a reading; ``end`` is the
    wall-clock hour of the last reading (city local time); ``exog`` the weather at that hour, when the model
    uses weather. The model is ``{indicator}-forecaster`` unless ``model`` names another."""

    history: list[Reading] = Field(min_length=1, max_length=MAX_HISTORY)
    end: datetime
    exog: dict[str, Reading] | None = None
    indicator: str = Field(default="pm25", pattern=r"^[a-z0-9][a-z0-9_-]{0,60}$")
    model: str | None = Field(default=None, max_length=100, description="default: {indicator}-forecaster")
    version: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def finite_readings(self) -> ForecastRequest:
        bad = [i for i, v in enumerate(self.history) if v is not None and not math.isfinite(v)]
        if bad:
            raise ValueError(f"history{bad[:5]} is NaN or infinite; send null for an hour without a reading")
        bad_exog = [k for k, v in (self.exog or {}).items() if v is not None and not math.isfinite(v)]
        if bad_exog:
            raise ValueError(f"exog {bad_exog[:5]} is NaN or infinite; send null for an unknown value")
        if (self.end.minute, self.end.second, self.end.microsecond) != (0, 0, 0):
            raise ValueError(f"end {self.end.isoformat()} is not on the hour; give the hour of the last reading")
        if self.end.replace(tzinfo=None) < datetime(1970, 1, 2):
            raise ValueError("end must be after 1970-01-02")
        return self


_CONTRACTS: dict[int, tuple[Any, dict[str, Any]]] = {}


def forecast_contract(model: ServedModel) -> dict[str, Any]:
    """The forecaster's window, horizon and weather columns, from its ONNX metadata (read once per session)."""
    cached = _CONTRACTS.get(id(model.session))
    if cached is not None and cached[0] is model.session:
        return cached[1]
    contract = _read_contract(model)
    if len(_CONTRACTS) >= 64:
        _CONTRACTS.clear()
    _CONTRACTS[id(model.session)] = (model.session, contract)
    return contract


def _read_contract(model: ServedModel) -> dict[str, Any]:
    from models.forecast.onnx_graph import FORECAST_METADATA

    meta = model.session.get_modelmeta().custom_metadata_map
    if FORECAST_METADATA not in meta:
        raise ValidationError(
            f"model {model.name} v{model.version} is not a forecaster; call /v2/models/{model.name}/infer.",
            location="model",
        )
    return dict(json.loads(meta[FORECAST_METADATA]))


def forecast_router(hub: ModelHub) -> APIRouter:
    router = APIRouter(tags=["Trend prediction"])

    @router.post("/v1/forecast")
    async def forecast(body: ForecastRequest) -> dict[str, Any]:
        """The next hours of an indicator with a conformal interval, and the model name and version that made
        them. ``summary`` (max, min, mean, hours) is what forecast alert rules read."""
        model = hub.get(body.model or f"{body.indicator}-forecaster", body.version)
        contract = forecast_contract(model)
        feed = build_feed(body, contract)
        forecast, lower, upper = model.session.run(["forecast", "lower", "upper"], feed)
        return answer(model, contract, body.end, forecast[0], lower[0], upper[0])

    return router


def build_feed(body: ForecastRequest, contract: dict[str, Any]) -> dict[str, np.ndarray]:
    window = int(contract["window"])
    if len(body.history) < window:
        raise ValidationError(
            f"{len(body.history)} hourly values given; this model reads the last {window} (a week): "
            f"send at least {window}, oldest first.",
            location="history",
        )
    recent = np.array([np.nan if v is None else v for v in body.history[-window:]], dtype=np.float64)
    observed = ~np.isnan(recent)
    if not observed[-24:].any() or observed.mean() < MIN_OBSERVED_FRACTION:
        raise ValidationError(
            f"{int(observed.sum())} readings in the last {window} hours and "
            f"{int(observed[-24:].sum())} in the last 24; a forecast needs at least one in the last 24 hours and "
            f"{MIN_OBSERVED_FRACTION:.0%} of the {window}.",
            location="history",
        )
    end = body.end.replace(tzinfo=None)
    feed = {"history": recent[None, :], "origin": np.array([[int((end - datetime(1970, 1, 1)).total_seconds())]])}
    columns = list(contract.get("exog", []))
    if columns:
        feed["exog"] = np.array([exog_values(body.exog, columns)], dtype=np.float64)
    elif body.exog:
        raise ValidationError("this model uses no weather columns; leave 'exog' out.", location="exog")
    return feed


def exog_values(given: dict[str, Any] | None, columns: list[str]) -> list[float]:
    given = given or {}
    missing, unknown = [c for c in columns if c not in given], [c for c in given if c not in columns]
    if missing or unknown:
        raise ValidationError(
            f"this model reads exog {columns} at the last hour (null when unknown); missing {missing}, "
            f"unknown {unknown}.",
            location="exog",
        )
    return [np.nan if given[c] is None else float(given[c]) for c in columns]


def answer(
    model: ServedModel, contract: dict[str, Any], end: datetime, forecast: Any, lower: Any, upper: Any
) -> dict[str, Any]:
    values = [round(float(v), 4) for v in forecast]
    start = end.replace(tzinfo=None) + timedelta(hours=1)
    return {
        "model": model.name,
        "version": model.version,
        "target": contract.get("target"),
        "start": start.isoformat(),
        "freq": "h",
        "interval": contract.get("interval"),
        "forecast": values,
        "lower": [round(float(v), 4) for v in lower],
        "upper": [round(float(v), 4) for v in upper],
        "summary": {
            "max": max(values),
            "min": min(values),
            "mean": round(sum(values) / len(values), 4),
            "hours": len(values),
        },
    }
