"""``POST /v1/indicators/evaluate``: readings of city indicators → forecast → alert rules → warnings with a
department and a priority, as triage would dispatch them (``events.indicators``)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Annotated, cast

from fastapi import APIRouter
from pydantic import ConfigDict, Field, field_validator

from citymind.api import IndicatorAnswer
from events.indicators import IndicatorReadings
from serving.openapi import errors
from serving.replica import Replica
from serving.requests import AssetName, Moment, RequestBody
from serving.routes_forecast import WEEK


class Reading(RequestBody):
    t: Moment | Annotated[float, Field(ge=86_400, le=7_258_118_400)] = Field(
        description="ISO 8601 time or epoch seconds", examples=["2026-11-27T08:00:00"]
    )
    value: float | None = Field(description="the reading; null for a missing one")

    @field_validator("value")
    @classmethod
    def finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("readings must be finite numbers or null (NaN and infinity are not readings)")
        return value


class IndicatorSeries(RequestBody):
    indicator: str = Field(max_length=50, pattern=r"^[A-Za-z0-9_\-.]+$", examples=["pm25"])
    area: str | None = Field(default=None, max_length=50)
    model: AssetName | None = Field(default=None, description="default: {indicator}-forecaster")
    points: list[Reading] = Field(min_length=2, max_length=24 * 7 * 4)


class IndicatorRequest(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "series": [
                        {
                            "indicator": "pm25",
                            "area": "凤台街道",
                            "points": [
                                {"t": (datetime(2026, 11, 20, 9) + timedelta(hours=h)).isoformat(), "value": v}
                                for h, v in enumerate(WEEK)
                                if v is not None  # (FastAPI's spec drops null fields: the hour is left out)
                            ],
                        }
                    ]
                }
            ]
        }
    )

    series: list[IndicatorSeries] = Field(min_length=1, max_length=50)


def indicators_router(replica: Replica) -> APIRouter:
    router = APIRouter(tags=["Event engine"])

    @router.post("/v1/indicators/evaluate", response_model=IndicatorAnswer, responses=errors(404, 422, 503))
    def evaluate_indicators(body: IndicatorRequest) -> dict[str, object]:
        """Recent readings of city indicators → forecasts with intervals → alert rules on actuals and forecasts
        (``for`` durations run across calls per indicator and area) → warnings with the departments responsible."""
        # an IndicatorSeries' fields are IndicatorReadings' (the engine reads the same fields as plain data)
        return {"results": [replica.indicators.evaluate(cast("IndicatorReadings", readings(s))) for s in body.series]}

    return router


def readings(series: IndicatorSeries) -> dict[str, object]:
    """The series as the engine reads it: times as ISO 8601 text or epoch seconds."""
    points = [{"t": p.t.isoformat() if isinstance(p.t, datetime) else p.t, "value": p.value} for p in series.points]
    return {**series.model_dump(exclude={"points"}), "points": points}
