"""``citymind rules test`` and ``backtest``: unit tests written next to the rules, and a dry run of a rule set
over history with the hit rate of each rule."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypedDict, cast

from rules.engine import Firing, RuleEngine, field_value
from rules.loader import RuleSet, seconds
from rules.schema import Expected


class BacktestRow(TypedDict):
    """One rule's line in a :func:`backtest` report; ``first`` and ``last`` are None when it never fired;
    ``unseen`` the fields its condition reads that no row carries (a rule that never fires: often why)."""

    would_fire: int
    hit_rate: float
    first: float | None
    last: float | None
    unseen: list[str]


class RuleChange(TypedDict):
    """One rule's line in :func:`compare_reports`; ``before``/``after`` are None where the rule is absent."""

    before: int | None
    after: int | None
    delta: int
    status: Literal["added", "removed", "same", "changed"]


@dataclass(frozen=True)
class TestResult:
    """One rule test: what it expected (rule ids, or ids with the fields their firing must carry) and what fired."""

    group: str
    name: str
    expected: list[str | Expected]
    fired: list[Firing]

    @property
    def ok(self) -> bool:
        return not self._mismatches()

    def _mismatches(self) -> list[str]:
        left = list(self.fired)
        out = []
        for expected in self.expected:
            want: Expected = {"rule": expected} if isinstance(expected, str) else expected
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


def _carries(firing: Firing, want: Expected) -> bool:
    return firing.rule == want["rule"] and all(
        getattr(firing, key) == value if key == "severity" else _subset(value, getattr(firing, key))
        for key, value in want.items()
        if key != "rule"
    )


def _subset(want: object, got: Mapping[str, object]) -> bool:
    """``want``: an expectation's ``then``, ``labels`` or ``annotations``, a mapping as the schema says."""
    return all(str(got.get(k)) == str(v) for k, v in cast(Mapping[str, object], want).items())


def _fields(firing: Firing, want: Expected) -> str:
    return _show({"rule": firing.rule, **{k: getattr(firing, k) for k in want if k != "rule"}})


def _show(want: Mapping[str, object]) -> str:
    return str(want["rule"]) if len(want) == 1 else json.dumps(want, ensure_ascii=False, sort_keys=True)


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


def backtest(
    ruleset: RuleSet, kind: str, events: Sequence[tuple[float, Mapping[str, object]]]
) -> dict[str, BacktestRow]:
    """Per rule: how often it would fire over ``events`` (no side effects), and when first and last."""
    engine = RuleEngine(ruleset)
    rules = [r for r in ruleset.rules if r.kind == kind]
    fields = {f for r in rules for f in r.condition.fields}
    seen = {f for f in fields if any(field_value(event, f) is not None for _, event in events)}
    report: dict[str, BacktestRow] = {
        r.id: {
            "would_fire": 0,
            "hit_rate": 0.0,
            "first": None,
            "last": None,
            "unseen": sorted(r.condition.fields - seen),
        }
        for r in rules
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


def compare_reports(old: Mapping[str, BacktestRow], new: Mapping[str, BacktestRow]) -> dict[str, RuleChange]:
    """Per rule id in either report: firings before and after, and the difference (added/removed rules too)."""
    out: dict[str, RuleChange] = {}
    for rule in sorted(set(old) | set(new)):
        before = old[rule].get("would_fire") if rule in old else None
        after = new[rule].get("would_fire") if rule in new else None
        status: Literal["added", "removed", "same", "changed"] = (
            "added" if before is None else "removed" if after is None else "same" if before == after else "changed"
        )
        out[rule] = {"before": before, "after": after, "delta": (after or 0) - (before or 0), "status": status}
    return out


def events_from_csv(
    path: Path,
    *,
    value_col: str | None = None,
    time_cols: list[str] | None = None,
    constants: Mapping[str, object] | None = None,
) -> list[tuple[float, dict[str, object]]]:
    """Rows as (seconds, event); empty cells are missing values (a condition on them does not hold); a dotted
    column (``forecast.max``) is that nested field; ``constants`` are fields every row gets (``indicator: pm25`` for
    a file of one indicator's hours)."""
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
    for record in records:
        record.update(constants or {})
        if value_col:
            record["value"] = record.get(value_col)
        _nest(record)
    return list(zip(times, records, strict=True))


def _nest(record: dict[str, object]) -> None:
    """A column ``forecast.max`` also as the nested field rules read by that name (unless ``forecast`` is a value)."""
    for column in [c for c in record if "." in c]:
        *parents, leaf = column.split(".")
        inner: object = record
        for key in parents:
            inner = inner.setdefault(key, {}) if isinstance(inner, dict) else None
        if isinstance(inner, dict):
            inner[leaf] = record[column]
