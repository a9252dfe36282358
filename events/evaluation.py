"""综合评判: how well the city's events were dispatched and handled, read from their outcomes. Per group
(department dispatched to, area, category as decided, model version and arm, rule-set version): volume, first-time-right
dispatch (no 退单, no 改派), category accuracy (not corrected), SLA compliance, median time to accept and to resolve,
satisfaction and the reopen rate — so a champion and a challenger are compared on what happened to their events.

Rates count only the events whose outcome decides them (an event nobody has accepted yet is neither right nor wrong
first time); each rate comes with its denominator, and is None when that is 0."""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, Literal, get_args

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select

from citymind.errors import Unprocessable, ValidationError
from events.records import EventRecords
from events.records.lifecycle import DONE
from events.records.schema import events

GroupBy = Literal["department", "area", "category", "model", "rules", "kind", "all"]
GROUP_BY: tuple[str, ...] = get_args(GroupBy)
#: the event columns a group is keyed by
_KEYS: dict[str, tuple[str, ...]] = {
    "department": ("lead",),
    "area": ("area",),
    "category": ("category",),
    "model": ("model", "model_version", "model_arm"),
    "rules": ("ruleset_version",),
    "kind": ("kind",),
    "all": (),
}
#: (rate, its numerator, its denominator) — the names the answer, the CLI table and the gauges use
RATES = (
    ("first_time_right", "right_first_time", "dispatched"),
    ("category_accuracy", "category_right", "category_known"),
    ("sla_compliance", "sla_met", "sla_due"),
    ("satisfaction", "satisfied", "rated"),
    ("reopen_rate", "reopened", "finished"),
)
#: a period's longest span (the store holds ``retention_days``, 365 by default; a replay of old records may hold more)
MAX_SPAN_DAYS = 3660


def evaluate(
    records: EventRecords,
    *,
    by: str = "department",
    since: float | None = None,
    until: float | None = None,
    kind: str | None = "report",
    now: float | None = None,
) -> dict[str, Any]:
    """The evaluation of the ``kind`` events (None: every kind) that happened in ``[since, until)`` (default: the
    30 days up to ``now``), grouped ``by``; ``overall`` is the same over all of them."""
    if by not in _KEYS:
        raise ValidationError(f"by must be one of {', '.join(GROUP_BY)}; got {by!r}")
    now = time.time() if now is None else now
    until = now if until is None else until
    since = until - 30 * 86400 if since is None else since
    if not since < until or until - since > MAX_SPAN_DAYS * 86400:
        raise Unprocessable(f"the period must run forward and span at most {MAX_SPAN_DAYS} days")
    window = [events.c.at >= since, events.c.at < until, *([events.c.kind == kind] if kind else [])]
    groups = _counts(records, _KEYS[by], window, now)
    overall = _overall(groups.values())  # the groups split the window: one scan for both
    _add_medians(records, _KEYS[by], window, groups, overall)
    rows = sorted(groups.values(), key=lambda g: (-g["volume"], g["group"]))
    return {"by": by, "since": since, "until": until, "kind": kind, "groups": rows, "overall": overall}


def headline(records: EventRecords, days: float = 7.0, now: float | None = None) -> dict[str, float | None]:
    """The overall rates of the last ``days`` (what the gateway's gauges show)."""
    now = time.time() if now is None else now
    overall = evaluate(records, by="all", since=now - days * 86400, until=now, now=now)["overall"]
    return {name: overall[name] for name, _, _ in RATES}


