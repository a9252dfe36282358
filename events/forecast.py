"""Trend prediction (趋势预测) on the fast path: a registered ONNX forecaster run in process. One builder makes
the forecaster's input for ``/v1/forecast`` and for indicator warnings alike (``forecaster_feed``); what each
accepts of a short or gappy history is a ``FeedRules``."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NotRequired, TypedDict

import numpy as np

from citymind.errors import Unprocessable
from models.forecast.onnx_graph import FORECAST_METADATA
from models.served import ModelSource, ServedModel

#: A forecast needs a reading in the last day (the level it starts from) and half of the week it reads.
MIN_OBSERVED_FRACTION = 0.5
Reading = float | int | None


@dataclass(frozen=True)
class FeedRules:
    """What a caller's history must hold. ``pad``: a history shorter than the model's window is padded with gaps
    (else refused); ``min_observed``: readings needed in the window (None: ``MIN_OBSERVED_FRACTION`` of it and
    one in the last day); ``label`` starts the message of a refusal."""

    pad: bool = False
    min_observed: int | None = None
    label: str = ""


#: ``/v1/forecast``: the caller sends the week the model reads
REQUEST = FeedRules()


class ForecastContract(TypedDict):
    """What a forecaster's ONNX metadata says (``models.forecast.onnx_graph.forecast_metadata``): the hours it
    reads (``window``) and forecasts (``horizon``), the weather columns it reads at the origin (``exog``), its
    interval's coverage and its target."""

    window: int
    horizon: NotRequired[int]
    freq: NotRequired[str]
    exog: NotRequired[list[str]]
    interval: NotRequired[float]
    target: NotRequired[str]
    transform: NotRequired[str]


class ModelRef(TypedDict):
    name: str
    version: int


class Expected(TypedDict):
    """Per hour of a history, what a forecaster expected of it from the hours before (a baseline gives this)."""

    mean: list[float | None]
    lower: list[float | None]
    upper: list[float | None]


class IndicatorForecast(TypedDict, total=False):
    """An indicator's forecast as its warnings read it: the hours ahead, the mean and its interval (None where
    a forecaster gives no value), and the model that made it; ``expected``, when the forecaster gives it, each
    hour of the history as it was expected."""

    model: ModelRef
    hours: list[str]
    mean: list[float | None]
    lower: list[float | None]
    upper: list[float | None]
    expected: Expected


_CONTRACTS: dict[int, tuple[object, ForecastContract]] = {}


def forecast_contract(model: ServedModel) -> ForecastContract:
    """The forecaster's window, horizon and weather columns, from its ONNX metadata (read once per session)."""
    cached = _CONTRACTS.get(id(model.session))
    if cached is not None and cached[0] is model.session:
        return cached[1]
    meta = model.session.get_modelmeta().custom_metadata_map
    if FORECAST_METADATA not in meta:
        raise Unprocessable(
            f"model {model.name} v{model.version} is not a forecaster; call /v2/models/{model.name}/infer.",
            location="model",
        )
    contract: ForecastContract = json.loads(meta[FORECAST_METADATA])
    if len(_CONTRACTS) >= 64:
        _CONTRACTS.clear()
    _CONTRACTS[id(model.session)] = (model.session, contract)
    return contract


def forecaster_feed(
    contract: ForecastContract,
    history: list[Reading],
    end: datetime,
    exog: dict[str, Reading] | None = None,
    rules: FeedRules = REQUEST,
) -> dict[str, np.ndarray]:
    """The ONNX inputs: the last ``window`` hourly readings (NaN for gaps), the origin's wall-clock time read as
    UTC (as the model was trained) and, when the model uses weather, ``exog`` at the last hour."""
    window = int(contract["window"])
    if len(history) < window and not rules.pad:
        raise Unprocessable(
            f"{len(history)} hourly values given; this model reads the last {window} (a week): "
            f"send at least {window}, oldest first.",
            location="history",
        )
    recent = np.array([np.nan if v is None else float(v) for v in history[-window:]], dtype=np.float64)
    recent = np.concatenate([np.full(window - len(recent), np.nan), recent])
    _check_observed(recent, window, rules)
    origin = int((end.replace(tzinfo=None) - datetime(1970, 1, 1)).total_seconds())
    feed = {"history": recent[None, :], "origin": np.array([[origin]], dtype=np.int64)}
    columns = list(contract.get("exog", []))
    if columns:
        feed["exog"] = np.array([exog_values(exog, columns)], dtype=np.float64)
    elif exog:
        raise Unprocessable("this model uses no weather columns; leave 'exog' out.", location="exog")
    return feed


