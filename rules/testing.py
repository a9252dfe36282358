"""``citymind rules test`` and ``backtest``: unit tests written next to the rules, and a dry run of a rule set
over history with the hit rate of each rule."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rules.engine import RuleEngine
from rules.loader import RuleSet


@dataclass(frozen=True)
class TestResult:
    group: str
    name: str
    expected: list[str]
    fired: list[str]

    @property
    def ok(self) -> bool:
        return sorted(self.expected) == sorted(self.fired)

    def diff(self) -> str:
        missing = sorted(set(self.expected) - set(self.fired))
        extra = sorted(set(self.fired) - set(self.expected))
        return (
            f"{self.group} / {self.name}:\n  expected: {sorted(self.expected)}\n  fired:    {sorted(self.fired)}"
            + (f"\n  - did not fire: {missing}" if missing else "")
            + (f"\n  + fired too:    {extra}" if extra else "")
        )


def run_tests(ruleset: RuleSet) -> list[TestResult]:
    kinds = {r.group: r.kind for r in ruleset.rules}
    results = []
    for group, test in ruleset.tests:
        engine = RuleEngine(ruleset)  # every test starts from empty state
        steps = test["input"] if isinstance(test["input"], list) else [test["input"]]
        fired: list[str] = []
        for step in steps:
            fired = [
                f.rule
                for f in engine.evaluate(kinds.get(group, "dispatch"), step, float(step.get("t", 0)))
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
