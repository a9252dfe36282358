"""Counts the self-watch reads of the recorded reports, each one grouped query on the store: the busiest area ×
category pairs and their reports per hour (需求感知), and the classifier's answers per model version by category and
by confidence bin (drift). Times are epoch seconds, hours counted from the epoch."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import ColumnElement, Engine, Integer, and_, case, cast, func, select

from events.records.schema import events

#: (area, category)
Pair = tuple[str, str]


def _hour(engine: Engine) -> ColumnElement[int]:
    """The hour an event falls in (epoch seconds // 3600), exact on both dialects (PostgreSQL's cast rounds)."""
    if engine.dialect.name == "postgresql":
        return cast(func.floor(events.c.at / 3600.0), Integer)
    return cast(events.c.at, Integer) // 3600  # SQLite's cast truncates; the times are positive


def _reports(since: float, until: float) -> ColumnElement[bool]:
    return and_(events.c.kind == "report", events.c.at >= since, events.c.at < until)


def first_report_at(engine: Engine, since: float, until: float) -> float | None:
    """When the first report in [since, until) was made (None: there is none)."""
    with engine.connect() as conn:
        first = conn.scalar(select(func.min(events.c.at)).where(_reports(since, until)))
    return None if first is None else float(first)


def busiest_pairs(
    engine: Engine, since: float, until: float, top: int, area: str | None = None, category: str | None = None
) -> list[tuple[str, str, int]]:
    """The ``top`` area × category pairs by reports in [since, until) (reports without an area are not counted)."""
    n = func.count().label("n")
    query = select(events.c.area, events.c.category, n).where(
        _reports(since, until), events.c.area.is_not(None), events.c.category.is_not(None)
    )
    if area is not None:
        query = query.where(events.c.area == area)
    if category is not None:
        query = query.where(events.c.category == category)
    query = query.group_by(events.c.area, events.c.category).order_by(n.desc(), events.c.area, events.c.category)
    with engine.connect() as conn:
        return [(str(a), str(c), int(k)) for a, c, k in conn.execute(query.limit(top))]


def hourly_counts(engine: Engine, since: float, until: float, pairs: Sequence[Pair]) -> dict[Pair, dict[int, int]]:
    """Per pair, its reports per hour in [since, until) (hours without a report are absent)."""
    if not pairs:
        return {}
    hour = _hour(engine).label("hour")
    areas, categories = sorted({a for a, _ in pairs}), sorted({c for _, c in pairs})
    query = (
        select(events.c.area, events.c.category, hour, func.count())
        .where(_reports(since, until), events.c.area.in_(areas), events.c.category.in_(categories))
        .group_by(events.c.area, events.c.category, hour)
    )
    wanted, out = set(pairs), defaultdict[Pair, dict[int, int]](dict)
    with engine.connect() as conn:
        for a, c, h, k in conn.execute(query):
            if (a, c) in wanted:
                out[(a, c)][int(h)] = int(k)
    return dict(out)


def answer_counts(
    engine: Engine, since: float, until: float, edges: Sequence[float]
) -> dict[tuple[str, str], tuple[dict[str, int], list[int]]]:
    """Per (model, version), the reports it classified in [since, until): per category, and per confidence bin of
    ``edges`` (``edges[i] <= confidence < edges[i + 1]``, the last bin closed)."""
    bins = len(edges) - 1
    conf_bin = case(*((events.c.confidence < edges[i + 1], i) for i in range(bins - 1)), else_=bins - 1).label("bin")
    where = and_(_reports(since, until), events.c.model.is_not(None), events.c.model_version.is_not(None))
    keys = (events.c.model, events.c.model_version)
    out: dict[tuple[str, str], tuple[dict[str, int], list[int]]] = {}
    with engine.connect() as conn:
        for m, v, c, k in conn.execute(
            select(*keys, events.c.category, func.count()).where(where).group_by(*keys, events.c.category)
        ):
            out.setdefault((str(m), str(v)), ({}, [0] * bins))[0][str(c)] = int(k)
        scored = and_(where, events.c.confidence.is_not(None))
        for m, v, b, k in conn.execute(select(*keys, conf_bin, func.count()).where(scored).group_by(*keys, conf_bin)):
            out.setdefault((str(m), str(v)), ({}, [0] * bins))[1][int(b)] += int(k)
    return out
