"""The LightGBM and blended forecaster families under the forecast contract: forecast and interval, ONNX parity on
awkward histories (one tree-ensemble node with LightGBM's own double thresholds), the blend's weight, the
afternoon baseline's shape, and several families compared on the same origins."""

from __future__ import annotations

import doctest
from typing import Any

import numpy as np
import pytest

import models.forecast.boosted
from models.base import NotFittedError
from models.forecast.boosted import BlendedForecaster, BoostedForecaster
from models.forecast.features import WINDOW, design_parts, tree_size
from models.forecast.forecaster import HourlyForecaster
from models.forecast.public_holidays import holiday_days
from models.forecast.seasonal_naive import SeasonalNaive
from registry import ValidationError
from training.forecast.defaults import generate_sample_series
from training.forecast.evaluation import compare_forecasters
from training.forecast.forecaster import EvaluationPlan, family_params
from training.forecast.lightgbm_baseline import untuned_lightgbm_forecasts
from training.forecast.parity import check_forecast_parity
from training.forecast.series_data import HourlySeries, load_hourly_series

SMALL: dict[str, Any] = {"n_estimators": 20, "exog": ("temperature",)}


@pytest.fixture(scope="module")
def series(tmp_path_factory: pytest.TempPathFactory) -> HourlySeries:
    path = generate_sample_series(tmp_path_factory.mktemp("series") / "pm25.csv", weeks=8)
    return load_hourly_series(path, "pm25", ["time"], exog=["temperature"])


@pytest.fixture(scope="module", params=[BoostedForecaster, BlendedForecaster], ids=["lightgbm", "blend"])
def fitted(request: pytest.FixtureRequest, series: HourlySeries) -> BoostedForecaster:
    return request.param(**SMALL).fit(series.frame, series.frame["pm25"])


def feed_of(model: HourlyForecaster, series: HourlySeries, count: int = 40) -> dict[str, np.ndarray]:
    at = np.arange(len(series.values) - 24 - count, len(series.values) - 24)
    return model.feed(series.values, series.frame.index, at, series.frame[["temperature"]].to_numpy())


def test_unfitted_boosted_forecaster_raises_not_fitted() -> None:
    with pytest.raises(NotFittedError, match="not fitted yet"):
        BoostedForecaster().predict({"history": np.zeros((1, WINDOW)), "origin": np.zeros((1, 1), dtype=np.int64)})


def test_forecast_beats_same_hour_yesterday_inside_its_interval(
    fitted: BoostedForecaster, series: HourlySeries
) -> None:
    feed = feed_of(fitted, series)
    out = fitted.predict_interval(feed)
    assert out["forecast"].shape == (40, 24) and len(fitted.boosters_) == 24
    assert (out["lower"] <= out["forecast"]).all() and (out["forecast"] <= out["upper"]).all()
    actual = series.values[np.arange(len(series.values) - 64, len(series.values) - 24)[:, None] + np.arange(1, 25)]
    naive = SeasonalNaive(24).fit().predict(feed)
    assert np.nanmean(np.abs(actual - out["forecast"])) < np.nanmean(np.abs(actual - naive))


def test_onnx_parity_on_awkward_histories_with_one_tree_node(fitted: BoostedForecaster, series: HourlySeries) -> None:
    onnx_model = fitted.to_onnx()
    report = check_forecast_parity(fitted, onnx_model, feed_of(fitted, series))
    assert report.ok and report.max_rel_diff < 1e-5 and report.rows == 40 + 6  # float32 sums of the leaves
    trees = [n for n in onnx_model.graph.node if n.op_type == "TreeEnsembleRegressor"]
    assert len(trees) == 1 and {o.domain: o.version for o in onnx_model.opset_import}["ai.onnx.ml"] == 3
    thresholds = next(a for a in trees[0].attribute if a.name == "nodes_values_as_tensor").t
    assert thresholds.data_type == 11  # double: splits fall where LightGBM's do


def test_blend_weight_is_chosen_on_held_out_origins(series: HourlySeries) -> None:
    blend = BlendedForecaster(**SMALL)
    blend.fit(series.frame, series.frame["pm25"])
    assert 0.0 <= blend.ridge_weight_ <= 1.0 and blend.coef_.shape[0] == 24
    assert set(BlendedForecaster().get_params()) - set(BoostedForecaster().get_params()) == {"alpha"}


def test_family_params_take_known_overrides_and_refuse_unknown_ones(series: HourlySeries) -> None:
    plan = EvaluationPlan(horizon=12)
    params = family_params("ridge-direct-forecast", {"n_estimators": 5, "alpha": 3}, plan, series, strict=False)
    assert params["alpha"] == 3 and "n_estimators" not in params and params["horizon"] == 12
    assert params["exog"] == ("temperature",)
    with pytest.raises(ValidationError, match="no parameter"):
        family_params("ridge-direct-forecast", {"n_estimators": 5}, plan, series, strict=True)
    with pytest.raises(ValidationError, match="must be one of"):
        family_params("prophet", None, plan, series, strict=True)


