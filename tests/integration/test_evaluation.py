"""综合评判 from outcomes, on a real SQLite store filled with events whose outcomes are known: every rate, its
denominator and the median times, per department and per model version; through the gateway's
``GET /v1/evaluation`` and ``citymind events report`` (table, JSON, chart)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from citymind.cli import app as cli
from citymind.settings import get_settings
from events.evaluation import evaluate, headline
from events.records import EventRecords
from registry import MlflowRegistry
from serving.app import create_app
from serving.model_hub import ModelHub
from tests.integration._event_records import T0, events_url, outcome, report

H = 3600.0
NOW = T0 + 20 * 86400
A, B = "市城市管理局", "市生态环境局"


def fill(records: EventRecords) -> None:
    """Six reports and a warning (what happened to each is in the comments)."""
    base = NOW - 5 * 86400
    champion = {"model": "m", "model_version": "1", "model_arm": "champion"}
    challenger = {"model": "m", "model_version": "2", "model_arm": "challenger"}
    records.record([
        report("e1", base, "t", "市容环境", lead=A, **champion),  # right first time, on time, 满意
        report("e2", base, "t", "市容环境", lead=A, **champion),  # 退单, 改派, 改类, late, 不满意
        report("e3", base, "t", "噪声污染", lead=B, **challenger),  # right, on time, reopened, then 基本满意
        report("e4", NOW - 2 * H, "t", "噪声污染", lead=B, **challenger),  # nothing yet, not due
        report("e5", NOW - 48 * H, "t", "噪声污染", lead=B, **challenger),  # nothing yet, past due
        report("e6", NOW - 40 * 86400, "t", "噪声污染", lead=B, **challenger),  # before the period
        {"id": "w1", "kind": "warning", "at": base, "lead": A, "category": "大气污染"},  # not a report
    ])  # fmt: skip
    steps = {
        "e1": [("accepted", 1), ("resolved", 5), ("closed", 6, {"satisfaction": "满意"})],
        "e2": [("returned", 2, {"reason": "非本单位职责"}), ("reassigned", 2, {"department": B}),
               ("category_corrected", 2, {"category": "噪声污染"}), ("accepted", 3), ("resolved", 30),
               ("closed", 31, {"satisfaction": "不满意"})],
        "e3": [("accepted", 1), ("resolved", 2), ("closed", 2, {"satisfaction": "满意"}), ("reopened", 3),
               ("resolved", 4), ("closed", 5, {"satisfaction": "基本满意"})],
    }  # fmt: skip
    for event_id, done in steps.items():
        for kind, hours, *fields in done:
            outcome(records, event_id, kind, base + hours * H, **(fields[0] if fields else {}))


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EventRecords]:
    folder = tmp_path_factory.mktemp("evaluation")
    store = EventRecords(events_url(folder))
    fill(store)
    yield store
    store.close()


def test_every_rate_counts_only_the_events_its_outcome_decides(records: EventRecords) -> None:
    groups = {g["group"]: g for g in evaluate(records, by="department", now=NOW)["groups"]}
    a, b = groups[A], groups[B]
    assert (a["volume"], a["dispatched"], a["returned"], a["reassigned"]) == (2, 2, 1, 1)
    assert (a["first_time_right"], a["category_accuracy"], a["sla_compliance"], a["satisfaction"]) == (0.5,) * 4
    assert (a["reopen_rate"], a["median_accept_s"], a["median_resolve_s"]) == (0.0, 2 * H, 17.5 * H)
    assert (b["volume"], b["dispatched"], b["first_time_right"], b["category_accuracy"]) == (3, 1, 1.0, 1.0)
    assert (b["sla_due"], b["sla_met"], b["sla_compliance"]) == (2, 1, 0.5)  # e4 is not due yet, e5 is late
    assert (b["satisfaction"], b["reopen_rate"], b["median_accept_s"], b["median_resolve_s"]) == (1.0, 1.0, H, 4 * H)


def test_champion_and_challenger_are_compared_on_their_own_events(records: EventRecords) -> None:
    result = evaluate(records, by="model", now=NOW)
    groups = {g["group"]: g for g in result["groups"]}
    assert set(groups) == {"m:1 champion", "m:2 challenger"}
    assert (groups["m:1 champion"]["volume"], groups["m:1 champion"]["category_accuracy"]) == (2, 0.5)
    assert (groups["m:2 challenger"]["volume"], groups["m:2 challenger"]["key"]["model_arm"]) == (3, "challenger")
    assert result["overall"]["volume"] == 5 and result["overall"]["first_time_right"] == round(2 / 3, 4)
    with_warnings = evaluate(records, by="kind", kind=None, now=NOW)
    assert {g["group"]: g["volume"] for g in with_warnings["groups"]} == {"report": 5, "warning": 1}


def test_a_period_without_outcomes_has_no_rates_not_zero_rates(records: EventRecords) -> None:
    empty = evaluate(records, by="area", since=T0 - 86400, until=T0, now=NOW)
    assert empty["groups"] == [] and empty["overall"]["volume"] == 0 and empty["overall"]["first_time_right"] is None
    assert headline(records, now=NOW)["sla_compliance"] == 0.5  # the last 7 days: e1–e5


def test_bad_periods_and_groupings_are_refused(records: EventRecords) -> None:
    from citymind.errors import ValidationError

    with pytest.raises(ValidationError, match="by must be one of"):
        evaluate(records, by="weather", now=NOW)
    with pytest.raises(ValidationError, match="run forward"):
        evaluate(records, since=NOW, until=NOW - 1, now=NOW)


def test_the_gateway_answers_the_evaluation(records: EventRecords, bootstrapped: MlflowRegistry) -> None:
    app = create_app(ModelHub(bootstrapped), records=records, overdue_interval_s=None)
    with TestClient(app) as client:
        period = {"since": "2026-01-01", "until": "2026-02-01"}
        answer = client.get("/v1/evaluation", params={"by": "department", **period})
        assert answer.status_code == 200, answer.text
        assert {g["group"]: g["volume"] for g in answer.json()["groups"]} == {A: 2, B: 3}
        assert client.get("/v1/evaluation", params={"by": "weather"}).status_code == 400
        bad = client.get("/v1/evaluation", params={"since": "yesterday"})
        assert bad.status_code == 400 and "ISO 8601" in bad.text
        backwards = client.get("/v1/evaluation", params={"since": "2026-02-01", "until": "2026-01-01"})
        assert backwards.status_code == 422 and "run forward" in backwards.text


@pytest.fixture
def cli_env(records: EventRecords, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CITYMIND_EVENTS_URL", records.url)
    monkeypatch.setenv("COLUMNS", "200")  # the table's width (a terminal's own)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_the_weekly_report_as_table_json_and_chart(cli_env: None, tmp_path: Path) -> None:
    period = ["--from", "2026-01-01", "--to", "2026-02-01"]
    table = CliRunner().invoke(cli, ["events", "report", *period, "--by", "department"])
    assert table.exit_code == 0, table.output
    assert A in table.output and "50.0%" in table.output and "17.5" in table.output  # A's median hours to resolve
    as_json = CliRunner().invoke(cli, ["events", "report", *period, "--by", "model", "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert {g["group"] for g in json.loads(as_json.stdout)["groups"]} == {"m:1 champion", "m:2 challenger"}
    svg, png = tmp_path / "week.svg", tmp_path / "week.png"
    for chart in (svg, png):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            drawn = CliRunner().invoke(cli, ["events", "report", *period, "--chart", str(chart)])
        assert drawn.exit_code == 0, drawn.output
        assert chart == png or not [w for w in caught if "Glyph" in str(w.message)]  # no warning per glyph
    text = svg.read_text(encoding="utf-8")
    assert A in text and "一次派准率" in text  # kept as text: the viewer's fonts draw the Chinese
    assert "font-family: 'Noto Sans CJK SC'" in text  # named for the viewer to pick from
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    wrong = CliRunner().invoke(cli, ["events", "report", "--from", "last week"])
    assert wrong.exit_code != 0 and "ISO 8601" in str(wrong.exception)
