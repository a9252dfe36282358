"""The forecast family under the model contract: parameters, not-fitted errors, fit and forecast, ONNX parity on
awkward histories, missing hours, the seasonal-naive baseline and the anomaly detector on residuals."""

from __future__ import annotations

import doctest
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import models.forecast.anomaly
import models.forecast.forecaster
import models.forecast.seasonal_naive
from models.base import NotFittedError
from models.forecast.features import WINDOW, FeatureSpec, design, hour_of_week
from models.forecast.forecaster import HourlyForecaster
from models.forecast.seasonal_naive import SeasonalNaive
from models.onnx_session import make_session
from training.algorithms import FORECAST_FAMILIES, algorithm_card
from training.forecast.defaults import generate_sample_series
from training.forecast.parity import check_forecast_parity, edge_cases
from training.forecast.series_data import HourlySeries, load_hourly_series


@pytest.fixture(scope="module")
def series(tmp_path_factory: pytest.TempPathFactory) -> HourlySeries:
    path = generate_sample_series(tmp_path_factory.mktemp("series") / "pm25.csv", weeks=8)
    return load_hourly_series(path, "pm25", ["time"], exog=["temperature"])


@pytest.fixture(scope="module")
def fitted(series: HourlySeries) -> HourlyForecaster:
    return HourlyForecaster(exog=("temperature",)).fit(series.frame, series.frame["pm25"])


def origins(series: HourlySeries, count: int = 40) -> np.ndarray:
    return np.arange(len(series.values) - 24 - count, len(series.values) - 24)


@pytest.mark.parametrize("algorithm", sorted(FORECAST_FAMILIES))
def test_constructor_is_the_parameter_list_and_the_card_reads_it(algorithm: str) -> None:
    cls = FORECAST_FAMILIES[algorithm]
    params = cls().get_params()
    assert cls(**params).get_params() == params
    card = algorithm_card(algorithm)
    assert card["defaults"] == params and card["family"].endswith(cls.__name__)


@pytest.mark.parametrize("cls", [HourlyForecaster, SeasonalNaive])
def test_unfitted_forecaster_raises_not_fitted(cls: type) -> None:
    with pytest.raises(NotFittedError, match="not fitted yet"):
        cls().predict({"history": np.zeros((1, WINDOW)), "origin": np.zeros((1, 1), dtype=np.int64)})


def test_forecast_interval_and_onnx_parity(fitted: HourlyForecaster, series: HourlySeries) -> None:
    exog = series.frame[["temperature"]].to_numpy()
    feed = fitted.feed(series.values, series.frame.index, origins(series), exog)
    out = fitted.predict_interval(feed)
    assert out["forecast"].shape == (40, 24)
    assert (out["lower"] <= out["forecast"]).all() and (out["forecast"] <= out["upper"]).all()
    actual = series.values[origins(series)[:, None] + np.arange(1, 25)]
    naive = SeasonalNaive(24).fit().predict(feed)
    assert np.nanmean(np.abs(actual - out["forecast"])) < np.nanmean(np.abs(actual - naive))
    report = check_forecast_parity(fitted, fitted.to_onnx(), feed)
    assert report.ok and report.max_rel_diff < 1e-9 and report.rows == 40 + 6


def test_the_onnx_graph_takes_raw_history_with_missing_hours(fitted: HourlyForecaster, series: HourlySeries) -> None:
    feed = edge_cases(fitted.feed(series.values, series.frame.index, origins(series, 2), series.frame[["temperature"]]))
    session = make_session(fitted.to_onnx().SerializeToString())
    assert [i.name for i in session.get_inputs()] == ["history", "origin", "exog"]
    forecast, lower, upper = session.run(["forecast", "lower", "upper"], feed)
    assert np.isfinite(forecast).all() and (lower <= upper).all() and (forecast >= 0).all()
    assert np.allclose(forecast, fitted.predict(feed), rtol=1e-9)


def test_missing_hours_are_masked_not_propagated(fitted: HourlyForecaster, series: HourlySeries) -> None:
    feed = fitted.feed(series.values, series.frame.index, origins(series, 1), series.frame[["temperature"]])
    holes = {k: v.copy() for k, v in feed.items()}
    holes["history"][0, 10:40] = np.nan
    features, level = design(holes, fitted.spec_)
    assert np.isfinite(features).all() and np.isfinite(level).all()
    assert features.shape[1] == fitted.spec_.size


