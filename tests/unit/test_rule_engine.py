"""The rule engine: `for`, `keep_firing_for`, repeat suppression (并单), explanations, state across reloads, and
rule tests with expected fields and tests beside the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.engine import RuleEngine
from rules.loader import RuleFileError, load_rules, parse_rules
from rules.testing import compare_reports, run_tests
from rules.timers import Outcome, RuleTimers, Step

ALERT = """groups:
  - name: air
    kind: alert
    rules:
      - id: pm25-heavy
        when: value > 150
        for: 2h
        keep_firing_for: 1h
        labels: {indicator: pm25, area: "{area}"}
        annotations: {summary: "PM2.5 {value} in {area}"}
      - id: pm25-forecast
        when: forecast.max > 150 and 24 >= forecast.hours
"""
HOUR = 3600.0


def test_for_holds_before_firing_and_keep_firing_for_lingers_only_after_firing() -> None:
    engine = RuleEngine(parse_rules(ALERT))
    fired = [
        bool(engine.evaluate("alert", {"value": v, "area": "东阁街道"}, i * HOUR))
        for i, v in enumerate([160, 170, 180, 90, 95, 96, 160, 90])
    ]
    # fires from the 3rd hour (held 2 h), lingers 1 h after the last firing, then stops; a new exceedance restarts
    # the `for` timer, and one hour over 150 followed by a drop never fires (nothing lingers that never fired)
    assert fired == [False, False, True, True, False, False, False, False]


def test_a_firing_explains_itself() -> None:
    ruleset = parse_rules(ALERT, version="pingdu-rules/7")
    engine = RuleEngine(ruleset)
    for i in range(3):
        firings = engine.evaluate("alert", {"value": 151 + i, "area": "东阁街道"}, i * HOUR)
    [firing] = firings
    assert firing.version == "pingdu-rules/7"
    assert firing.thresholds == ("value > 150",)
    assert firing.values == {"value": 153} and firing.held_for == 2 * HOUR
    assert firing.labels == {"indicator": "pm25", "area": "东阁街道"}
    assert firing.annotations == {"summary": "PM2.5 153 in 东阁街道"}
    assert firing.explain() == "pm25-heavy (pingdu-rules/7): value > 150 held for 7200s with value=153"
    forecast = RuleEngine(ruleset).evaluate("alert", {"forecast": {"max": 180, "hours": 12}}, 0)[0].to_dict()
    assert forecast["thresholds"] == ["forecast.max > 150", "forecast.hours <= 24"]
    assert forecast["values"] == {"forecast.hours": 12, "forecast.max": 180}


def test_an_or_names_the_side_that_held_and_a_missing_field_fills_nothing() -> None:
    either = """groups:
  - name: dispatch
    kind: dispatch
    rules:
      - id: gas
        when: category == '燃气安全' or confidence < 0.5 or contains(text, '煤气味')
        annotations: {summary: "{area} 疑似燃气泄漏：{text}"}
"""
    engine = RuleEngine(parse_rules(either))
    [by_text] = engine.evaluate("dispatch", {"text": "楼道里有煤气味", "confidence": 0.9})
    assert by_text.thresholds == () and by_text.annotations == {"summary": "疑似燃气泄漏：楼道里有煤气味"}
    [by_both] = engine.evaluate(
        "dispatch", {"text": "-", "category": "燃气安全", "confidence": 0.3, "area": "东阁街道"}
    )
    assert by_both.thresholds == ("category == '燃气安全'", "confidence < 0.5")
    assert by_both.annotations == {"summary": "东阁街道 疑似燃气泄漏：-"}


DISPATCH = """groups:
  - name: merge
    kind: dispatch
    rules:
      - id: repeat
        when: duplicates >= 1
        group_by: [area, category]
        interval: 24h
        then: {priority: P3}
