"""What the outcomes teach the catalogue and the rules: ``citymind kg suggest --from-events`` proposes the repeated
reassignment as a diff (never a one-off), and ``citymind rules backtest FILE --events`` counts what a changed rule
set would change on the recorded reports, next to what happened to them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from citymind.cli import app
from citymind.settings import get_settings
from knowledge_graph.defaults import PINGDU_YAML, load_pingdu
from knowledge_graph.proposals import AreaLead, with_area_leads
from tests.integration._event_records import T0, events_url, outcome, report, store


@pytest.fixture
def events_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("CITYMIND_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CITYMIND_EVENTS_URL", events_url(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def invoke(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_kg_suggest_proposes_the_repeated_reassignment_not_the_one_off(events_home: Path) -> None:
    records = store(events_home)
    city = {"area": "东阁街道", "lead": "市城市管理局"}
    records.record([report(f"d{i}", T0 + 60 * i, "小区门口积水", "市容环境", **city) for i in range(6)])
    records.record([report("x1", T0, "路面塌陷", "道路交通", area="李园街道", lead="市交通运输局")])
    for i in range(4):  # again and again to 市水利局; the last one first to 市住房和城乡建设局, then on to 市水利局
        outcome(records, f"d{i}", "reassigned", T0 + 600 + i, department="市水利局")
    outcome(records, "d4", "reassigned", T0 + 700, department="市应急管理局")
    outcome(records, "d3", "reassigned", T0 + 500, department="市住房和城乡建设局")
    outcome(records, "x1", "reassigned", T0 + 800, department="市住房和城乡建设局")  # a one-off
    records.close()

    diff_file = events_home / "catalogue.diff"
    report_ = json.loads(invoke("kg", "suggest", "--from-events", "--json", "--out", str(diff_file)))
    [only] = report_["suggestions"]
    assert (only["area"], only["category"], only["from_lead"], only["to_department"]) == (
        "东阁街道", "市容环境", "市城市管理局", "市水利局",
    )  # fmt: skip
    assert (only["count"], only["group"], only["share"]) == (4, 5, 0.8)
    assert sorted(only["event_ids"]) == ["d0", "d1", "d2", "d3"]
    diff = diff_file.read_text(encoding="utf-8")
    added = [line for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert added[-1].startswith("+    areas: {area:donge: {lead: dept:water, source: ") and len(added) == 2
    assert diff == report_["diff"] and "道路交通" not in "".join(added)
    stricter = invoke("kg", "suggest", "--from-events", "--min-count", "5")
    assert "no change to propose" in stricter and "市水利局" not in stricter


def test_a_proposed_area_lead_loads_and_replaces_the_local_lead(tmp_path: Path) -> None:
    proposals = [
        AreaLead("市容环境", "area:donge", "dept:water", "evidence: 4 of 5"),
        AreaLead("垃圾清运", "area:liyuan", "dept:housing", "evidence: 3 of 3", "李园街道 → 住建"),  # a 属地 leaf
    ]
    patched = tmp_path / "pingdu.yaml"
    patched.write_text(with_area_leads(PINGDU_YAML.read_text(encoding="utf-8"), proposals), encoding="utf-8")
    graph = load_pingdu(patched)
    assert graph.dispatch("市容环境", "东阁街道").lead == "市水利局"
    assert graph.dispatch("市容环境", "李园街道").lead == "市城市管理局"
    assert graph.dispatch("垃圾清运", "李园街道").lead == "市住房和城乡建设局"
    assert graph.dispatch("垃圾清运", "东阁街道").lead == "东阁街道办事处"  # 属地管理 elsewhere
    assert "evidence: 4 of 5" in graph.dispatch("市容环境", "东阁街道").source


HOUSING_P2 = """\
groups:
  - name: dispatch
    kind: dispatch
    rules:
      - id: housing-p2
        when: category == '住房建设'
        then: {priority: P2, sla: 4h}
"""


def test_rules_backtest_on_events_counts_the_changes_and_what_happened(events_home: Path) -> None:
    records = store(events_home)
    housing = [report(f"h{i}", T0 + 60 * i, "楼顶漏水没人维修", "住房建设") for i in range(5)]
    others = [report(f"o{i}", T0 + 60 * i, "路灯不亮", "市容环境") for i in range(7)]
    records.record([*housing, *others, {**report("w1", T0, "PM2.5 超标", "生态环境"), "kind": "warning"}])
    outcome(records, "h0", "reassigned", T0 + 600, department="市水利局")
    outcome(records, "h1", "reassigned", T0 + 600, department="市水利局")
    outcome(records, "h2", "returned", T0 + 600, reason="不属于本部门")
    outcome(records, "o0", "returned", T0 + 600, reason="不属于本部门")
    outcome(records, "h3", "accepted", T0 + 600)
    outcome(records, "h3", "resolved", T0 + 90_000)  # after its 24 h: overdue
    outcome(records, "h4", "accepted", T0 + 600)
    outcome(records, "h4", "resolved", T0 + 3_600)
    records.close()
    rules = events_home / "housing.yaml"
    rules.write_text(HOUSING_P2, encoding="utf-8")

    result = json.loads(invoke("rules", "backtest", str(rules), "--events"))
    assert result["events"] == 12  # reports only
    raised = result["changes"]["priority_raised"]
    assert raised["events"] == 5 and result["changes"]["priority_lowered"]["events"] == 0
    assert (raised["reassigned"], raised["returned"]) == (2, 1)
    assert raised["overdue"] == 4  # h3 late, h0-h2 still open past their 24 h (h4 resolved in time)
    assert result["changes"]["sla_shorter"]["events"] == 5 and result["changes"]["transfer"]["events"] == 0
    assert result["all"]["returned"] == 2
    assert result["rules"]["housing-p2"] == {"recorded": 0, "would_fire": 5}
    since = json.loads(invoke("rules", "backtest", str(rules), "--events", "--since", "2026-01-01T00:02:30"))
    assert since["changes"]["priority_raised"]["events"] == 2  # h3, h4
