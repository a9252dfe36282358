"""A changed rule set replayed over the recorded reports: how it would have decided them (priority, SLA,
transfer, review queue) against how they were decided, and, for the reports whose decision would change, what
actually happened to them (escalated, overdue, returned, reassigned, corrected, reopened). No side effects."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from events.decision import Decision, merge_decisions
from events.records import EventFilter, EventRecords
from rules.engine import RuleEngine
from rules.loader import RuleSet, seconds

COLUMNS = ("id", "at", "channel", "area", "text", "reporter", "category", "confidence", "lead", "merged_into",
           "priority", "sla_s", "transfer", "queue", "rules_fired", "due_at", "resolved_at", "closed_at",
           "escalated_at", "returns", "reassigns", "corrected", "reopens")  # fmt: skip
#: what happened to an event, as counted for each kind of change
FATES = ("escalated", "overdue", "returned", "reassigned", "corrected", "reopened")
CHANGES = ("priority", "priority_raised", "priority_lowered", "sla", "sla_shorter", "sla_longer", "transfer", "queue")
#: reports by one reporter within this window count toward ``reporter.count`` (the recent reports' window)
REPORTER_WINDOW_S = 72 * 3600
BATCH = 2000


def rule_event(row: dict[str, Any], reporter_count: int) -> dict[str, object]:
    """What the dispatch rules read of a recorded report (``events.triage._rule_event``'s fields): what the record
    keeps, with ``duplicates`` 1 for a merged report (并单) and ``department`` the decided lead; whether the
    reporter is vulnerable is not recorded, so a rule on it does not hold."""
    when = datetime.fromtimestamp(float(row["at"]))
    return {
        "category": row["category"],
        "confidence": row["confidence"],
        "text": row["text"] or "",
        "area": row["area"],
        "hour": when.hour,
        "weekday": when.isoweekday(),
        "channel": row["channel"],
        "department": row["lead"],
        "reporter": {"count": reporter_count},
        "duplicates": 1 if row["merged_into"] else 0,
    }


def backtest_events(
    records: EventRecords, ruleset: RuleSet, since: float | None = None, now: float | None = None
) -> dict[str, Any]:
    """The rule set over every recorded report at or after ``since``, oldest first, on a fresh engine (its timers
    run along the reports' own times): per change, how many reports it touches and what happened to them; per rule,
    how often it fired when recorded and how often it would fire now."""
    now = time.time() if now is None else now
    engine = RuleEngine(ruleset)
    changed: dict[str, Counter[str]] = {c: Counter() for c in CHANGES}
    everyone: Counter[str] = Counter()
    recorded: Counter[str] = Counter()
    would: Counter[str] = Counter()
    total = 0
    for batch in _batches(records, since):
        firings = engine.evaluate_many("dispatch", [(event, float(row["at"])) for row, event in batch])
        for (row, _), fired in zip(batch, firings, strict=True):
            kept = [f for f in fired if not f.suppressed]
            would.update(f.rule for f in kept)
            recorded.update(json.loads(row["rules_fired"] or "[]"))
            fates = _fates(row, now)
            everyone.update(fates)
            everyone["events"] += 1
            for change in _changes(row, merge_decisions(kept)):
                changed[change].update(fates)
                changed[change]["events"] += 1
            total += 1
    rules = sorted(set(recorded) | set(would) | {r.id for r in ruleset.rules if r.kind == "dispatch"})
    return {
        "events": total,
        "ruleset": ruleset.version or ruleset.source,
        "all": _counts(everyone),
        "changes": {c: _counts(changed[c]) for c in CHANGES},
        "rules": {r: {"recorded": recorded[r], "would_fire": would[r]} for r in rules},
    }


def _batches(records: EventRecords, since: float | None) -> Iterator[list[tuple[dict[str, Any], dict[str, object]]]]:
    """Reports with the event the rules read, in batches; ``reporter.count`` from the records themselves."""
    recent: dict[str, list[float]] = {}
    batch: list[tuple[dict[str, Any], dict[str, object]]] = []
    for values in records.rows(COLUMNS, EventFilter(kind="report", since=since)):
        row = dict(zip(COLUMNS, values, strict=True))
        count = 1
        if row["reporter"]:
            times = [t for t in recent.get(row["reporter"], []) if row["at"] - t <= REPORTER_WINDOW_S]
            recent[row["reporter"]] = [*times, row["at"]]
            count = len(times) + 1
        batch.append((row, rule_event(row, count)))
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _changes(row: dict[str, Any], decision: Decision) -> list[str]:
    out = []
    if decision["priority"] != row["priority"]:
        out.append("priority")
        if row["priority"] is not None:
            out.append("priority_raised" if decision["priority"] < row["priority"] else "priority_lowered")
    sla_s = int(seconds(decision["sla"]))
    if sla_s != row["sla_s"]:
        out.append("sla")
        if row["sla_s"] is not None:
            out.append("sla_shorter" if sla_s < row["sla_s"] else "sla_longer")
    for name in ("transfer", "queue"):
        if decision[name] != row[name]:
            out.append(name)
    return out


def _fates(row: dict[str, Any], now: float) -> list[str]:
    """What happened to a recorded report: escalated, overdue (done after its due time, or still open past it),
    returned, reassigned, corrected, reopened."""
    done = row["resolved_at"] or row["closed_at"]
    overdue = row["due_at"] is not None and (done or now) > row["due_at"]
    flags = (row["escalated_at"] is not None, overdue, row["returns"] > 0, row["reassigns"] > 0,
             bool(row["corrected"]), row["reopens"] > 0)  # fmt: skip
    return [fate for fate, flag in zip(FATES, flags, strict=True) if flag]


def _counts(counter: Counter[str]) -> dict[str, int]:
    return {"events": counter["events"], **{fate: counter[fate] for fate in FATES}}
