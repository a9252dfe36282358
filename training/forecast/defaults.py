"""The default forecaster of a fresh platform: trained on a generated SAMPLE series of Pingdu-style hourly
PM2.5 (daily and weekly cycles, multi-day episodes, missing hours), so ``/v1/forecast`` works out of the box
without real data. It is not an evaluation."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from registry import AssetVersion, MlflowRegistry
from training.champion import SAMPLE_TAG
from training.forecast.forecaster import EvaluationPlan, train_forecaster
from training.forecast.series_data import load_hourly_series

DEFAULT_NAME = "pm25-forecaster"  #: ``{indicator}-forecaster``, what /v1/forecast and /v1/indicators/evaluate look up


def generate_sample_series(path: Path, weeks: int = 10, seed: int = 0) -> Path:
    """A CSV ``time,pm25,temperature,sample`` of ``weeks`` of hourly readings; ~2% of hours missing."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    hours = pd.date_range("2025-01-06", periods=weeks * 168, freq="h")
    daily = 12 * np.sin(2 * np.pi * (hours.hour.to_numpy() - 8) / 24)
    weekday = np.where(hours.dayofweek.to_numpy() < 5, 6.0, -4.0)
    episodes = np.zeros(len(hours))
    for i in range(1, len(hours)):  # AR(1) with slow build-up and sudden clearing, like a winter episode
        episodes[i] = 0.97 * episodes[i - 1] + rng.normal(0, 4) - (30 if rng.random() < 0.004 else 0)
    pm25 = np.clip(55 + daily + weekday + episodes + rng.normal(0, 3, len(hours)), 3, None).round(1)
    pm25[rng.random(len(hours)) < 0.02] = np.nan
    temperature = (2 + 6 * np.sin(2 * np.pi * (hours.hour.to_numpy() - 9) / 24) + rng.normal(0, 1, len(hours))).round(1)
    frame = pd.DataFrame({"time": hours.strftime("%Y-%m-%dT%H:00"), "pm25": pm25, "temperature": temperature})
    frame["sample"] = "synthetic"
    frame.to_csv(path, index=False)
    return path


def register_default_forecaster(registry: MlflowRegistry, name: str = DEFAULT_NAME) -> AssetVersion:
    """Train and register the SAMPLE forecaster as ``name@champion`` (a few seconds: no statsmodels)."""
    with tempfile.TemporaryDirectory() as tmp:
        csv = generate_sample_series(Path(tmp) / "pingdu_sample_pm25.csv")
        series = load_hourly_series(csv, "pm25", ["time"])  # no weather: a default caller has none to send
        result = train_forecaster(
            series,
            registry=registry,
            name=name,
            algorithm="ridge-direct-forecast",  # seconds, not minutes: the sample model is not an evaluation
            plan=EvaluationPlan(statsmodels=None),
            promote=True,
            extra_tags={SAMPLE_TAG: "true", "trained_on": "synthetic Pingdu-style hourly PM2.5"},
        )
    return result.version


def sample_request(weeks: int = 2, seed: int = 1, exog: bool = False) -> dict[str, Any]:
    """A ``/v1/forecast`` body from the generator: the last week of a fresh sample series (with the temperature
    at the last hour when ``exog``)."""
    import pandas as pd

    with tempfile.TemporaryDirectory() as tmp:
        frame = pd.read_csv(generate_sample_series(Path(tmp) / "s.csv", weeks=weeks, seed=seed))
    last = frame.iloc[-168:]
    history = [None if np.isnan(v) else float(v) for v in last["pm25"]]
    body: dict[str, Any] = {"history": history, "end": last["time"].iloc[-1]}
    if exog:
        body["exog"] = {"temperature": float(last["temperature"].iloc[-1])}
    return body
