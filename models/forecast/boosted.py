"""Gradient-boosted forecasters of hourly city indicators: LightGBM direct (one booster per hour ahead) on the
ridge family's features, and a blend of the two chosen on held-out origins. Both export to the same ONNX
contract as the ridge family (raw history in, forecast and conformal interval out)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from models.forecast.features import FeatureSpec, design, inverse, transform, tree_design, tree_parts
from models.forecast.forecaster import HourlyForecaster, _conformal, _exog_scaling, fitted_like, hours_seen

#: blend weights of the ridge part tried on the held-out origins
BLEND_WEIGHTS = tuple(np.round(np.arange(0.0, 1.01, 0.1), 2))


class BoostedForecaster(HourlyForecaster):
    """Direct multi-horizon LightGBM: one booster per hour ahead on the log (or square root) of the indicator
    relative to its last day's level; features are the ridge family's lags, the week's daily profile, the
    level's summary, the hour of the day and the day of the week as numbers, and weather at the origin.
    Intervals are split-conformal on the last quarter of the origins, per horizon (a quarter rather than the
    ridge's 15%: on a growing series such as bike share a longer calibration stretch keeps the coverage at the
    nominal level). The space is the one the ridge family's
    held-out error chooses (a cheap fit); ``transform`` fixes it. ``n_jobs`` boosters are fitted at once (0: one
    per core), each on one thread, so the trees are the same whatever ``n_jobs`` is.

    >>> import numpy as np, pandas as pd
    >>> hours = pd.date_range("2024-01-01", periods=24 * 7 * 6, freq="h")
    >>> aqi = 60 + 30 * np.sin(2 * np.pi * hours.hour / 24)
    >>> model = BoostedForecaster(horizon=3, n_estimators=20).fit(pd.DataFrame(index=hours), aqi)
    >>> feed = model.feed(aqi, hours, origins=[len(hours) - 1])
    >>> np.round(model.predict(feed), 0).tolist()
    [[60.0, 67.0, 74.0]]
    """

    boosters_: list[Any]  #: one LightGBM booster per hour ahead (set by ``fit``)
    held_out_trees_: np.ndarray  #: the boosters' held-out forecasts the interval is calibrated on (set by ``fit``)

    def __init__(
        self,
        horizon: int = 24,
        n_estimators: int = 150,
        learning_rate: float = 0.1,
        num_leaves: int = 31,
        min_child_samples: int = 50,
        subsample: float = 0.5,
        colsample_bytree: float = 0.5,
        reg_lambda: float = 1.0,
        objective: str = "l2",
        row_stride: int = 2,
        interval: float = 0.8,
        calibration: float = 0.25,
        transform: str = "auto",
        exog: tuple[str, ...] = (),
        season: bool = False,
        holidays: str = "",
        n_jobs: int = 0,
        seed: int = 0,
    ) -> None:
        self.horizon = horizon
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.objective = objective
        self.row_stride = row_stride
        self.interval = interval
        self.calibration = calibration
        self.transform = transform
        self.exog = exog
        self.season = season
        self.holidays = holidays
        self.n_jobs = n_jobs
        self.seed = seed

    def fit(self, X: Any, y: Any = None, *, fitted: Sequence[HourlyForecaster] = ()) -> BoostedForecaster:
        """As ``HourlyForecaster.fit``: a frame on an hourly index holding the ``exog`` columns, the values.
        ``fitted``: forecasters already fitted on the same hours (``--algorithm auto`` passes each family the
        ones before it): the ridge family's transform and level choice and a LightGBM family's boosters with these
        boosting parameters are taken from them instead of being fitted again."""
        values, exog = self._check_training(X, y)
        self.target_ = str(getattr(y, "name", None) or "value")
        self.hours_ = hours_seen(X.index, values)
        scaling = _exog_scaling(exog)
        space, level = self._space(X, y, fitted)
        holidays = self._holiday_days(X)
        self.spec_ = FeatureSpec(space, tuple(self.exog), *scaling, level, self.season, self.holidays, holidays)
        rows = self._rows(values, X.index, exog)
        split = int(len(rows["targets"]) * (1 - self.calibration))
        self._fit_boosters(rows, split, fitted)
        residuals = rows["targets"][split:] - self._calibration_centre(rows, split)
        self.lower_, self.upper_ = _conformal(residuals, self.interval)
        return self

    def _holiday_days(self, X: Any) -> tuple[int, ...]:
        """The region's holidays from the first year of the series to ten years after its last."""
        from models.forecast.public_holidays import holiday_days

        return holiday_days(self.holidays, X.index[0].year, X.index[-1].year + 10) if self.holidays else ()

    def _space(self, X: Any, y: Any, fitted: Sequence[HourlyForecaster]) -> tuple[str, bool]:
        """The transform and whether the level is a feature: what the ridge family's held-out error picks."""
        ridge = HourlyForecaster(horizon=self.horizon, transform=self.transform, exog=self.exog)
        ridge = fitted_like(ridge, fitted, self.hours_) or ridge.fit(X, y)
        return ridge.spec_.transform, ridge.spec_.level

    def _rows(self, values: np.ndarray, index: Any, exog: np.ndarray | None) -> dict[str, np.ndarray]:
        feed, ahead, usable = self._training_feed(values, index, exog)
        self._check_origins(int(usable.sum()))
        trees, level = tree_design(feed, self.spec_)
        targets = transform(ahead[usable], self.spec_.transform) - level[usable, None]
        return {"trees": trees[usable], "targets": targets, "level": level[usable]}

    def _fit_boosters(self, rows: dict[str, np.ndarray], split: int, fitted: Sequence[HourlyForecaster]) -> None:
        """``boosters_`` on every origin, and ``held_out_trees_``: the forecasts (in the model's space, relative
        to the level) of the last ``calibration`` share of the origins by boosters fitted on the ones before."""
        boosting = BoostedForecaster(**{k: getattr(self, k) for k in BoostedForecaster().get_params()})
        same = fitted_like(boosting, fitted, self.hours_)
        if same is not None:  # LightGBM is deterministic: the same parameters on the same rows give the same trees
            self.boosters_, self.held_out_trees_ = same.boosters_, same.held_out_trees_
            return
        held_out = self._boost_all({k: v[:split] for k, v in rows.items()})
        self.held_out_trees_ = _boosted(held_out, rows["trees"][split:])
        self.boosters_ = self._boost_all(rows)

    def _boost_all(self, rows: dict[str, np.ndarray]) -> list[Any]:
        from concurrent.futures import ThreadPoolExecutor

        import lightgbm

        from registry.parallel import worker_count

        every = slice(None, None, max(self.row_stride, 1))  # neighbouring origins share most of their lags
        trees, targets = rows["trees"][every], rows["targets"][every]
        params = self._booster_params()
        bins = lightgbm.Dataset(trees, params=params).construct()  # the features' bins, found once for every hour

        def boost(h: int) -> Any:
            data = lightgbm.Dataset(trees, targets[:, h], reference=bins, params=params)
            return lightgbm.train(params, data, num_boost_round=self.n_estimators)

        with ThreadPoolExecutor(worker_count(self.n_jobs, self.horizon)) as pool:  # LightGBM lets go of the GIL
            return list(pool.map(boost, range(self.horizon)))

    def _calibration_centre(self, rows: dict[str, np.ndarray], split: int) -> np.ndarray:
        """The held-out forecasts the interval is calibrated on (a hook: the blend mixes in its ridge)."""
        return self.held_out_trees_

    def _relative(self, rows: dict[str, np.ndarray]) -> np.ndarray:
        return _boosted(self.boosters_, rows["trees"])

    def _booster_params(self) -> dict[str, Any]:
        return {
            "objective": self.objective,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_child_samples,
            "bagging_fraction": self.subsample,
            "bagging_freq": 1 if self.subsample < 1 else 0,
            "feature_fraction": self.colsample_bytree,
            "lambda_l2": self.reg_lambda,
            "num_threads": 1,
            "seed": self.seed,
            "deterministic": True,
            "max_bin": 63,
            "verbosity": -1,
        }

    def predict_interval(self, X: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """``forecast``, ``lower`` and ``upper`` (N, horizon) for a feed (see ``models.forecast.features``)."""
        self.check_fitted("boosters_")
        trees, level = tree_design(X, self.spec_)
        rows = {"trees": trees, "ridge": design(X, self.spec_)[0] if hasattr(self, "coef_") else trees}
        return self._answer(self._relative(rows) + level[:, None])

    def to_onnx(self) -> Any:
        from models.forecast.onnx_graph import centre_graph
        from models.forecast.tree_ensemble import ML_DOMAIN, ML_OPSET

        self.check_fitted("boosters_")
        return centre_graph(self, self._relative_graph, {ML_DOMAIN: ML_OPSET})

    def _relative_graph(self, g: Any, parts: dict[str, str], ridge_features: Any) -> str:
        from models.forecast.tree_ensemble import tree_ensemble_node

        features = g.op("Concat", *[parts[n] for n in tree_parts(self.spec_)], axis=1)
        out = f"trees{len(g.nodes)}"
        g.nodes.append(tree_ensemble_node(self.boosters_, features, out))
        return g.op("Cast", out, to=11)  # the ensemble answers in float32; the rest of the graph is double


class BlendedForecaster(BoostedForecaster):
    """The LightGBM and ridge direct forecasters averaged in the model's space, the ridge's weight chosen on the
    held-out origins (0: LightGBM alone, 1: ridge alone); the interval is conformal on the blend's residuals."""

    ridge_weight_: float

    def __init__(
        self,
        horizon: int = 24,
        n_estimators: int = 150,
        learning_rate: float = 0.1,
        num_leaves: int = 31,
        min_child_samples: int = 50,
        subsample: float = 0.5,
        colsample_bytree: float = 0.5,
        reg_lambda: float = 1.0,
        objective: str = "l2",
        row_stride: int = 2,
        alpha: float = 1.0,
        interval: float = 0.8,
        calibration: float = 0.25,
        transform: str = "auto",
        exog: tuple[str, ...] = (),
        season: bool = False,
        holidays: str = "",
        n_jobs: int = 0,
        seed: int = 0,
    ) -> None:
        super().__init__(
            horizon, n_estimators, learning_rate, num_leaves, min_child_samples, subsample, colsample_bytree,
            reg_lambda, objective, row_stride, interval, calibration, transform, exog, season, holidays, n_jobs, seed,
        )  # fmt: skip
        self.alpha = alpha

    def _rows(self, values: np.ndarray, index: Any, exog: np.ndarray | None) -> dict[str, np.ndarray]:
        rows = super()._rows(values, index, exog)
        feed, _, usable = self._training_feed(values, index, exog)
        return rows | {"ridge": design(feed, self.spec_)[0][usable]}

    def _calibration_centre(self, rows: dict[str, np.ndarray], split: int) -> np.ndarray:
        """The ridge fitted on the origins before the split, its weight chosen on the ones after (the held-out
        MAE in the indicator's units), then refitted on every origin."""
        coef, intercept = self._solve(rows["ridge"][:split], rows["targets"][:split])
        ridge, trees = rows["ridge"][split:] @ coef.T + intercept, self.held_out_trees_
        shift, space = rows["level"][split:, None], self.spec_.transform
        actual = inverse(rows["targets"][split:] + shift, space)

        def error(w: float) -> float:
            return float(np.abs(inverse(w * ridge + (1 - w) * trees + shift, space) - actual).mean())

        w = self.ridge_weight_ = min(BLEND_WEIGHTS, key=error)
        self.coef_, self.intercept_ = self._solve(rows["ridge"], rows["targets"])
        return w * ridge + (1 - w) * trees

    def _relative(self, rows: dict[str, np.ndarray]) -> np.ndarray:
        w = self.ridge_weight_
        return w * (rows["ridge"] @ self.coef_.T + self.intercept_) + (1 - w) * super()._relative(rows)

    def _relative_graph(self, g: Any, parts: dict[str, str], ridge_features: Any) -> str:
        from models.forecast.onnx_graph import linear_centre

        trees = super()._relative_graph(g, parts, ridge_features)
        ridge = linear_centre(g, ridge_features(), self.coef_, self.intercept_)
        w = self.ridge_weight_
        return g.op("Add", g.op("Mul", ridge, g.const(w)), g.op("Mul", trees, g.const(1.0 - w)))


def _boosted(boosters: list[Any], features: np.ndarray) -> np.ndarray:
    return np.stack([b.predict(features, num_threads=1) for b in boosters], axis=1)
