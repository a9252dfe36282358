"""TODO(lead): a stand-in for ``events.evaluation.evaluate`` (not on this branch yet), measured by
``bench_event_store.py`` until it lands: the same figures per group, the rates by one SQL ``GROUP BY`` over the
window, the median times from a second query over it, on the store's own engine."""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

from sqlalchemy import and_, case, func, or_, select

from events.records import EventRecords
from events.records.schema import events

BY = {"department": "department", "area": "area", "category": "category", "model": "model_version",
      "rules": "ruleset_version"}  # fmt: skip


def evaluate_sql(
    records: EventRecords, *, by: str, since: float, until: float, now: float | None = None
) -> dict[str, dict[str, Any]]:
    key = events.c[BY[by]]
    window = and_(events.c.at >= since, events.c.at < until)
    c = events.c
    decided = or_(c.accepted_at.is_not(None), c.corrected == 1)
    clock_stopped = or_(c.resolved_at.is_not(None), c.due_at < (now or until))
    rated = c.satisfaction.is_not(None)
    resolved_once = or_(c.resolved_at.is_not(None), c.reopens > 0)
    rates = (
        select(
            key,
            func.count(),
            _share(and_(c.returns == 0, c.reassigns == 0)),
            _share(c.corrected == 0, decided),
            _share(c.resolved_at <= c.due_at, and_(c.due_at.is_not(None), clock_stopped)),
            _share(c.satisfaction.in_(("满意", "基本满意")), rated),
            _share(c.reopens > 0, resolved_once),
        )
        .where(window)
        .group_by(key)
    )
    times = select(key, c.accepted_at - c.at, c.resolved_at - c.at).where(window, c.accepted_at.is_not(None))
    accept: dict[Any, list[float]] = defaultdict(list)
    resolve: dict[Any, list[float]] = defaultdict(list)
    with records.engine.connect() as conn:
        rows = conn.execute(rates).all()
        for group, to_accept, to_resolve in conn.execute(times):
            accept[group].append(to_accept)
            if to_resolve is not None:
                resolve[group].append(to_resolve)
    names = ("volume", "first_time_right", "category_accuracy", "sla_compliance", "satisfaction", "reopen_rate")
    out = {}
    for group, *figures in rows:
        out[str(group)] = {
            **dict(zip(names, [_rounded(f) for f in figures], strict=True)),
            "median_accept_s": _median(accept[group]),
            "median_resolve_s": _median(resolve[group]),
        }
    return out


def _share(condition: Any, among: Any = None) -> Any:
    """The share of the window's events (or of those ``among``) meeting ``condition``; None when none qualify."""
    hit = case((and_(condition, among) if among is not None else condition, 1.0), else_=0.0)
    base = case((among, 1), else_=0) if among is not None else 1
    return func.sum(hit) / func.nullif(func.sum(base), 0)


def _rounded(value: Any) -> Any:
    return round(value, 4) if isinstance(value, float) else value


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None
