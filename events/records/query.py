"""Which events a listing, a report or a sweep reads: the filter, what overdue means, the paging cursor."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import RowMapping, Select, and_, or_

from citymind.errors import ValidationError
from events.records import lifecycle
from events.records.schema import events


@dataclass(frozen=True)
class EventFilter:
    """Which events to list: each given field must match; ``overdue`` True keeps only overdue ones (at ``now``)."""

    status: str | None = None
    department: str | None = None
    area: str | None = None
    category: str | None = None
    kind: str | None = None
    overdue: bool | None = None
    since: float | None = None
    until: float | None = None


def overdue(now: float) -> Any:
    open_ = events.c.status.not_in(lifecycle.DONE)
    late = or_(events.c.due_at < now, and_(events.c.escalate_at < now, events.c.accepted_at.is_(None)))
    return and_(open_, late)


def filtered(query: Select[Any], where: EventFilter, now: float) -> Select[Any]:
    for name in ("status", "department", "area", "category", "kind"):
        value = getattr(where, name)
        if value is not None:
            query = query.where(events.c[name] == value)
    if where.overdue is not None:
        query = query.where(overdue(now) if where.overdue else ~overdue(now))
    if where.since is not None:
        query = query.where(events.c.at >= where.since)
    if where.until is not None:
        query = query.where(events.c.at < where.until)
    return query


#: a paging cursor: the last event's time (epoch s) and id — every string of this form reads back
CURSOR_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,17})?_[A-Za-z0-9_\-]{1,32}$"
_CURSOR = re.compile(CURSOR_PATTERN)


def cursor_of(row: RowMapping) -> str:
    return f"{float(row['at'])!r}_{row['id']}"


def read_cursor(cursor: str) -> tuple[float, str]:
    if not _CURSOR.match(cursor):
        raise ValidationError(f"cursor {cursor[:40]!r} is not one this gateway gave; start without one")
    at, _, last = cursor.partition("_")
    return float(at), last
