"""The afternoon baseline of issue 23: what a data scientist gets from stock LightGBM in an afternoon. Direct
multi-horizon, one ``LGBMRegressor()`` with default parameters per hour ahead, on the raw values: the last 48
hours, the 24 hours a week before the forecast hours, and the calendar (hour, day of week, month) at the origin.
Refitted on the same schedule as the forecaster under evaluation, so both see the same history."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from models.forecast.features import WINDOW, epoch_seconds
from training.forecast.series_data import HourlySeries


def untuned_lightgbm_forecasts(
    series: HourlySeries,
    origins: np.ndarray,
    horizon: int = 24,
    refit_every_hours: int = 24 * 30,
    threads: int = 1,
    on_block: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """(len(origins), horizon) forecasts; the blocks of origins between refits match ``rolling_origin``'s."""
    import lightgbm

    values = series.values
    features = _features(values, series.frame.index)
    blocks = np.split(origins, np.flatnonzero(np.diff((origins - origins[0]) // max(refit_every_hours, 1))) + 1)
    out = []
    for i, block in enumerate(blocks):
        if on_block:
            on_block(i, len(blocks))
        train = np.arange(WINDOW - 1, block[0] + 1 - horizon)  # every target hour is known at the block's start
        columns = []
        for h in range(1, horizon + 1):
            target = values[train + h]
            seen = ~np.isnan(target)
            model = lightgbm.LGBMRegressor(n_jobs=threads, verbosity=-1)
            model.fit(features[train[seen]], target[seen])
            columns.append(model.predict(features[block]))
        out.append(np.stack(columns, axis=1))
    return np.concatenate(out)


def _features(values: np.ndarray, index: object) -> np.ndarray:
    """Row ``t``: values at t-47..t, at t-167..t-144, and hour, weekday, month of ``t`` (NaN where unknown)."""
    padded = np.concatenate([np.full(WINDOW - 1, np.nan), values])
    lags = np.lib.stride_tricks.sliding_window_view(padded, WINDOW)[: len(values)]
    seconds = epoch_seconds(index)
    days = seconds // 86400
    month = (days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12).astype(np.float64)
    calendar = np.stack([(seconds // 3600) % 24, (days + 3) % 7, month], axis=1).astype(np.float64)
    return np.concatenate([lags[:, -48:], lags[:, :24], calendar], axis=1)


UNTUNED_LIGHTGBM = "untuned_lightgbm"


def untuned_lightgbm_baseline(series: HourlySeries, origins: np.ndarray, horizon: int, refit: int) -> np.ndarray:
    """``untuned_lightgbm_forecasts`` as a baseline of ``compare_forecasters``."""
    return untuned_lightgbm_forecasts(series, origins, horizon, refit)
