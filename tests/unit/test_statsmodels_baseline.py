"""The SARIMAX baseline's blocks of origins give the same forecasts in worker processes as one after another,
in origin order, with progress per block."""

from __future__ import annotations

import numpy as np

from training.forecast.statsmodels_baseline import SarimaxSettings, sarimax_forecasts


def test_blocks_in_processes_give_the_same_forecasts_in_order() -> None:
    hours = np.arange(24 * 20)
    rng = np.random.default_rng(7)
    values = 50 + 20 * np.sin(2 * np.pi * hours / 24) + rng.normal(0, 3, hours.size) + hours / 50
    origins = np.arange(24 * 8, hours.size - 24, 30)
    settings = SarimaxSettings(window=24 * 7, refit_every=3, max_fits=4, maxiter=20)
    progress: list[int] = []

    alone = sarimax_forecasts(values, origins, 24, SarimaxSettings(**{**vars(settings), "jobs": 1}))
    pooled = sarimax_forecasts(
        values, origins, 24, SarimaxSettings(**{**vars(settings), "jobs": 2}), on_origin=progress.append
    )

    assert alone.shape == (len(origins), 24) and np.isfinite(alone).all()
    np.testing.assert_array_equal(pooled, alone)
    assert progress == [min(k + 3, len(origins)) for k in range(0, len(origins), 3)]  # per block of 3 origins
    # a forecast follows its own origin's day: the first hour ahead is near that hour's seasonal level
    expected = 50 + 20 * np.sin(2 * np.pi * (origins + 1) / 24) + (origins + 1) / 50
    assert np.mean(np.abs(alone[:, 0] - expected)) < 6
