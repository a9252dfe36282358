"""The CLI's tables: a registry listing stays readable in an 80-column terminal, names are never cut, times read
as times; --json keeps every value as it is."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from citymind.cli._output import emit

ROWS = [
    {
        "kind": "algorithm",
        "name": "lightgbm-ridge-blend",
        "created_at": 1796643287941,  # MLflow keeps milliseconds
        "description": "Blend of the LightGBM and ridge direct forecasters: their forecasts averaged in the model's "
        "space, the ridge's weight chosen on the held-out origins; the interval is conformal on the blend's residuals.",
    },
    {"kind": "model", "name": "event-classifier", "created_at": None, "description": "短"},
]


def test_an_80_column_table_keeps_names_whole_and_prose_to_a_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    emit(ROWS, as_json=False, columns=["kind", "name", "created_at", "description"])
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= 80
    body = [line for line in lines if line.startswith("│")]
    assert len(body) == 2  # one line a row: the description is cut with …, nothing wraps
    assert "lightgbm-ridge-blend" in body[0] and "event-classifier" in body[1]
    assert body[0].rstrip(" │").endswith("…") and "Blend of the" in body[0]
    when = datetime.fromtimestamp(1796643287.941).strftime("%Y-%m-%d %H:%M")
    assert when in body[0] and "1796643287941" not in body[0]


def test_json_keeps_every_value(capsys: pytest.CaptureFixture[str]) -> None:
    emit(ROWS, as_json=True)
    assert json.loads(capsys.readouterr().out) == ROWS


def test_one_record_reads_as_field_and_value_with_a_tag_a_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    record = {"name": "event-classifier", "version": 3, "tags": {"citymind.kind": "model", "macro_f1": "0.8762"}}
    emit(record, as_json=False, columns=["name", "version", "tags"])
    lines = [line.rstrip() for line in capsys.readouterr().out.splitlines()]
    assert lines == [
        "name     event-classifier",
        "version  3",
        "tags     citymind.kind=model",
        "         macro_f1=0.8762",
    ]
