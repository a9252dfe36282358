"""Answers of forecasting and indicator early warning."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from citymind.api.common import Answer


class ForecastAnswer(Answer):
    """The next hours of an indicator with a prediction interval (``interval``, e.g. 0.8)."""

    model: str
    version: int
    target: str
    start: str = Field(description="the first forecast hour (ISO 8601)")
    freq: str
    interval: float
    forecast: list[float]
    lower: list[float]
    upper: list[float]
    summary: dict[str, float]


class IndicatorResult(Answer):
    indicator: str
    area: str | None
    last: dict[str, Any] | None
    forecast: dict[str, Any]
    gaps: list[Any]
    warnings: list[dict[str, Any]]


class IndicatorAnswer(Answer):
    results: list[IndicatorResult]
