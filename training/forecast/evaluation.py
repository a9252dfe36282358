"""Rolling-origin evaluation of a forecaster on the last part of a series, against the seasonal-naive baselines
and statsmodels' SARIMAX, on the same origins and the same hours."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.forecast.anomaly import ResidualAnomalyDetector
from models.forecast.features import WINDOW, transform, windows
from models.forecast.forecaster import HourlyForecaster
from models.forecast.seasonal_naive import SeasonalNaive
from registry import ValidationError
from training.forecast.series_data import HourlySeries
from training.forecast.statsmodels_baseline import SarimaxSettings, sarimax_forecasts

MODEL, NAIVE_DAY, NAIVE_WEEK, STATSMODELS = "forecaster", "seasonal_naive_24h", "seasonal_naive_168h", "sarimax"


@dataclass
class ForecastEvaluation:
    """Metrics per method (``mae``, ``mase``, ``smape``), the forecaster's interval coverage, and ratios of the
    forecaster's MASE to each baseline's (< 1: the forecaster is better)."""

    horizon: int
    stride: int
    test_fraction: float
    origins: int
    points: int
    test_start: str
    mase_scale: float
    methods: dict[str, dict[str, float]]
    per_horizon_mae: dict[str, list[float]]
    coverage: float
    interval: float
    interval_width: float
    anomalies: int
    settings: dict[str, Any] = field(default_factory=dict)

    def ratio(self, baseline: str) -> float:
        return self.methods[MODEL]["mase"] / self.methods[baseline]["mase"]

    def ratios(self) -> dict[str, float]:
        names = [m for m in self.methods if m != MODEL]
        out = {f"mase_ratio_vs_{m}": self.ratio(m) for m in names}
        best_naive = min(self.methods[NAIVE_DAY]["mase"], self.methods[NAIVE_WEEK]["mase"])
        return out | {"mase_ratio_vs_best_seasonal_naive": self.methods[MODEL]["mase"] / best_naive}

    def metrics(self) -> dict[str, float]:
        """Flat MLflow metrics: ``mase``, ``smape``, ``mae`` of the forecaster, ``<method>_mase`` ..., ratios,
        ``interval_coverage``."""
        flat = {k: v for k, v in self.methods[MODEL].items()}
        for method, values in self.methods.items():
            if method != MODEL:
                flat |= {f"{method}_{k}": v for k, v in values.items()}
        extra = {"interval_coverage": self.coverage, "interval_width": self.interval_width}
        return flat | self.ratios() | extra | {"residual_anomalies": float(self.anomalies)}


@dataclass
class Forecasts:
    """The evaluation's raw material, kept for the plot and the anomaly detector."""

    origins: np.ndarray
    actual: np.ndarray
    by_method: dict[str, np.ndarray]
    lower: np.ndarray
    upper: np.ndarray
    usable: np.ndarray


