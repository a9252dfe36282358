"""ONNX parity of a forecaster: the exported graph must give the fitted model's forecast and interval on real
histories and on the awkward ones (missing hours, a silent last day, zeros, spikes, unknown weather)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from models.forecast.forecaster import HourlyForecaster
from models.onnx_session import make_session
from registry import InvalidAsset

if TYPE_CHECKING:
    from onnx import ModelProto

OUTPUTS = ("forecast", "lower", "upper")


@dataclass(frozen=True)
class ForecastParity:
    rows: int
    max_rel_diff: float
    tolerance: float

    @property
    def ok(self) -> bool:
        return self.max_rel_diff <= self.tolerance


def edge_cases(feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Copies of the first rows of ``feed`` made awkward on purpose."""
    rows = {k: np.repeat(v[:1], 6, axis=0).copy() for k, v in feed.items()}
    history = rows["history"]
    history[0, ::3] = np.nan  # every third hour missing
    history[1, -24:] = np.nan  # no reading in the last day: the level falls back to the week
    history[2, :] = 0.0  # a dead-calm week
    history[3, -1] = np.nanmax(history[3]) * 50  # a spike at the origin
    history[4, :-1] = np.nan  # a single reading
    rows["origin"][5] = 0  # 1970-01-01 00:00, the earliest origin
    if "exog" in rows:
        rows["exog"][:3] = np.nan
    return {k: np.concatenate([feed[k], rows[k]]) for k in feed}


def check_forecast_parity(
    model: HourlyForecaster, onnx_model: ModelProto, feed: dict[str, np.ndarray], tolerance: float = 1e-4
) -> ForecastParity:
    """max |Δ| / max(|expected|, 1e-6) over every output, batched and row by row; raises on failure."""
    session = make_session(onnx_model.SerializeToString())
    full = edge_cases(feed)
    expected = model.predict_interval(full)
    batched = dict(zip(OUTPUTS, session.run(list(OUTPUTS), full), strict=True))
    single = [
        session.run(list(OUTPUTS), {k: v[i : i + 1] for k, v in full.items()}) for i in range(len(full["origin"]))
    ]
    worst = 0.0
    for j, name in enumerate(OUTPUTS):
        rowwise = np.vstack([out[j] for out in single])
        for got in (batched[name], rowwise):
            worst = max(worst, _relative(expected[name], got))
    report = ForecastParity(len(full["origin"]), worst, tolerance)
    if not report.ok:
        raise InvalidAsset(
            f"ONNX parity failed: max relative difference {worst:.2e} > {tolerance:.0e} on {report.rows} rows. "
            "The exported forecaster is not registered; models/forecast/onnx_graph.py and features.py disagree."
        )
    return report


def _relative(expected: np.ndarray, got: np.ndarray) -> float:
    if np.isnan(expected).any() or np.isnan(got).any():
        same = np.array_equal(np.isnan(expected), np.isnan(got))
        if not same:
            return float("inf")
    diff = np.abs(expected - got) / np.maximum(np.abs(expected), 1e-6)
    return float(np.nanmax(diff)) if diff.size else 0.0
