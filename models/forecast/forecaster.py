"""Multi-horizon forecasts of an hourly city indicator with conformal prediction intervals."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np

from models.base import CityModel, ModelTags, Signature, TensorDecl
from models.forecast.features import WINDOW, FeatureSpec, design, epoch_seconds, inverse, transform, windows

F = TypeVar("F", bound="HourlyForecaster")


class HourlyForecaster(CityModel):
    """Direct multi-horizon ridge regression on the log of an hourly indicator, relative to its last day's level:
    lags (last 2 days, same hours a week ago), the mean daily profile of the week, the level itself when the
    held-out hours say it helps, hour-of-week and weather at the origin. Intervals are split-conformal: quantiles
    of held-out residuals, per horizon.

    >>> import numpy as np, pandas as pd
    >>> hours = pd.date_range("2024-01-01", periods=24 * 7 * 6, freq="h")
    >>> aqi = 60 + 30 * np.sin(2 * np.pi * hours.hour / 24)
    >>> model = HourlyForecaster(horizon=3).fit(pd.DataFrame(index=hours), aqi)
    >>> feed = model.feed(aqi, hours, origins=[len(hours) - 1])
    >>> np.round(model.predict(feed), 1).tolist()
    [[60.0, 67.8, 75.0]]
    """

    tags = ModelTags(
        task="forecast",
        onnx_exportable=True,
        batchable=True,
        latency_critical=True,
        input_kind="series",
        extra={"window": str(WINDOW), "freq": "h"},
    )

    def __init__(
        self,
        horizon: int = 24,
        alpha: float = 1.0,
        interval: float = 0.8,
        calibration: float = 0.25,
        transform: str = "auto",
        exog: tuple[str, ...] = (),
    ) -> None:
        self.horizon = horizon
        self.alpha = alpha
        self.interval = interval
        self.calibration = calibration
        self.transform = transform
        self.exog = exog

    def fit(self, X: Any, y: Any = None, *, fitted: Sequence[HourlyForecaster] = ()) -> HourlyForecaster:
        """``X``: a DataFrame on a regular hourly DatetimeIndex holding the ``exog`` columns (it may have no
        columns); ``y``: the indicator on the same index, NaN where an hour has no reading. ``fitted``: other
        families' forecasters fitted on the same hours, for a family that can reuse their work (this one does not)."""
        values, exog = self._check_training(X, y)
        self.target_ = str(getattr(y, "name", None) or "value")
        self.hours_ = hours_seen(X.index, values)
        scaling = _exog_scaling(exog)
        kinds = [self.transform] if self.transform != "auto" else ["log1p", "sqrt"]
        if np.nanmin(values) < 0 and self.transform in {"auto", "log1p", "sqrt"}:
            kinds = ["none"]
        # the level as a feature pulls a forecast back towards the series' usual level: right for a pollutant
        # after an episode, wrong for a series that grows past its history; the held-out error says which
        held_out = {
            (kind, level): self._held_out(FeatureSpec(kind, tuple(self.exog), *scaling, level), values, X.index, exog)
            for kind in kinds
            for level in (True, False)
        }
        kind, level = min(held_out, key=lambda k: held_out[k][0])  # the lower held-out MAE
        self.spec_ = FeatureSpec(kind, tuple(self.exog), *scaling, level)
        features, targets, residuals = held_out[kind, level][1:]
        self.lower_, self.upper_ = _conformal(residuals, self.interval)
        self.coef_, self.intercept_ = self._solve(features, targets)
        return self

    def _held_out(self, spec: FeatureSpec, values: np.ndarray, index: Any, exog: Any) -> tuple[float, Any, Any, Any]:
        """Fit on all but the last ``calibration`` share of the origins and forecast those: the MAE in the
        indicator's units (which chooses the transform) and the residuals (which set the interval)."""
        self.spec_ = spec
        features, targets, level = self._training_rows(values, index, exog)
        self._check_origins(len(features))
        split = int(len(features) * (1 - self.calibration))
        coef, intercept = self._solve(features[:split], targets[:split])
        centre = features[split:] @ coef.T + intercept
        shift = level[split:, None]
        error = inverse(centre + shift, spec.transform) - inverse(targets[split:] + shift, spec.transform)
        return float(np.abs(error).mean()), features, targets, targets[split:] - centre

    def predict(self, X: Any) -> np.ndarray:
        return self.predict_interval(X)["forecast"]

    def predict_interval(self, X: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """``forecast``, ``lower`` and ``upper`` (N, horizon) for a feed (see ``models.forecast.features``)."""
        self.check_fitted("coef_")
        features, level = design(X, self.spec_)
        return self._answer(features @ self.coef_.T + self.intercept_ + level[:, None])

    def _answer(self, centre: np.ndarray) -> dict[str, np.ndarray]:
        """The forecast and its interval in the indicator's units, from the centre in the model's space."""
        space = self.spec_.transform
        return {
            "forecast": inverse(centre, space),
            "lower": inverse(centre + self.lower_, space),
            "upper": inverse(centre + self.upper_, space),
        }

    def _check_origins(self, usable: int) -> None:
        if usable < 10 * self.horizon:
            raise ValueError(
                f"{type(self).__name__}.fit needs more history: {usable} usable forecast origins (a week of history "
                f"and {self.horizon} h ahead, day level observed); give at least a few weeks of hourly data."
            )

    def feed(self, values: Any, index: Any, origins: Any, exog: Any = None) -> dict[str, np.ndarray]:
        """The feed for forecasts made at ``origins`` (positions in ``values``, the last hour each one sees)."""
        at = np.asarray(origins, dtype=np.int64)
        out = {
            "history": windows(np.asarray(values, dtype=np.float64), at),
            "origin": epoch_seconds(index)[at][:, None],
        }
        if self.exog:
            out["exog"] = np.asarray(exog, dtype=np.float64)[at]
        return out

    def to_onnx(self) -> Any:
        from models.forecast.onnx_graph import forecaster_graph

        self.check_fitted("coef_")
        return forecaster_graph(self)

    def signature(self) -> Signature:
        inputs = [TensorDecl("history", "float64", (-1, WINDOW)), TensorDecl("origin", "int64", (-1, 1))]
        if self.exog:
            inputs.append(TensorDecl("exog", "float64", (-1, len(self.exog))))
        outputs = tuple(TensorDecl(n, "float64", (-1, self.horizon)) for n in ("forecast", "lower", "upper"))
        return Signature(tuple(inputs), outputs)

    def _check_training(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray | None]:
        import pandas as pd

        if y is None or not isinstance(getattr(X, "index", None), pd.DatetimeIndex):
            raise ValueError("HourlyForecaster.fit takes (frame on an hourly DatetimeIndex, values of the indicator).")
        values = np.asarray(y, dtype=np.float64)
        if len(values) != len(X) or (len(X) > 1 and (X.index[1:] - X.index[:-1] != pd.Timedelta(hours=1)).any()):
            raise ValueError("HourlyForecaster.fit needs one value per hour on a regular hourly index (gaps as NaN).")
        missing = [c for c in self.exog if c not in X.columns]
        if missing:
            raise ValueError(f"exog columns {missing} are not in the frame; it has {list(X.columns)}.")
        return values, X[list(self.exog)].to_numpy(dtype=np.float64) if self.exog else None

    def _training_rows(self, values: np.ndarray, index: Any, exog: np.ndarray | None) -> tuple[Any, Any, Any]:
        feed, ahead, usable = self._training_feed(values, index, exog)
        features, level = design(feed, self.spec_)
        targets = transform(ahead[usable], self.spec_.transform) - level[usable, None]
        return features[usable], targets, level[usable]

    def _training_feed(self, values: np.ndarray, index: Any, exog: np.ndarray | None) -> tuple[Any, Any, Any]:
        """The feed of every origin with a week behind it and the horizon ahead, the values ahead, and which
        origins are usable (some reading in the last day, every hour ahead observed)."""
        origins = np.arange(WINDOW - 1, len(values) - self.horizon)
        ahead = values[origins[:, None] + np.arange(1, self.horizon + 1)]
        feed = self.feed(values, index, origins, exog)
        day_seen = ~np.isnan(feed["history"][:, -24:]).all(axis=1)
        return feed, ahead, day_seen & ~np.isnan(ahead).any(axis=1)

    def _solve(self, features: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Ridge coefficients (horizon, features) and an unpenalised intercept (horizon,)."""
        mean_x, mean_y = features.mean(axis=0), targets.mean(axis=0)
        x = features - mean_x
        gram = x.T @ x + self.alpha * np.eye(x.shape[1])
        coef = np.linalg.solve(gram, x.T @ (targets - mean_y)).T
        return coef, mean_y - coef @ mean_x


def hours_seen(index: Any, values: np.ndarray) -> tuple[str, str, float]:
    """What a forecaster was fitted on, cheaply: its first and last hour and the sum of the values."""
    return str(index[0]), str(index[-1]), float(np.nansum(values))


def fitted_like(model: F, fitted: Sequence[HourlyForecaster], hours: tuple[str, str, float]) -> F | None:
    """The forecaster in ``fitted`` of ``model``'s class and parameters fitted on ``hours``, or None."""
    same = (m for m in fitted if type(m) is type(model) and getattr(m, "hours_", None) == hours)
    return next((m for m in same if m.get_params() == model.get_params()), None)


def _exog_scaling(exog: np.ndarray | None) -> tuple[tuple[float, ...], tuple[float, ...]]:
    if exog is None:
        return (), ()
    mean = np.nan_to_num(np.nanmean(exog, axis=0))
    scale = np.nan_to_num(np.nanstd(exog, axis=0), nan=1.0)
    return tuple(float(v) for v in mean), tuple(float(v) if v > 0 else 1.0 for v in scale)


def _conformal(residuals: np.ndarray, interval: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-horizon residual quantiles with the split-conformal finite-sample correction."""
    n = len(residuals)
    tail = (1 - interval) / 2
    low = max(0.0, np.floor((n + 1) * tail) / n)
    high = min(1.0, np.ceil((n + 1) * (1 - tail)) / n)
    return np.quantile(residuals, low, axis=0), np.quantile(residuals, high, axis=0)