def rolling_origin(
    series: HourlySeries,
    make_model: Callable[[], HourlyForecaster],
    *,
    horizon: int = 24,
    stride: int = 25,
    test_fraction: float = 0.2,
    refit_every_hours: int = 24 * 30,
    statsmodels: SarimaxSettings | None = SarimaxSettings(),
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[ForecastEvaluation, Forecasts, ResidualAnomalyDetector]:
    """Origins every ``stride`` hours through the last ``test_fraction`` of the series (25 h by default, so
    they walk through every hour of the day); the forecaster is refitted on everything before an origin every
    ``refit_every_hours``; statsmodels as configured (``None`` leaves it out)."""
    return compare_forecasters(
        series,
        {MODEL: make_model},
        horizon=horizon,
        stride=stride,
        test_fraction=test_fraction,
        refit_every_hours=refit_every_hours,
        statsmodels=statsmodels,
        progress=progress,
    )[MODEL]


#: a baseline computed once for the comparison: ``(series, origins, horizon, refit_every_hours) -> forecasts``
Baseline = Callable[[HourlySeries, np.ndarray, int, int], np.ndarray]


def compare_forecasters(
    series: HourlySeries,
    makers: Mapping[str, Callable[[], HourlyForecaster]],
    *,
    horizon: int = 24,
    stride: int = 25,
    test_fraction: float = 0.2,
    refit_every_hours: int = 24 * 30,
    statsmodels: SarimaxSettings | None = SarimaxSettings(),
    baselines: Mapping[str, Baseline] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, tuple[ForecastEvaluation, Forecasts, ResidualAnomalyDetector]]:
    """``rolling_origin`` for several forecasters at once: the same origins, refits, baselines (computed once)
    and scored points (an hour counts when every method forecast it), so their figures compare."""
    step = progress or (lambda label, done, total: None)
    values = series.values
    test_start = int(len(values) * (1 - test_fraction))
    origins = np.arange(max(test_start - 1, WINDOW), len(values) - horizon, stride)
    if len(origins) < 2 or test_start < 4 * WINDOW:
        needed = math.ceil(max(4 * WINDOW + 1, WINDOW + horizon + 2 * stride) / (1 - test_fraction))
        raise ValidationError(
            f"the series has {len(values)} hours; the rolling-origin evaluation needs about {needed} (four weeks "
            f"before the last {test_fraction:.0%} it forecasts): give a longer series."
        )
    outputs = _forecaster_forecasts(series, makers, origins, refit_every_hours, step)
    feed = {"history": windows(values, origins)}
    shared = {
        NAIVE_DAY: SeasonalNaive(24, horizon).fit().predict(feed),
        NAIVE_WEEK: SeasonalNaive(168, horizon).fit().predict(feed),
    }
    if statsmodels is not None:
        step("statsmodels SARIMAX", 0, len(origins))
        tick = lambda i: step("statsmodels SARIMAX", i, len(origins))  # noqa: E731
        shared[STATSMODELS] = sarimax_forecasts(values, origins, horizon, statsmodels, on_origin=tick)
    for name, baseline in (baselines or {}).items():
        step(name, 0, 1)
        shared[name] = baseline(series, origins, horizon, refit_every_hours)
    actual = values[origins[:, None] + np.arange(1, horizon + 1)]
    every = [*shared.values(), *(out["forecast"] for out in outputs.values())]
    usable = ~np.isnan(actual) & np.logical_and.reduce([np.isfinite(p) for p in every])
    results = {}
    for name, out in outputs.items():
        forecasts = Forecasts(origins, actual, {MODEL: out["forecast"], **shared}, out["lower"], out["upper"], usable)
        settings = {
            "statsmodels": statsmodels.describe() if statsmodels else None,
            "interval": makers[name]().interval,
            "refit_every_hours": refit_every_hours,
            "seconds": out["seconds"],
        }
        results[name] = _summarise(series, forecasts, test_start, stride, test_fraction, settings)
    return results


def _forecaster_forecasts(
    series: HourlySeries,
    makers: Mapping[str, Callable[[], HourlyForecaster]],
    origins: np.ndarray,
    every: int,
    step: Callable[[str, int, int], None],
) -> dict[str, dict[str, Any]]:
    """Each maker's forecasts of ``origins``, refitted every ``every`` hours. At each refit the families are fitted
    in order on the same hours and each is handed the ones fitted before it, whose work it may reuse (a family's
    ``seconds`` leave that work out)."""
    blocks = np.split(origins, np.flatnonzero(np.diff((origins - origins[0]) // max(every, 1))) + 1)
    parts: dict[str, list[dict[str, np.ndarray]]] = {name: [] for name in makers}
    seconds = dict.fromkeys(makers, 0.0)
    exog = series.frame[list(series.exog)].to_numpy() if series.exog else None
    label = f"{', '.join(makers)}: refit and forecast"
    for i, block in enumerate(blocks):
        step(label, i, len(blocks))
        history, fitted = series.frame.iloc[: block[0] + 1], list[HourlyForecaster]()
        for name, make in makers.items():
            started = time.perf_counter()
            model = make().fit(history, history[series.target], fitted=tuple(fitted))
            parts[name].append(model.predict_interval(model.feed(series.values, series.frame.index, block, exog)))
            seconds[name] += time.perf_counter() - started
            fitted.append(model)
    step(label, len(blocks), len(blocks))
    return {
        name: {key: np.concatenate([p[key] for p in done]) for key in done[0]} | {"seconds": round(seconds[name], 2)}
        for name, done in parts.items()
    }


def _summarise(
    series: HourlySeries,
    f: Forecasts,
    test_start: int,
    stride: int,
    test_fraction: float,
    settings: dict[str, Any],
) -> tuple[ForecastEvaluation, Forecasts, ResidualAnomalyDetector]:
    train, horizon = series.values[:test_start], f.actual.shape[1]
    scale = float(np.nanmean(np.abs(train[24:] - train[:-24])))
    methods = {name: _scores(f.actual, pred, f.usable, scale) for name, pred in f.by_method.items()}
    per_horizon = {
        name: [float(np.abs(f.actual - pred)[:, h][f.usable[:, h]].mean()) for h in range(horizon)]
        for name, pred in f.by_method.items()
    }
    inside = (f.actual >= f.lower) & (f.actual <= f.upper)
    space = "log1p" if np.nanmin(train) >= 0 else "none"  # relative errors for counts and concentrations
    residuals = transform(f.actual, space) - transform(f.by_method[MODEL], space)
    detector = ResidualAnomalyDetector().fit(np.where(np.isnan(f.actual), np.nan, residuals))
    evaluation = ForecastEvaluation(
        horizon=horizon,
        stride=stride,
        test_fraction=test_fraction,
        origins=len(f.origins),
        points=int(f.usable.sum()),
        test_start=str(series.frame.index[test_start]),
        mase_scale=scale,
        methods=methods,
        per_horizon_mae=per_horizon,
        coverage=float(inside[f.usable].mean()),
        interval=float(settings["interval"]),
        interval_width=float((f.upper - f.lower)[f.usable].mean()),
        anomalies=int(np.nansum(detector.predict(residuals))),
        settings=settings,
    )
    return evaluation, f, detector


def _scores(actual: np.ndarray, predicted: np.ndarray, usable: np.ndarray, scale: float) -> dict[str, float]:
    y, p = actual[usable], predicted[usable]
    error = np.abs(y - p)
    denominator = np.abs(y) + np.abs(p)
    smape = np.where(denominator > 0, 2 * error / np.where(denominator > 0, denominator, 1), 0.0)
    mae = float(error.mean())
    return {"mae": mae, "mase": mae / scale, "smape": float(100 * smape.mean())}
