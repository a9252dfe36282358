"""What a data scientist's first files get wrong, answered with one line that says what to do (the CLI prints a
CitymindError as `error: …`, exit 2) instead of a pandas or scikit-learn traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.forecast.forecaster import HourlyForecaster
from registry import ValidationError
from training.forecast.evaluation import compare_forecasters
from training.forecast.series_data import load_hourly_series
from training.tables import read_table
from training.text.data import LabelledTexts
from training.text.event_classifier import train_event_classifier


def test_an_empty_file_and_a_header_alone_say_so(tmp_path: Path) -> None:
    empty, header = tmp_path / "empty.csv", tmp_path / "header.csv"
    empty.write_text("", encoding="utf-8")
    header.write_text("text,label\n", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"empty.csv is empty: no header and no rows\.$"):
        read_table(empty)
    with pytest.raises(ValidationError, match=r"header.csv has no rows, only the header \['text', 'label'\]\.$"):
        read_table(header)


def test_too_few_examples_of_a_class_for_the_folds_names_the_class_and_the_way_out() -> None:
    data = LabelledTexts(
        ["路灯坏了", "路灯不亮", "路灯闪", "垃圾没清", "垃圾堆放"], ["路灯"] * 3 + ["垃圾"] * 2, "tiny.csv", "d"
    )
    with pytest.raises(ValidationError) as caught:
        train_event_classifier(data, registry=None, folds=5)  # type: ignore[arg-type]  # refused before any use
    assert str(caught.value) == (
        "tiny.csv: class '垃圾' has 2 example(s); 5-fold cross-validation needs at least 5 of each class. "
        "Add examples, or pass --folds 2."
    )


def test_a_date_without_its_hour_and_a_short_series_say_what_is_missing(tmp_path: Path) -> None:
    days = tmp_path / "days.csv"
    rows = [f"2026-11-{d:02d},{h},{d * 24 + h}" for d in range(1, 29) for h in range(24)]
    days.write_text("date,hr,count\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="its 672 rows fall on 28 distinct times, so --time date does not"):
        load_hourly_series(days, "count", ["date"])
    series = load_hourly_series(days, "count", ["date", "hr"])  # four weeks: too short to evaluate
    with pytest.raises(ValidationError, match=r"the series has 672 hours; the rolling-origin evaluation needs about"):
        compare_forecasters(series, {"ridge": HourlyForecaster}, statsmodels=None)
