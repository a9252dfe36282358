"""Trend prediction (趋势预测) endpoint: ``POST /v1/forecast``, recent hourly history in, the next hours with
their interval out. Runs the forecaster's ONNX graph in the ingress process (the fast path, like
``/v1/events/classify``); the graph computes its own features, so the route only checks and shapes the input."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import ConfigDict, Field, JsonValue, StrictFloat, StrictInt, model_validator
from pydantic.json_schema import WithJsonSchema

from citymind.api import ForecastAnswer
from events.forecast import forecast_answer, forecast_contract, forecaster_feed, run_forecaster
from serving.openapi import errors
from serving.replica import Replica
from serving.requests import MAX_VERSION, AssetName, Moment, RequestBody

MAX_HISTORY = 5000
#: ``end``: an hour on the clock between 1971 and 2199 (ISO 8601)
HOUR_PATTERN = (
    r"^(197[1-9]|19[89][0-9]|2[01][0-9][0-9])-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):00:00"
    r"(\.0+)?(Z|[+-](0[0-9]|1[0-4]):[0-5][0-9])?$"
)
#: (the pattern alone: with ``format: date-time`` as well, generators filter out most of what the pattern makes)
HOUR_SCHEMA = {"type": "string", "pattern": HOUR_PATTERN}

Reading = StrictFloat | StrictInt | None


#: a week of hourly PM2.5 readings ending at 08:00, for the example: a daily cycle, a missing hour
WEEK: list[JsonValue] = [round(45 + 25 * math.sin((h - 9) / 24 * 2 * math.pi) + (h % 7), 1) for h in range(168)]
WEEK[100] = None


class ForecastRequest(RequestBody):
    """Hourly readings of one indicator, oldest first, ``null`` for an hour without a reading; ``end`` is the
    wall-clock hour of the last reading (city local time); ``exog`` the weather at that hour, when the model
    uses weather. The model is ``{indicator}-forecaster`` unless ``model`` names another."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"indicator": "pm25", "history": WEEK, "end": "2026-11-27T08:00:00"}]}
    )

    history: list[Reading] = Field(min_length=1, max_length=MAX_HISTORY, description="as many as the model reads")
    end: Annotated[Moment, WithJsonSchema(HOUR_SCHEMA)] = Field(examples=["2026-11-27T08:00:00"])
    exog: dict[str, Reading] | None = Field(default=None, description="the weather columns the model reads")
    indicator: str = Field(default="pm25", pattern=r"^[a-z0-9][a-z0-9_-]{0,60}$")
    model: AssetName | None = Field(default=None, description="default: {indicator}-forecaster")
    version: int | None = Field(default=None, ge=1, le=MAX_VERSION)

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
        if not datetime(1970, 1, 2) <= self.end.replace(tzinfo=None) < datetime(2200, 1, 1):
            raise ValueError("end must be after 1970-01-02 and before 2200-01-01")
        return self


def forecast_router(replica: Replica) -> APIRouter:
    router = APIRouter(tags=["Trend prediction"])
    hub = replica.hub

    @router.post("/v1/forecast", response_model=ForecastAnswer, responses=errors(404, 422, 503))
    async def forecast(body: ForecastRequest) -> dict[str, object]:
        """The next hours of an indicator with a conformal interval, and the model name and version that made
        them. ``summary`` (max, min, mean, hours) is what forecast alert rules read."""
        return await replica.off_loop(forecast_here, body)

    def forecast_here(body: ForecastRequest) -> dict[str, object]:
        model = hub.get(body.model or f"{body.indicator}-forecaster", body.version)  # a load happens off the loop
        contract = forecast_contract(model)
        feed = forecaster_feed(contract, list(body.history), body.end, body.exog)
        return dict(forecast_answer(model, contract, body.end, *run_forecaster(model, feed)))

    return router