"""


def test_group_by_and_interval_merge_repeats_per_group() -> None:
    engine = RuleEngine(parse_rules(DISPATCH))

    def suppressed(area: str, at: float) -> bool:
        [firing] = engine.evaluate("dispatch", {"area": area, "category": "市容环境", "duplicates": 1}, at)
        return firing.suppressed

    assert [suppressed("古岘镇", 0), suppressed("古岘镇", HOUR), suppressed("南村镇", HOUR)] == [False, True, False]
    assert suppressed("古岘镇", 25 * HOUR) is False  # a new interval


def test_a_reload_keeps_timers_of_unchanged_rules_only() -> None:
    old = RuleEngine(parse_rules(ALERT))
    old.evaluate("alert", {"value": 160}, 0)
    old.evaluate("alert", {"value": 160}, HOUR)
    same = RuleEngine(parse_rules(ALERT + "      - id: new-rule\n        when: value > 500\n"), timers=old.timers)
    assert [f.rule for f in same.evaluate("alert", {"value": 160}, 2 * HOUR)] == ["pm25-heavy"]
    changed = RuleEngine(parse_rules(ALERT.replace("for: 2h", "for: 1h")), timers=old.timers)
    assert changed.evaluate("alert", {"value": 160}, 2 * HOUR) == []  # its timer starts again


def test_unknown_kind_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown rule kind 'alarm'; the kinds are"):
        RuleEngine(parse_rules(ALERT)).evaluate("alarm", {}, 0)


def test_expectations_check_fields_and_diff_names_them() -> None:
    text = DISPATCH + (
        "    tests:\n"
        "      - name: merged report is P3\n"
        "        input: {area: 古岘镇, category: 市容环境, duplicates: 2}\n"
        "        expect: [{rule: repeat, then: {priority: P2}}]\n"
    )
    [result] = run_tests(parse_rules(text, "m.yaml"))
    assert not result.ok
    assert '- did not fire: {"rule": "repeat", "then": {"priority": "P2"}}; it fired with ' in result.diff()
    assert '"then": {"priority": "P3"}' in result.diff()
    [passing] = run_tests(parse_rules(text.replace("priority: P2}}", "priority: P3}}"), "m.yaml"))
    assert passing.ok


def test_tests_beside_the_file_run_and_are_validated(tmp_path: Path) -> None:
    rules = tmp_path / "air.yaml"
    rules.write_text(ALERT, encoding="utf-8")
    beside = tmp_path / "air.test.yaml"
    beside.write_text(
        "tests:\n"
        "  - group: air\n    name: two hours over 150\n"
        "    input: [{t: 0, value: 160}, {t: 1h, value: 160}, {t: 2h, value: 160}]\n"
        "    expect: [{rule: pm25-heavy, labels: {indicator: pm25}}]\n",
        encoding="utf-8",
    )
    [result] = run_tests(load_rules(rules))
    assert result.ok, result.diff()
    beside.write_text(beside.read_text(encoding="utf-8").replace("rule: pm25-heavy", "rule: pm25-heavvy"), "utf-8")
    with pytest.raises(RuleFileError, match=r"air\.test\.yaml:5:14: test expects rule 'pm25-heavvy'"):
        load_rules(rules)
    beside.write_text("tests:\n  - group: water\n    name: x\n    input: {}\n    expect: []\n", "utf-8")
    with pytest.raises(RuleFileError, match=r"air\.test\.yaml:2:12: no group 'water'"):
        load_rules(rules)


def test_compare_reports_marks_added_removed_and_changed_rules() -> None:
    old = {"a": {"would_fire": 3}, "b": {"would_fire": 1}}
    new = {"a": {"would_fire": 5}, "c": {"would_fire": 0}}
    assert compare_reports(old, new) == {
        "a": {"before": 3, "after": 5, "delta": 2, "status": "changed"},
        "b": {"before": 1, "after": None, "delta": -1, "status": "removed"},
        "c": {"before": None, "after": 0, "delta": 0, "status": "added"},
    }


def test_for_timers_run_per_series() -> None:
    engine = RuleEngine(parse_rules(ALERT))
    for hour in range(2):
        engine.evaluate("alert", {"indicator": "pm25", "area": "东阁街道", "value": 160}, hour * HOUR)
        engine.evaluate("alert", {"indicator": "pm25", "area": "南村镇", "value": 90}, hour * HOUR)
    east = engine.evaluate("alert", {"indicator": "pm25", "area": "东阁街道", "value": 160}, 2 * HOUR)
    south = engine.evaluate("alert", {"indicator": "pm25", "area": "南村镇", "value": 160}, 2 * HOUR)
    assert [f.rule for f in east] == ["pm25-heavy"] and south == []  # 南村镇 has held for no time yet


def test_rule_timers_are_bounded_and_their_time_only_moves_forward() -> None:
    timers = RuleTimers(max_series=2)

    def merge(series: str, at: float) -> Step:
        return Step(("merge", "digest", (series,)), True, at, interval_s=60)

    assert timers.advance([merge("古岘镇", 0), merge("南村镇", 0), merge("东阁街道", 0)]) == [Outcome()] * 3
    assert len(timers) == 2  # the least recently stepped series went: it fires again, the others are repeats
    assert timers.advance([merge("古岘镇", 1), merge("东阁街道", 1)]) == [Outcome(), Outcome(suppressed=True)]
    assert timers.advance([merge("东阁街道", 0.5)]) == [None]  # older than its timer's last step: nothing


def test_a_batch_taken_back_leaves_the_timers_as_before_unless_another_step_moved_them() -> None:
    timers = RuleTimers()

    def merge(series: str, at: float) -> Step:
        return Step(("merge", "digest", (series,)), True, at, interval_s=60)

    timers.advance([merge("东阁街道", 0)])
    before = timers.records()
    outcomes, moves = timers.advance_undoably([merge("东阁街道", 70), merge("南村镇", 70), merge("南村镇", 71)])
    assert outcomes == [Outcome(), Outcome(), Outcome(suppressed=True)] and len(moves) == 2
    assert timers.take_back(moves) == 2 and timers.records() == before  # 南村镇's new timer is gone again
    assert timers.take_back(moves) == 0  # twice changes nothing
    _, moves = timers.advance_undoably([merge("东阁街道", 80), merge("南村镇", 80)])
    assert timers.advance([merge("南村镇", 90)]) == [Outcome(suppressed=True)]  # a later request saw the firing
    assert timers.take_back(moves) == 1  # so 南村镇 keeps it; 东阁街道 is set back
    assert timers.advance([merge("东阁街道", 100), merge("南村镇", 100)]) == [Outcome(), Outcome(suppressed=True)]
