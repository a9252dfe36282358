"""Anomalies of a city indicator: hours whose reading lies far from what the forecaster expected."""

from __future__ import annotations

from typing import Any

import numpy as np

from models.base import CityModel, ModelTags, Signature, TensorDecl


class ResidualAnomalyDetector(CityModel):
    """Robust z-scores of forecast residuals (actual − forecast, in the forecaster's working space), one scale
    per horizon: ``|r − median| / (1.4826 · MAD)``; an hour is anomalous above ``threshold``. Fitted on the
    out-of-sample residuals of the rolling-origin evaluation, so the scale is the forecaster's honest error.

    >>> import numpy as np
    >>> residuals = np.random.default_rng(0).normal(0, 1, size=(500, 2))
    >>> detector = ResidualAnomalyDetector(threshold=4).fit(residuals)
    >>> detector.predict(np.array([[0.5, -6.0]])).tolist()
    [[False, True]]
    """

    tags = ModelTags(task="anomaly-detection", onnx_exportable=False, latency_critical=True, input_kind="series")

    def __init__(self, threshold: float = 4.0) -> None:
        self.threshold = threshold

    def fit(self, X: Any, y: Any = None) -> ResidualAnomalyDetector:
        """``X``: residuals (origins, horizon), NaN where the actual was missing."""
        residuals = np.asarray(X, dtype=np.float64)
        if residuals.ndim != 2 or np.isnan(residuals).all(axis=0).any():
            raise ValueError("ResidualAnomalyDetector.fit needs residuals (origins, horizon) with values per horizon.")
        self.median_ = np.nanmedian(residuals, axis=0)
        mad = np.nanmedian(np.abs(residuals - self.median_), axis=0)
        self.scale_ = np.maximum(1.4826 * mad, 1e-9)
        return self

    def score(self, X: Any) -> np.ndarray:
        self.check_fitted("scale_")
        return np.abs(np.asarray(X, dtype=np.float64) - self.median_) / self.scale_

    def predict(self, X: Any) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return self.score(X) > self.threshold

    def to_onnx(self) -> Any:
        raise NotImplementedError("ResidualAnomalyDetector runs beside the forecaster in Python (a few array ops).")

    def signature(self) -> Signature:
        horizon = len(getattr(self, "scale_", [])) or -1
        return Signature(
            (TensorDecl("residuals", "float64", (-1, horizon)),), (TensorDecl("anomaly", "bool", (-1, horizon)),)
        )

    def to_dict(self) -> dict[str, Any]:
        self.check_fitted("scale_")
        return {"threshold": self.threshold, "median": self.median_.tolist(), "scale": self.scale_.tolist()}
