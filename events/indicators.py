"""Indicator early warning (指标预警): recent readings of a city indicator → a regular hourly series (gaps said) →
a forecast with intervals → ``alert`` rules on the actuals and on the forecast → warnings with the departments the
graph names. ``for`` durations run across calls: each call evaluates only the hours the engine has not seen for that
indicator and area, in order, on the engine's rule timers."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Required, TypedDict

from citymind.errors import ValidationError
from events.alerts import firing_to_event
from events.forecast import IndicatorForecast, indicator_forecast
from events.metrics import RULE_FIRINGS
from events.triage import EventEngine
from models.components.base import Component
from models.components.series_resample import SeriesResampler
from models.served import ModelSource

#: hours an indicator's readings may span in one call
MAX_SPAN_HOURS = 24 * 7 * 8

#: (indicator, model ref, regular hourly history with None for gaps, ISO times) → {"mean", "lower", "upper", ...}
Forecast = Callable[[str, str | None, list[float | None], list[str]], IndicatorForecast]


class IndicatorReading(TypedDict):
    t: str | float  # ISO 8601 or epoch seconds
    value: float | None  # None: no reading


class IndicatorReadings(TypedDict, total=False):
    """Recent readings of one indicator in one area (None: city-wide); ``model`` names the forecaster (default
    ``{indicator}-forecaster``)."""

    indicator: Required[str]
    area: str | None
    model: str | None
    points: Required[list[IndicatorReading]]


class IndicatorEngine:
    """Warnings for series of one or more indicators, on ``engine``'s rules and event state."""

    def __init__(self, engine: EventEngine, forecast: Forecast) -> None:
        self.engine, self.forecast = engine, forecast
        # the readings' span, not only their count, is bounded: at most 8 weeks of hours (the forecaster reads one)
        self._resample: Component = SeriesResampler(max_buckets=MAX_SPAN_HOURS)

    def evaluate(self, series: IndicatorReadings) -> dict[str, object]:
        indicator, area = str(series["indicator"]), series.get("area")
        hourly = self._resample({"series": list(series["points"])})
        points = [(datetime.fromisoformat(p["t"]), p["value"]) for p in hourly["series"]]
        prediction: IndicatorForecast = {
            **self.forecast(indicator, series.get("model"), [v for _, v in points], [t.isoformat() for t, _ in points])
        }
        upcoming = _summary(prediction)
        warnings, times = [], []
        fresh, first = self._new(indicator, area, points)
        events = []
        for when, value in fresh:
            event: dict[str, object] = {"indicator": indicator, "area": area, "value": value, "hour": when.hour}
            if when == points[-1][0]:
                event["forecast"] = upcoming  # the forecast starts after the last reading
            events.append((event, when.timestamp()))
        for (when, value), fired in zip(fresh, self.engine.rules.evaluate_many("alert", events), strict=True):
            for firing in fired:
                # a first call replays the week to set the `for` timers; only the present is reported
                if firing.suppressed or (first and when != points[-1][0]):
                    continue
                RULE_FIRINGS.labels(firing.version or "", firing.rule).inc()
                source = {"indicator": indicator, "t": when.isoformat(), "value": value}
                warnings.append(firing_to_event(self.engine, firing, area, source))
                times.append(when.timestamp())
        self.engine.record_warnings("warning", warnings, times)
        return {
            "indicator": indicator,
            "area": area,
            "last": {"t": points[-1][0].isoformat(), "value": points[-1][1]},
            "forecast": prediction,
            "gaps": hourly["gaps"],
            "warnings": warnings,
        }

    def _new(
        self, indicator: str, area: str | None, points: list[tuple[datetime, float | None]]
    ) -> tuple[list[tuple[datetime, float | None]], bool]:
        """Hours after the last one evaluated for this series (all of them the first time), in order, and whether
        this is the first time. What was evaluated is the event state's: shared by the ingress replicas, kept across
        restarts."""
        [last] = self.engine.state.evaluated([((indicator, area), points[-1][0].timestamp())])
        return [(t, v) for t, v in points if last is None or t.timestamp() > last], last is None


def _summary(prediction: IndicatorForecast) -> dict[str, float]:
    """What rules read of a forecast: its max, min and mean over ``hours`` ahead."""
    mean = [v for v in prediction.get("mean", []) if v is not None]
    if not mean:
        raise ValidationError("the forecast is empty; send a longer history")
    upper = [v for v in prediction.get("upper", []) if v is not None] or mean
    lower = [v for v in prediction.get("lower", []) if v is not None] or mean
    return {
        "max": round(max(mean), 3),
        "min": round(min(mean), 3),
        "mean": round(sum(mean) / len(mean), 3),
        "hours": len(mean),
        "upper_max": round(max(upper), 3),
        "lower_min": round(min(lower), 3),
    }


def onnx_forecast(hub: ModelSource, *, min_observed: int = 48) -> Forecast:
    """Forecasts from the registered ONNX forecaster ``{indicator}-forecaster`` (or the series' ``model``), run in
    process on the fast path (``events.forecast.indicator_forecast``)."""
    return functools.partial(indicator_forecast, hub, min_observed=min_observed)