def _check_observed(recent: np.ndarray, window: int, rules: FeedRules) -> None:
    observed = ~np.isnan(recent)
    if rules.min_observed is not None:
        if int(observed.sum()) < rules.min_observed:
            raise Unprocessable(
                f"{rules.label}{int(observed.sum())} hourly readings in the last week; the forecaster needs at "
                f"least {rules.min_observed} (it reads {window} hours)"
            )
        return
    if not observed[-24:].any() or observed.mean() < MIN_OBSERVED_FRACTION:
        raise Unprocessable(
            f"{int(observed.sum())} readings in the last {window} hours and "
            f"{int(observed[-24:].sum())} in the last 24; a forecast needs at least one in the last 24 hours and "
            f"{MIN_OBSERVED_FRACTION:.0%} of the {window}.",
            location="history",
        )


def exog_values(given: dict[str, Reading] | None, columns: list[str]) -> list[float]:
    given = given or {}
    missing, unknown = [c for c in columns if c not in given], [c for c in given if c not in columns]
    if missing or unknown:
        raise Unprocessable(
            f"this model reads exog {columns} at the last hour (null when unknown); missing {missing}, "
            f"unknown {unknown}.",
            location="exog",
        )
    return [math.nan if (value := given[c]) is None else float(value) for c in columns]


def run_forecaster(model: ServedModel, feed: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The mean forecast and its interval, each one row of ``horizon`` hours."""
    mean, lower, upper = model.run(["forecast", "lower", "upper"], feed)
    if not (np.isfinite(mean).all() and np.isfinite(lower).all() and np.isfinite(upper).all()):
        raise Unprocessable(
            f"model {model.name} v{model.version} forecasts no finite values from these readings; they are far "
            "outside what it was trained on (send readings in the indicator's units)"
        )
    return mean[0], lower[0], upper[0]


def forecast_answer(
    model: ServedModel,
    contract: ForecastContract,
    end: datetime,
    forecast: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
) -> dict[str, object]:
    """What ``/v1/forecast`` answers: the hours ahead, the interval and the summary forecast rules read."""
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
            "mean": round(math.fsum(v / len(values) for v in values), 4),  # no overflow near the float limit
            "hours": len(values),
        },
    }


def indicator_forecast(
    hub: ModelSource, indicator: str, model: str | None, history: list[float | None], times: list[str],
    min_observed: int = 48,
) -> IndicatorForecast:  # fmt: skip
    """An indicator's forecast for its warnings (``{indicator}-forecaster`` unless ``model`` names another), on a
    regular hourly history with gaps: padded to the model's week, at least ``min_observed`` readings in it."""
    served = hub.get(model or f"{indicator}-forecaster")
    contract = forecast_contract(served)
    if contract.get("exog"):
        raise Unprocessable(f"model {served.name} needs weather at the origin; call /v1/forecast with 'exog'")
    last = datetime.fromisoformat(times[-1])
    rules = FeedRules(pad=True, min_observed=min_observed, label=f"{indicator}: ")
    mean, lower, upper = run_forecaster(served, forecaster_feed(contract, list(history), last, rules=rules))
    return {
        "model": {"name": served.name, "version": served.version},
        "hours": [(last + timedelta(hours=h + 1)).isoformat() for h in range(len(mean))],
        "mean": [round(float(v), 3) for v in mean],
        "lower": [round(float(v), 3) for v in lower],
        "upper": [round(float(v), 3) for v in upper],
    }
