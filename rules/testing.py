"""``citymind rules test`` and ``backtest``: unit tests written next to the rules, and a dry run of a rule set
over history with the hit rate of each rule."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rules.engine import Firing, RuleEngine
from rules.loader import RuleSet, seconds


@dataclass(frozen=True)
class TestResult:
    """One rule test: what it expected (rule ids, or ids with the fields their firing must carry) and what fired."""

    group: str
    name: str
    expected: list[str | dict[str, Any]]
    fired: list[Firing]

    @property
    def ok(self) -> bool:
        return not self._mismatches()

    def _mismatches(self) -> list[str]:
        left = list(self.fired)
        out = []
        for expected in self.expected:
            want = {"rule": expected} if isinstance(expected, str) else expected
            match = next((f for f in left if _carries(f, want)), None)
            if match is None:
                same_rule = [f for f in left if f.rule == want["rule"]]
                got = f"; it fired with {_fields(same_rule[0], want)}" if same_rule else ""
                out.append(f"  - did not fire: {_show(want)}{got}")
            else:
                left.remove(match)
        out += [f"  + fired too:    {f.rule} ({f.explain()})" for f in left]
        return out

    def diff(self) -> str:
        expected = sorted(e if isinstance(e, str) else e["rule"] for e in self.expected)
        fired = sorted(f.rule for f in self.fired)
        lines = [f"{self.group} / {self.name}:", f"  expected: {expected}", f"  fired:    {fired}"]
        return "\n".join(lines + self._mismatches())


def _carries(firing: Firing, want: dict[str, Any]) -> bool:
    return firing.rule == want["rule"] and all(
        getattr(firing, key) == value if key == "severity" else _subset(value, getattr(firing, key))
        for key, value in want.items()
        if key != "rule"
    )


def _subset(want: dict[str, Any], got: dict[str, Any]) -> bool:
    return all(str(got.get(k)) == str(v) for k, v in want.items())


def _fields(firing: Firing, want: dict[str, Any]) -> str:
    return _show({"rule": firing.rule, **{k: getattr(firing, k) for k in want if k != "rule"}})


def _show(want: dict[str, Any]) -> str:
    return want["rule"] if len(want) == 1 else json.dumps(want, ensure_ascii=False, sort_keys=True)


def run_tests(ruleset: RuleSet) -> list[TestResult]:
    """Every test starts from an empty engine; its events are evaluated in order at their ``t``."""
    kinds = {r.group: r.kind for r in ruleset.rules}
    results = []
    for group, test in ruleset.tests:
        engine = RuleEngine(ruleset)
        steps = test["input"] if isinstance(test["input"], list) else [test["input"]]
        fired: list[Firing] = []
        for step in steps:
            fired = [
                f
                for f in engine.evaluate(kinds.get(group, "dispatch"), step, seconds(step.get("t", 0)))
                if not f.suppressed and f.group == group
            ]
        results.append(TestResult(group, test["name"], list(test["expect"]), fired))
    return results


def backtest(ruleset: RuleSet, kind: str, events: list[tuple[float, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Per rule: how often it would fire over ``events`` (no side effects), and when first and last."""
    engine = RuleEngine(ruleset)
    report: dict[str, dict[str, Any]] = {
        r.id: {"would_fire": 0, "hit_rate": 0.0, "first": None, "last": None} for r in ruleset.rules if r.kind == kind
    }
    for at, event in events:
        for firing in engine.evaluate(kind, event, at):
            row = report[firing.rule]
            row["would_fire"] += 1
            row["first"] = at if row["first"] is None else row["first"]
            row["last"] = at
    for row in report.values():
        row["hit_rate"] = row["would_fire"] / len(events) if events else 0.0
    return report


def compare_reports(old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per rule id in either report: firings before and after, and the difference (added/removed rules too)."""
    out = {}
    for rule in sorted(set(old) | set(new)):
        before = old.get(rule, {}).get("would_fire")
        after = new.get(rule, {}).get("would_fire")
        status = "added" if before is None else "removed" if after is None else "same" if before == after else "changed"
        out[rule] = {"before": before, "after": after, "delta": (after or 0) - (before or 0), "status": status}
    return out


def events_from_csv(
    path: Path, *, value_col: str | None = None, time_cols: list[str] | None = None
) -> list[tuple[float, dict[str, Any]]]:
    """Rows as (seconds, event); empty cells are missing values (a condition on them does not hold)."""
    import pandas as pd

    frame = pd.read_csv(path)
    if time_cols:
        parts = frame[time_cols].astype(int)
        stamps = pd.to_datetime(
            dict(zip(["year", "month", "day", "hour"], [parts[c] for c in time_cols], strict=False))
        )
        times = ((stamps - stamps.iloc[0]).dt.total_seconds()).tolist()
    else:
        times = [float(i) for i in range(len(frame))]
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    if value_col:
        for record in records:
            record["value"] = record.get(value_col)
    return list(zip(times, records, strict=True))
