"""Indicator early warning (指标预警): recent readings of a city indicator → a regular hourly series (gaps said) →
a forecast with intervals → ``alert`` rules on the actuals and on the forecast → warnings with the departments the
graph names. ``for`` durations run across calls: each call evaluates only the hours the engine has not seen for that
indicator and area, in order, on the engine's rule timers."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from registry import ValidationError
from serving.metrics import RULE_FIRINGS

#: (indicator, model ref, regular hourly history with None for gaps, ISO times) → {"mean", "lower", "upper", ...}
Forecast = Callable[[str, str | None, list[float | None], list[str]], Mapping[str, Any]]


class IndicatorEngine:
    """Warnings for series of one or more indicators; ``max_series`` bounds the per-series memory (oldest out)."""

    def __init__(self, engine: Any, forecast: Forecast, *, max_series: int = 10_000) -> None:
        from registry.component import available_components

        self.engine, self.forecast, self.max_series = engine, forecast, max_series
        self._resample = available_components()["series.resample"]()
        self._seen: OrderedDict[tuple[str, str | None], float] = OrderedDict()
        self._lock = threading.Lock()

    def evaluate(self, series: Mapping[str, Any]) -> dict[str, Any]:
        from serving.alerts import firing_to_event

        indicator, area = str(series["indicator"]), series.get("area")
        hourly = self._resample({"series": list(series["points"])})
        points = [(datetime.fromisoformat(p["t"]), p["value"]) for p in hourly["series"]]
        prediction = dict(
            self.forecast(indicator, series.get("model"), [v for _, v in points], [t.isoformat() for t, _ in points])
        )
        upcoming = _summary(prediction)
        warnings = []
        for when, value in self._new(indicator, area, points):
            event = {"indicator": indicator, "area": area, "value": value, "hour": when.hour}
            if when == points[-1][0]:
                event["forecast"] = upcoming  # the forecast starts after the last reading
            for firing in self.engine.rules.evaluate("alert", event, when.timestamp()):
                if firing.suppressed:
                    continue
                RULE_FIRINGS.labels(firing.version or "", firing.rule).inc()
                source = {"indicator": indicator, "t": when.isoformat(), "value": value}
                warnings.append(firing_to_event(self.engine, firing, area, source))
        return {
            "indicator": indicator,
            "area": area,
            "last": {"t": points[-1][0].isoformat(), "value": points[-1][1]},
            "forecast": prediction,
            "gaps": hourly["gaps"],
            "warnings": warnings,
        }

    def _new(self, indicator: str, area: str | None, points: list[tuple[datetime, Any]]) -> list[tuple[datetime, Any]]:
        """Hours after the last one evaluated for this series (all of them the first time), in order."""
        key = (indicator, area)
        with self._lock:
            last = self._seen.get(key)
            fresh = [(t, v) for t, v in points if last is None or t.timestamp() > last]
            if fresh:
                self._seen[key] = fresh[-1][0].timestamp()
                self._seen.move_to_end(key)
                while len(self._seen) > self.max_series:
                    self._seen.popitem(last=False)
        return fresh


def _summary(prediction: Mapping[str, Any]) -> dict[str, Any]:
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