def _conditions(now: float) -> dict[str, ColumnElement[bool]]:
    c = events.c
    dispatched = or_(c.accepted_at.is_not(None), c.returns > 0, c.reassigns > 0)
    finished = or_(c.resolved_at.is_not(None), c.reopens > 0)  # a reopened event was finished once
    known = or_(c.status.in_(DONE), finished, c.corrected > 0)
    due = and_(c.due_at.is_not(None), or_(c.resolved_at.is_not(None), c.due_at < now))
    return {
        "dispatched": dispatched,
        "right_first_time": and_(dispatched, c.returns == 0, c.reassigns == 0),
        "returned": c.returns > 0,
        "reassigned": c.reassigns > 0,
        "category_known": known,
        "category_right": and_(known, c.corrected == 0),
        "sla_due": due,
        "sla_met": and_(due, c.resolved_at.is_not(None), c.resolved_at <= c.due_at),
        "rated": c.satisfaction.is_not(None),
        "satisfied": c.satisfaction.in_(("满意", "基本满意")),
        "finished": finished,
        "reopened": c.reopens > 0,
    }


def _counts(
    records: EventRecords, keys: Sequence[str], window: list[ColumnElement[bool]], now: float
) -> dict[str, dict[str, Any]]:
    conditions = _conditions(now)
    key_columns = [events.c[k] for k in keys]
    sums = [func.sum(case((cond, literal(1)), else_=literal(0))).label(name) for name, cond in conditions.items()]
    query = select(*key_columns, func.count().label("volume"), *sums).where(*window).group_by(*key_columns)
    out: dict[str, dict[str, Any]] = {}
    with records.engine.connect() as conn:
        for row in conn.execute(query).mappings():
            group = _group_name(keys, [row[k] for k in keys])
            counts = {name: int(row[name] or 0) for name in ("volume", *conditions)}
            out[group] = {"group": group, "key": {k: row[k] for k in keys}, **counts}
            out[group].update(_rates(counts))
    return out


def _overall(groups: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The counts over every group, and their rates."""
    overall = _empty("all")
    for group in groups:
        for name in ("volume", *_conditions(0.0)):
            overall[name] += group[name]
    return {**overall, **_rates(overall)}


def _add_medians(
    records: EventRecords,
    keys: Sequence[str],
    window: list[ColumnElement[bool]],
    groups: dict[str, dict[str, Any]],
    overall: dict[str, Any],
) -> None:
    """Median seconds from the report to its acceptance and to its resolution, per group and over all."""
    c = events.c
    query = select(
        *(c[k] for k in keys), (c.accepted_at - c.at).label("accept"), (c.resolved_at - c.at).label("resolve")
    )
    query = query.where(*window, or_(c.accepted_at.is_not(None), c.resolved_at.is_not(None)))
    accept: dict[str, list[float]] = defaultdict(list)
    resolve: dict[str, list[float]] = defaultdict(list)
    with records.engine.connect() as conn:
        for row in conn.execute(query.execution_options(yield_per=20_000)):
            group = _group_name(keys, row[: len(keys)])
            if row.accept is not None:
                accept[group].append(max(0.0, float(row.accept)))
            if row.resolve is not None:
                resolve[group].append(max(0.0, float(row.resolve)))
    accept["\0all"] = [s for values in accept.values() for s in values]
    resolve["\0all"] = [s for values in resolve.values() for s in values]
    for group, entry in [*groups.items(), ("\0all", overall)]:
        entry["median_accept_s"] = _median(accept.get(group))
        entry["median_resolve_s"] = _median(resolve.get(group))


def _rates(counts: dict[str, int]) -> dict[str, float | None]:
    return {rate: (round(counts[num] / counts[den], 4) if counts[den] else None) for rate, num, den in RATES}


def _median(values: list[float] | None) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _group_name(keys: Sequence[str], values: Sequence[object]) -> str:
    """``model``: ``name:version arm``; other groups their value (``(none)`` when the event has none)."""
    if not keys:
        return "all"
    if tuple(keys) == _KEYS["model"]:
        name, version, arm = values
        return f"{name}:{version} {arm}" if name else "(no model)"
    return str(values[0]) if values[0] is not None else "(none)"


def _empty(group: str) -> dict[str, Any]:
    counts = dict.fromkeys(("volume", *_conditions(0.0)), 0)
    return {"group": group, "key": {}, **counts, **_rates(counts), "median_accept_s": None, "median_resolve_s": None}
