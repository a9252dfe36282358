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
    ``{indicator}-forecaster``); ``labels`` name the series further (a category, a model version): each is a field
    the rules read and part of what keeps the series apart."""

    indicator: Required[str]
    area: str | None
    model: str | None
    labels: dict[str, str]
    points: Required[list[IndicatorReading]]


#: one hour of a series as the rules see it: its time, its value and what else they read of it
Reading = tuple[datetime, float | None, dict[str, object]]


class IndicatorEngine:
    """Warnings for series of one or more indicators, on ``engine``'s rules and event state."""

    def __init__(self, engine: EventEngine, forecast: Forecast) -> None:
        self.engine, self.forecast = engine, forecast
        # the readings' span, not only their count, is bounded: at most 8 weeks of hours (the forecaster reads one)
        self._resample: Component = SeriesResampler(max_buckets=MAX_SPAN_HOURS)

    def evaluate(self, series: IndicatorReadings) -> dict[str, object]:
        indicator, area, labels = str(series["indicator"]), series.get("area"), dict(series.get("labels") or {})
        hourly = self._resample({"series": list(series["points"])})
        points = [(datetime.fromisoformat(p["t"]), p["value"]) for p in hourly["series"]]
        prediction: IndicatorForecast = {
            **self.forecast(indicator, series.get("model"), [v for _, v in points], [t.isoformat() for t, _ in points])
        }
        expected = prediction.pop("expected", None)
        facts: list[dict[str, object]] = [{} for _ in points]
        if expected is not None:  # what the forecaster expected of each hour from the hours before it
            for i, fact in enumerate(facts):
                fact["expected"] = {"mean": expected["mean"][i], "lower": expected["lower"][i],
                                    "upper": expected["upper"][i]}  # fmt: skip
        facts[-1]["forecast"] = _summary(prediction)  # the forecast starts after the last reading
        readings = [(t, v, fact) for (t, v), fact in zip(points, facts, strict=True)]
        last = {"t": points[-1][0].isoformat(), "value": points[-1][1], **facts[-1]}
        last.pop("forecast")
        return {
            "indicator": indicator,
            "area": area,
            **({"labels": labels} if labels else {}),
            "last": last,
            "forecast": prediction,
            "gaps": hourly["gaps"],
            "warnings": self.alert(indicator, area, labels, readings),
        }

    def alert(
        self, indicator: str, area: str | None, labels: dict[str, str], readings: list[Reading]
    ) -> list[dict[str, object]]:
        """``alert`` rules over the hours of a series not evaluated before (in order; all of them the first time,
        to set the ``for`` timers, but only the newest hour's firings reported then); the warnings, recorded. What
        was evaluated is the event state's (shared by the ingress replicas, kept across restarts)."""
        key, hour = (_series_name(indicator, labels), area), readings[-1][0].timestamp()
        [last] = self.engine.state.evaluated([(key, hour)])
        try:
            with self.engine.timers.attempt():  # warnings not recorded: timers and hours set back, for a retry
                return self._warn(indicator, area, labels, readings, last)
        except BaseException:
            self.engine.state.take_back_hours([(key, last, hour if last is None else max(last, hour))])
            raise

    def _warn(
        self, indicator: str, area: str | None, labels: dict[str, str], readings: list[Reading], last: float | None
    ) -> list[dict[str, object]]:
        """The rules over the hours after ``last`` (all of them when None), the warnings recorded."""
        first = last is None
        fresh = [r for r in readings if last is None or r[0].timestamp() > last]
        events = [
            ({"indicator": indicator, "area": area, **labels, "value": value, "hour": when.hour, **facts},
             when.timestamp())
            for when, value, facts in fresh
        ]  # fmt: skip
        warnings, times = [], []
        for (when, value, _), fired in zip(fresh, self.engine.rules.evaluate_many("alert", events), strict=True):
            for firing in fired:
                # a first call replays the history to set the `for` timers; only the present is reported
                if firing.suppressed or (first and when != readings[-1][0]):
                    continue
                RULE_FIRINGS.labels(firing.version or "", firing.rule).inc()
                source = {"indicator": indicator, **labels, "t": when.isoformat(), "value": value}
                warnings.append(firing_to_event(self.engine, firing, area, source))
                times.append(when.timestamp())
        self.engine.record_warnings("warning", warnings, times)
        return warnings


def _series_name(indicator: str, labels: dict[str, str]) -> str:
    """What keeps a series apart in the event state: the indicator, and its labels when it has any."""
    return indicator + "".join(f"|{k}={v}" for k, v in sorted(labels.items()))


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
