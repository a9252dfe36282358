"""``POST /v1/indicators/evaluate``: readings of city indicators → forecast → alert rules → warnings with a
department and a priority, as triage would dispatch them (``events.indicators``)."""

from __future__ import annotations

import math
from typing import cast

from fastapi import APIRouter
from pydantic import BaseModel, Field, field_validator

from events.indicators import IndicatorReadings
from serving.replica import Replica


class Reading(BaseModel):
    t: str | float = Field(description="ISO 8601 time or epoch seconds")
    value: float | None = Field(description="the reading; null for a missing one")

    @field_validator("value")
    @classmethod
    def finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("readings must be finite numbers or null (NaN and infinity are not readings)")
        return value


class IndicatorSeries(BaseModel):
    indicator: str = Field(max_length=50, pattern=r"^[\w\-.]+$", examples=["pm25"])
    area: str | None = Field(default=None, max_length=50)
    model: str | None = Field(default=None, max_length=100, description="default: {indicator}-forecaster")
    points: list[Reading] = Field(min_length=2, max_length=24 * 7 * 4)


class IndicatorRequest(BaseModel):
    series: list[IndicatorSeries] = Field(min_length=1, max_length=50)


def indicators_router(replica: Replica) -> APIRouter:
    router = APIRouter(tags=["Event engine"])

    @router.post("/v1/indicators/evaluate")
    def evaluate(body: IndicatorRequest) -> dict[str, object]:
        """Recent readings of city indicators → forecasts with intervals → alert rules on actuals and forecasts
        (``for`` durations run across calls per indicator and area) → warnings with the departments responsible."""
        # an IndicatorSeries' fields are IndicatorReadings' (the engine reads the same fields as plain data)
        return {
            "results": [replica.indicators.evaluate(cast("IndicatorReadings", s.model_dump())) for s in body.series]
        }

    return router