def test_families_compared_on_the_same_origins_and_points(series: HourlySeries) -> None:
    makers = {"ridge": lambda: HourlyForecaster(), "lightgbm": lambda: BoostedForecaster(n_estimators=20)}
    results = compare_forecasters(series, makers, statsmodels=None, stride=49)
    ridge, lightgbm = results["ridge"][1], results["lightgbm"][1]
    assert (ridge.origins == lightgbm.origins).all() and (ridge.usable == lightgbm.usable).all()
    assert results["ridge"][0].methods["seasonal_naive_24h"] == results["lightgbm"][0].methods["seasonal_naive_24h"]
    assert results["ridge"][0].methods["forecaster"] != results["lightgbm"][0].methods["forecaster"]


def test_untuned_lightgbm_baseline_forecasts_every_origin(series: HourlySeries) -> None:
    origins = np.arange(len(series.values) - 24 * 8, len(series.values) - 24, 49)
    forecasts = untuned_lightgbm_forecasts(series, origins, horizon=2)
    actual = series.values[origins[:, None] + np.arange(1, 3)]
    assert forecasts.shape == (len(origins), 2) and np.isfinite(forecasts).all()
    assert np.nanmean(np.abs(forecasts - actual)) < np.nanstd(series.values)


def test_docstring_examples_print_their_real_results() -> None:
    result = doctest.testmod(models.forecast.boosted, verbose=False)
    assert result.attempted > 0 and result.failed == 0


def test_the_gateway_serves_a_tree_family_like_the_ridge(
    fitted: BoostedForecaster, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from fastapi.testclient import TestClient

    from serving.app import create_app
    from serving.model_hub import ModelHub
    from tests.one_model_registry import OneModelRegistry
    from training.forecast.defaults import sample_request

    path = tmp_path_factory.mktemp("tree-app") / "forecaster.onnx"
    path.write_bytes(fitted.to_onnx().SerializeToString())
    body = sample_request(exog=True)
    app = create_app(ModelHub(OneModelRegistry(path, "pm25-forecaster")))  # type: ignore[arg-type]
    with TestClient(app, raise_server_exceptions=False) as http:
        answer = http.post("/v1/forecast", json=body)
    assert answer.status_code == 200, answer.text
    history = np.array([[np.nan if v is None else v for v in body["history"]]])
    origin = np.array([[int(np.datetime64(body["end"], "s").astype(np.int64))]])
    feed = {"history": history, "origin": origin, "exog": np.array([[body["exog"]["temperature"]]])}
    assert np.allclose(answer.json()["forecast"], fitted.predict(feed)[0], rtol=1e-5)


def test_a_family_reuses_what_the_families_before_it_fitted_on_the_same_hours(series: HourlySeries) -> None:
    X, y = series.frame, series.frame["pm25"]
    ridge = HourlyForecaster(exog=SMALL["exog"]).fit(X, y)
    boosted = BoostedForecaster(**SMALL).fit(X, y, fitted=[ridge])
    blend = BlendedForecaster(**SMALL).fit(X, y, fitted=[ridge, boosted])
    alone = BlendedForecaster(**SMALL).fit(X, y)
    assert blend.boosters_ is boosted.boosters_ and alone.boosters_ is not boosted.boosters_
    feed = feed_of(blend, series)
    for key, value in blend.predict_interval(feed).items():  # reusing is only faster: the same model
        assert np.array_equal(value, alone.predict_interval(feed)[key]), key
    assert (blend.ridge_weight_, blend.spec_) == (alone.ridge_weight_, alone.spec_)


def test_nothing_is_reused_from_other_hours_or_other_parameters(series: HourlySeries) -> None:
    X, y = series.frame, series.frame["pm25"]
    boosted = BoostedForecaster(**SMALL).fit(X, y)
    other_trees = BlendedForecaster(**SMALL | {"n_estimators": 21}).fit(X, y, fitted=[boosted])
    earlier = BlendedForecaster(**SMALL).fit(X.iloc[:-24], y.iloc[:-24], fitted=[boosted])
    assert other_trees.boosters_ is not boosted.boosters_ and earlier.boosters_ is not boosted.boosters_
    assert [b.num_trees() for b in other_trees.boosters_[:2]] == [21, 21]
    assert BoostedForecaster(**SMALL).fit(X, y, fitted=[other_trees]).boosters_ is not other_trees.boosters_


def test_the_season_and_holidays_of_the_region_reach_the_trees_and_the_onnx_graph(series: HourlySeries) -> None:
    model = BoostedForecaster(**SMALL | {"holidays": "CN", "season": True}).fit(series.frame, series.frame["pm25"])
    index = series.frame.index
    eve = int(np.flatnonzero(index == "2025-01-27 23:00")[0])  # the next day is Spring Festival's eve
    workday = int(np.flatnonzero(index == "2025-02-10 23:00")[0])
    feed = model.feed(series.values, index, [eve, workday], series.frame[["temperature"]].to_numpy())
    assert design_parts(feed, model.spec_)[0]["holiday"].tolist() == [[1.0, 1.0], [0.0, 0.0]]
    lags, summary, calendar = 48 + 24 + 24, 5 + model.spec_.level, 2 + 1 + 2  # hour, weekday, season, holidays
    assert model.boosters_[0].num_feature() == tree_size(model.spec_) == lags + summary + calendar + 1
    report = check_forecast_parity(model, model.to_onnx(), feed_of(model, series, count=1100))
    assert report.ok and report.max_rel_diff < 1e-5


def test_an_unknown_holiday_region_says_what_to_give() -> None:
    with pytest.raises(ValueError, match="ISO country code"):
        holiday_days("Atlantis", 2024, 2025)
