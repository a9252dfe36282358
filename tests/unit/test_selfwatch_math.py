"""The self-watch's arithmetic: the population stability index (drift) and the seasonal baseline (demand), on
hand-checked numbers; and the training profile a model version keeps for drift to compare with."""

from __future__ import annotations

import math

import numpy as np
import pytest

from events.baseline import expected_means, seasonal_forecast
from events.drift import FLOOR, psi
from models.text.profile import CONFIDENCE_TAG, confidence_counts, profile_tags, read_profile


def test_psi_is_zero_for_the_same_mix_whatever_the_volume() -> None:
    assert psi({"a": 30, "b": 70}, {"a": 300, "b": 700}) == 0.0


def test_psi_matches_its_formula_and_grows_with_the_shift() -> None:
    expected = (0.8 - 0.5) * math.log(0.8 / 0.5) + (0.2 - 0.5) * math.log(0.2 / 0.5)
    assert psi({"a": 1, "b": 1}, {"a": 8, "b": 2}) == pytest.approx(expected, abs=1e-4)
    mild, strong = psi({"a": 1, "b": 1}, {"a": 6, "b": 4}), psi({"a": 1, "b": 1}, {"a": 9, "b": 1})
    assert mild < 0.1 < 0.25 < strong


def test_psi_counts_a_category_one_side_never_saw_with_a_floor_not_infinity() -> None:
    value = psi({"a": 50, "b": 50}, {"a": 50, "b": 40, "new": 10})
    by_hand = (0.4 - 0.5) * math.log(0.4 / 0.5) + (0.1 - FLOOR) * math.log(0.1 / FLOOR)
    assert value == pytest.approx(by_hand, abs=1e-4) and math.isfinite(value)
    with pytest.raises(ValueError, match="need counts"):
        psi({"a": 1}, {})


def test_the_baseline_expects_each_hour_from_the_same_hour_of_the_days_before() -> None:
    history = np.array([float(h % 24) for h in range(24 * 3)])  # each hour of day has its own level
    history[24 + 5] = 20.0  # a burst on day 2 at 05:00
    means = expected_means(history, days=2)
    assert np.isnan(means[:24]).all()  # the first day has nothing before it
    assert means[24 + 5] == 5.0  # the burst is not expected from the day before
    assert means[48 + 5] == pytest.approx((20.0 + 5.0) / 2)  # it is part of the next day's expectation
    assert means[48 + 7] == 7.0


def test_a_burst_is_above_its_expected_upper_bound_and_an_ordinary_hour_is_not() -> None:
    rng = np.random.default_rng(0)
    daily = np.array([1, 0, 0, 0, 0, 0, 1, 2, 3, 4, 4, 3, 3, 3, 4, 4, 3, 3, 2, 2, 1, 1, 1, 1], dtype=float)
    counts = [float(v) for v in rng.poisson(np.tile(daily, 14))]
    history = [*counts, 15.0]
    forecast = seasonal_forecast(history, days=7)
    mean, upper = forecast["expected"]["mean"], forecast["expected"]["upper"]
    assert upper[-1] is not None and mean[-1] is not None and 3 < upper[-1] < 15  # the burst: 15 where ~1 is usual
    week = range(len(history) - 1 - 7 * 24, len(history) - 1)  # the ordinary hours of the last week
    above = sum(history[i] > upper[i] for i in week)  # type: ignore[operator]
    assert above / len(week) <= 0.05  # a 95% interval: ordinary hours rarely go over it
    n = len(history)
    assert len(forecast["mean"]) == len(forecast["upper"]) == 24
    assert forecast["mean"][9] == pytest.approx(np.mean([history[n + 9 - 24 * k] for k in range(1, 8)]), abs=1e-3)


def test_gaps_are_skipped_and_a_day_of_nothing_leaves_nothing_to_expect() -> None:
    history: list[float | None] = [None] * 24 + [2.0] * 24
    out = seasonal_forecast(history, days=7)
    assert out["expected"]["mean"][:48] == [None] * 48 and out["mean"] == [2.0] * 24
    assert all(lo is not None and lo >= 0 for lo in out["lower"])


def test_the_training_profile_round_trips_through_the_version_tags() -> None:
    tags = profile_tags(["供暖", "市容环境", "市容环境"], confidence_counts([0.05, 0.55, 0.999, 1.0, float("nan")]))
    profile = read_profile(tags)
    assert profile.class_support == {"供暖": 1, "市容环境": 2}
    assert profile.confidence == [1, 0, 0, 0, 0, 1, 0, 0, 0, 2]
    assert read_profile({}).class_support is None and read_profile({CONFIDENCE_TAG: "{oops"}).confidence is None
    assert CONFIDENCE_TAG not in profile_tags(["a"], [0] * 10)  # no held-out confidences: none kept