def test_hour_of_week_starts_on_monday() -> None:
    times = pd.DatetimeIndex(["1970-01-05 00:00", "2024-05-01 13:00", "2024-05-05 23:00"])  # Mon, Wed, Sun
    seconds = ((times - pd.Timestamp("1970-01-01")) // pd.Timedelta(seconds=1)).to_numpy()
    assert hour_of_week(seconds).tolist() == [0, 2 * 24 + 13, 6 * 24 + 23]


def test_transform_is_chosen_on_held_out_hours_and_none_for_negative_values(series: HourlySeries) -> None:
    frame = series.frame.drop(columns=["temperature"])
    model = HourlyForecaster().fit(frame, series.frame["pm25"])
    assert model.spec_.transform in {"log1p", "sqrt"}
    temperature = HourlyForecaster().fit(frame, series.frame["temperature"] - 10)
    assert temperature.spec_.transform == "none" and temperature.spec_.exog == ()


def test_the_level_is_a_feature_only_when_the_spec_keeps_it(series: HourlySeries) -> None:
    model = HourlyForecaster().fit(series.frame.drop(columns=["temperature"]), series.frame["pm25"])
    feed = model.feed(series.values, series.frame.index, [400, 500, 900])
    with_level, level = design(feed, FeatureSpec("log1p", level=True))
    without, _ = design(feed, FeatureSpec("log1p", level=False))
    assert with_level.shape[1] == without.shape[1] + 1 == FeatureSpec("log1p").size
    assert np.array_equal(with_level[:, 48 + 24 + 24 + 5], level) and level.min() > 2  # log1p of tens of µg/m³


def test_fit_refuses_irregular_or_short_series(series: HourlySeries) -> None:
    with pytest.raises(ValueError, match="regular hourly index"):
        HourlyForecaster().fit(series.frame.iloc[::2], series.frame["pm25"].iloc[::2])
    with pytest.raises(ValueError, match="needs more history"):
        HourlyForecaster().fit(series.frame.iloc[:200], series.frame["pm25"].iloc[:200])
    with pytest.raises(ValueError, match="exog columns"):
        HourlyForecaster(exog=("wind",)).fit(series.frame, series.frame["pm25"])


def test_seasonal_naive_exports_a_gather(series: HourlySeries) -> None:
    model = SeasonalNaive(season=168, horizon=24).fit()
    history = np.random.default_rng(0).random((3, WINDOW))
    (got,) = make_session(model.to_onnx().SerializeToString()).run(["forecast"], {"history": history})
    assert np.array_equal(got, history[:, :24]) and np.array_equal(model.predict({"history": history}), got)
    with pytest.raises(ValueError, match="horizon ≤ season"):
        SeasonalNaive(season=12, horizon=24).fit()


def test_anomaly_detector_flags_a_spike_residual() -> None:
    from models.forecast.anomaly import ResidualAnomalyDetector

    rng = np.random.default_rng(1)
    residuals = rng.normal(0, 0.2, (400, 24))
    detector = ResidualAnomalyDetector(threshold=4).fit(residuals)
    probe = np.zeros((1, 24))
    probe[0, 5] = 3.0
    assert detector.predict(probe)[0].tolist() == [i == 5 for i in range(24)]
    assert np.allclose(detector.to_dict()["scale"], 0.2, atol=0.03)


def test_loader_inserts_missing_hours_and_reads_date_plus_hour(tmp_path: Path) -> None:
    csv = tmp_path / "counts.csv"
    csv.write_text("dteday,hr,cnt\n1/1/11,0,16\n1/1/11,1,40\n1/1/11,3,13\n", encoding="utf-8")
    loaded = load_hourly_series(csv, "cnt", ["dteday", "hr"])
    assert loaded.frame.index[0] == pd.Timestamp("2011-01-01 00:00") and len(loaded.frame) == 4
    assert loaded.inserted == 1 and loaded.missing == 1 and np.isnan(loaded.values[2])


@pytest.mark.parametrize(
    "module", [models.forecast.forecaster, models.forecast.seasonal_naive, models.forecast.anomaly]
)
def test_docstring_examples_print_their_real_results(module: object) -> None:
    result = doctest.testmod(module, verbose=False)  # type: ignore[arg-type]
    assert result.attempted > 0 and result.failed == 0
