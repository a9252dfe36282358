"""A seasonal baseline forecaster for the self-watch's indicators (report counts): each hour is expected to be the
mean of the same hour of the previous ``days`` days; its interval is that mean plus the quantiles of the residuals
of the same estimate over the history, widened to at least the Poisson interval of the mean (a count's own noise,
when the history is short). Nothing to train or register: the history is its own baseline.

Besides the hours ahead, it answers ``expected``: what each hour of the history was expected to be from the days
before it, so a rule can compare an hour's count with its own forecast (``value > expected.upper``).

>>> quiet = [1.0, 0.0] * 24 * 7
>>> out = seasonal_forecast(quiet + [9.0], days=7)
>>> out["expected"]["mean"][-1], out["expected"]["upper"][-1] < 9
(1.0, True)
"""

from __future__ import annotations

import numpy as np

from events.forecast import Expected, IndicatorForecast

PERIOD = 24  # hours: a day
HORIZON = 24
MIN_RESIDUALS = 24  # fewer residuals than this: the Poisson interval alone


def expected_means(history: np.ndarray, days: int) -> np.ndarray:
    """Per hour, the mean of the same hour over the ``days`` days before it (NaN where none was observed)."""
    n = len(history)
    lagged = np.full((days, n), np.nan)
    for k in range(1, days + 1):
        if k * PERIOD < n:
            lagged[k - 1, k * PERIOD :] = history[: n - k * PERIOD]
    seen = ~np.isnan(lagged)
    counts = seen.sum(axis=0)
    sums = np.where(seen, lagged, 0.0).sum(axis=0)
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def seasonal_forecast(
    history: list[float | None], *, days: int = 7, horizon: int = HORIZON, coverage: float = 0.95
) -> IndicatorForecast:
    """The next ``horizon`` hours' mean and interval and, per hour of ``history``, its ``expected`` one (hourly,
    oldest first, None for gaps)."""
    values = np.array([np.nan if v is None else float(v) for v in history], dtype=np.float64)
    means = expected_means(np.concatenate([values, np.full(horizon, np.nan)]), days)
    fitted = means[: len(values)]
    residuals = (values - fitted)[~np.isnan(values - fitted)]
    low, high = _interval(means, residuals, coverage)
    past, ahead = slice(0, len(values)), slice(len(values), None)
    expected: Expected = {"mean": _list(means[past]), "lower": _list(low[past]), "upper": _list(high[past])}
    return {"mean": _list(means[ahead]), "lower": _list(low[ahead]), "upper": _list(high[ahead]), "expected": expected}


def _interval(means: np.ndarray, residuals: np.ndarray, coverage: float) -> tuple[np.ndarray, np.ndarray]:
    from scipy.stats import poisson

    tail = (1 - coverage) / 2
    rates, at = np.unique(np.nan_to_num(np.maximum(means, 0.0)), return_inverse=True)  # few: means of counts
    low, high = poisson.ppf(tail, rates).astype(float)[at], poisson.ppf(1 - tail, rates).astype(float)[at]
    if len(residuals) >= MIN_RESIDUALS:
        low = np.minimum(low, means + np.quantile(residuals, tail))
        high = np.maximum(high, means + np.quantile(residuals, 1 - tail))
    missing = np.isnan(means)
    return np.where(missing, np.nan, np.maximum(low, 0.0)), np.where(missing, np.nan, high)


def _list(values: np.ndarray) -> list[float | None]:
    return [None if v != v else v for v in np.round(values, 3).tolist()]  # NaN → None


def baseline_forecast(
    indicator: str, model: str | None, history: list[float | None], times: list[str]
) -> IndicatorForecast:
    """``seasonal_forecast`` as the indicator engine calls a forecaster (``events.indicators.Forecast``); the
    baseline has no model to name, so ``model`` is not read."""
    return seasonal_forecast(history)
