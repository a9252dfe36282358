"""Event records (事件台账): every triaged report, indicator warning and video event, recorded before its answer
leaves, and the outcomes the dispatch system reports on it. One SQLite file (WAL) under the citymind home by
default, PostgreSQL by URL at scale; the same tables and Alembic migrations on both."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    RowMapping,
    and_,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from citymind.errors import Conflict, EventNotFound
from citymind.settings import Settings, get_settings
from events.records import lifecycle
from events.records.database import engine_for, reporter_key
from events.records.query import EventFilter, cursor_of, filtered, overdue, read_cursor
from events.records.schema import VERSION_TABLE, events, outcomes
from events.records.writer import GroupCommit

log = logging.getLogger("citymind.events")

#: event columns kept as JSON text
JSON_COLUMNS = ("assists", "rules_fired", "detail")
#: event columns that are epoch seconds (answered as ISO 8601, local time like the reports' own)
TIME_COLUMNS = ("at", "recorded_at", "due_at", "escalate_at", "accepted_at", "resolved_at", "closed_at",
                "escalated_at")  # fmt: skip
MAX_PAGE = 500
_EMPTY_ROW: dict[str, object] = dict.fromkeys(c.name for c in events.c)
_COUNTERS = dict.fromkeys(("returns", "reassigns", "corrected", "reopens", "revision"), 0)
#: ``json.dumps(value, ensure_ascii=False)``, without making an encoder each call (a record is written per request)
_to_json = json.JSONEncoder(ensure_ascii=False).encode
_MIGRATING = threading.Lock()


class EventRecords:
    """``record`` events, ``add_outcome`` to them, ``get`` one with its timeline, ``page`` through them,
    ``claim_overdue`` (each overdue event is handed out once, whichever replica asks), ``purge`` old ones.
    ``reporter_key`` hashes reporter ids (HMAC-SHA256): the store never holds one in clear."""

    def __init__(
        self, url: str, *, reporter_key: bytes | None = None, retention_days: int = 365, migrate: bool = True
    ) -> None:
        self.url, self.retention_days = url, retention_days
        self._key = reporter_key or secrets.token_bytes(32)
        self.engine = engine_for(url)
        self._writer = GroupCommit(self.engine)
        if migrate:
            self.migrate()

    @classmethod
    def from_settings(cls, settings: Settings | None = None, *, migrate: bool = True) -> EventRecords | None:
        """The store the settings name (None when ``CITYMIND_EVENTS_URL=off``), its reporter key read from (or
        created in) ``reporter_key_file``."""
        s = settings or get_settings()
        url = s.resolved_events_url
        if url is None:
            return None
        key = reporter_key(s.resolved_reporter_key_file)
        return cls(url, reporter_key=key, retention_days=s.retention_days, migrate=migrate)

    # -- schema ------------------------------------------------------------------------------------------------
    def migrate(self) -> str:
        """Bring the tables to the newest migration (idempotent; concurrent callers wait for each other)."""
        from alembic import command
        from alembic.config import Config
        from alembic.runtime.migration import MigrationContext

        config = Config()
        config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
        with _MIGRATING, self._write() as conn:  # Alembic's context is per process; SQLite's write lock per file
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7404711)")  # one migrator at a time
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            return str(MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision())

    def close(self) -> None:
        self._writer.close()
        self.engine.dispose()

    # -- writing -----------------------------------------------------------------------------------------------
    def reporter_hash(self, reporter_id: str | None) -> str | None:
        if not reporter_id:
            return None
        return hmac.new(self._key, reporter_id.encode("utf-8", "replace"), hashlib.sha256).hexdigest()[:32]

    def record(self, rows: Sequence[Mapping[str, object]]) -> None:
        """Insert ``rows`` (event columns; ``reporter`` already hashed) in one transaction, committed when this
        returns (concurrent callers share transactions: ``events.records.writer``). A row whose id is already
        recorded (a channel sent the same report again) is left as it was."""
        if not rows:
            return
        self._writer.write([_to_row(r) for r in rows])

    def add_outcome(
        self, event_id: str, outcome: lifecycle.Outcome, by: str | None = None
    ) -> tuple[dict[str, Any], bool]:
        """Apply ``outcome`` to the event: ``(the event with its timeline, applied)``. The same ``outcome_id``
        again is not applied twice (``applied`` False, the event as it is); another outcome with a used id is an
        error. :class:`EventNotFound`, :class:`InvalidTransition` when its status does not allow it."""
        for _ in range(20):  # another writer changed the event between the read and the write: read again
            with self._write() as conn:
                row = self._row(conn, event_id)
                earlier = (
                    conn.execute(
                        select(outcomes).where(
                            outcomes.c.event_id == event_id, outcomes.c.outcome_id == outcome["outcome_id"]
                        )
                    )
                    .mappings()
                    .first()
                )
                if earlier is not None:
                    _same_outcome(earlier, outcome)
                    return self._with_timeline(conn, row), False
                lifecycle.check(str(row["status"]), outcome)
                changes = lifecycle.apply(dict(row), outcome)
                moved = conn.execute(
                    update(events)
                    .where(events.c.id == event_id, events.c.revision == row["revision"])
                    .values(**changes, revision=events.c.revision + 1)
                )
                if moved.rowcount != 1:
                    conn.rollback()
                    continue
                try:
                    conn.execute(outcomes.insert().values(
                        event_id=event_id, outcome_id=outcome["outcome_id"], type=outcome["type"],
                        at=float(outcome["at"]), recorded_at=time.time(), department=outcome.get("department"),
                        category=outcome.get("category"), reason=outcome.get("reason"), reply=outcome.get("reply"),
                        satisfaction=outcome.get("satisfaction"), status=changes.get("status", row["status"]), by=by,
                    ))  # fmt: skip
                except IntegrityError:  # the same outcome id, applied by a concurrent writer just now
                    conn.rollback()
                    continue
                conn.commit()
            with self.engine.connect() as conn:
                return self._with_timeline(conn, self._row(conn, event_id)), True
        raise RuntimeError(f"event {event_id} kept changing under this outcome; try again")

    def claim_overdue(self, now: float | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Overdue events not escalated before, marked escalated at ``now``: each is claimed by one caller only."""
        now = time.time() if now is None else now
        with self._write() as conn:
            ids = conn.scalars(
                select(events.c.id).where(overdue(now), events.c.escalated_at.is_(None)).limit(limit)
            ).all()
            if not ids:
                return []
            claimed = (
                conn.execute(
                    update(events)
                    .where(events.c.id.in_(ids), events.c.escalated_at.is_(None))
                    .values(escalated_at=now)
                    .returning(*events.c)
                )
                .mappings()
                .all()
            )
            conn.commit()
        return [_answer(r) for r in claimed]

    def note_escalation(self, event_id: str, at: float, reason: str, rules: Sequence[str]) -> None:
        """Put the escalation the overdue rules raised on the event's timeline (by the gateway, not a caller)."""
        with self._write() as conn:
            row = self._row(conn, event_id)
            conn.execute(outcomes.insert().values(
                event_id=event_id, outcome_id=f"escalation-{int(at)}", type="escalated", at=at, recorded_at=time.time(),
                reason=reason, rules=json.dumps(list(rules), ensure_ascii=False), status=row["status"], by="citymind",
            ))  # fmt: skip

    def purge(self, now: float | None = None) -> int:
        """Delete events (and their outcomes) older than ``retention_days``; how many went."""
        cutoff = (time.time() if now is None else now) - self.retention_days * 86400
        with self._write() as conn:
            old = select(events.c.id).where(events.c.at < cutoff)
            conn.execute(delete(outcomes).where(outcomes.c.event_id.in_(old)))
            gone = conn.execute(delete(events).where(events.c.at < cutoff)).rowcount
            conn.commit()
        return int(gone or 0)

    # -- reading -----------------------------------------------------------------------------------------------
    def get(self, event_id: str) -> dict[str, Any]:
        """The event with its ``timeline`` of outcomes, oldest first."""
        with self.engine.connect() as conn:
            return self._with_timeline(conn, self._row(conn, event_id))

    def page(
        self, where: EventFilter, limit: int = 50, cursor: str | None = None, now: float | None = None
    ) -> dict[str, Any]:
        """Newest first: ``{"events": [...], "next": cursor or None}``; pass ``next`` back for the page after."""
        limit = max(1, min(limit, MAX_PAGE))
        query = filtered(select(events), where, time.time() if now is None else now)
        if cursor:
            at, last = read_cursor(cursor)
            query = query.where(or_(events.c.at < at, and_(events.c.at == at, events.c.id < last)))
        query = query.order_by(events.c.at.desc(), events.c.id.desc()).limit(limit + 1)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        more = len(rows) > limit
        rows = rows[:limit]
        return {"events": [_answer(r) for r in rows], "next": cursor_of(rows[-1]) if more else None}

    def rows(
        self, columns: Sequence[str], where: EventFilter | None = None, now: float | None = None
    ) -> Iterator[tuple[Any, ...]]:
        """The given columns of the matching events, oldest first (for evaluation, training and backtests)."""
        query = select(*(events.c[name] for name in columns))
        query = filtered(query, where or EventFilter(), time.time() if now is None else now).order_by(events.c.at)
        with self.engine.connect() as conn:
            yield from conn.execute(query.execution_options(yield_per=10_000))

    def recent_reports(
        self, since: float, limit: int
    ) -> list[tuple[str, str, str, str | None, str | None, float, str]]:
        """The newest ``limit`` reports since ``since``, oldest first, as the recent-report store takes them: event
        id, masked text, category, area, hashed reporter, time, report id."""
        columns = (events.c.id, events.c.text, events.c.category, events.c.area, events.c.reporter, events.c.at,
                   events.c.report_id)  # fmt: skip
        query = (
            select(*columns)
            .where(events.c.kind == "report", events.c.at >= since, events.c.text.is_not(None))
            .order_by(events.c.at.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [(str(r[0]), str(r[1]), str(r[2]), r[3], r[4], float(r[5]), str(r[6] or r[0])) for r in reversed(rows)]

    def timeline_rows(self, types: Sequence[str], since: float | None = None) -> list[dict[str, Any]]:
        """Outcomes of the given types (with their event's area, category and lead), oldest first."""
        query = (
            select(outcomes, events.c.area, events.c.category.label("decided_category"), events.c.lead)
            .join(events, events.c.id == outcomes.c.event_id)
            .where(outcomes.c.type.in_(types))
        )
        if since is not None:
            query = query.where(outcomes.c.at >= since)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query.order_by(outcomes.c.seq)).mappings()]

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(events)) or 0)

    def status(self) -> dict[str, object]:
        """What health reports: the store (password hidden), its schema revision."""
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            revision = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()
        return {"url": self.engine.url.render_as_string(hide_password=True), "schema": revision,
                "retention_days": self.retention_days}  # fmt: skip

    # -- inside ------------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        """A connection whose transaction takes the write lock at once (SQLite: ``BEGIN IMMEDIATE``, so a read
        then write never deadlocks with another writer); committed on leaving unless committed or rolled back."""
        with self.engine.connect().execution_options(immediate=True) as conn, conn.begin() as tx:
            yield conn
            if tx.is_active:
                tx.commit()

    def _row(self, conn: Connection, event_id: str) -> RowMapping:
        row = conn.execute(select(events).where(events.c.id == event_id)).mappings().first()
        if row is None:
            raise EventNotFound(f"no event {event_id!r} is recorded (ids come in triage answers as 'event_id')")
        return row

    def _with_timeline(self, conn: Connection, row: RowMapping) -> dict[str, Any]:
        timeline = conn.execute(
            select(outcomes).where(outcomes.c.event_id == row["id"]).order_by(outcomes.c.seq)
        ).mappings()
        steps = [_step(t) for t in timeline]
        return {**_answer(row), "timeline": steps}


def new_event_id(at: float | None = None) -> str:
    """A new event id: sortable by time (ms, hex), then random."""
    return f"{int((time.time() if at is None else at) * 1000):011x}{secrets.token_hex(6)}"


def report_event_id(channel: str | None, report_id: str) -> str:
    """The event id of a report a channel names itself: the same report sent again is the same event."""
    return "r" + hashlib.blake2b(f"{channel or ''}\x00{report_id}".encode(), digest_size=12).hexdigest()


def _to_row(given: Mapping[str, object]) -> dict[str, object]:
    row = _EMPTY_ROW.copy()
    row.update(given)
    if len(row) > len(_EMPTY_ROW):  # keys that are not columns are left out
        row = {name: row[name] for name in _EMPTY_ROW}
    for name in JSON_COLUMNS:
        if row[name] is not None and not isinstance(row[name], str):
            row[name] = _to_json(row[name])
    row.update(_COUNTERS)
    row.update(status=row["status"] or "open", department=row["department"] or row["lead"],
               recorded_at=row["recorded_at"] or time.time())  # fmt: skip
    return row


def _answer(row: RowMapping) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key == "revision":
            continue
        if key in JSON_COLUMNS and isinstance(value, str):
            value = json.loads(value)
        elif key in TIME_COLUMNS:
            value = _iso(value)
        out[key] = value
    out["category_final"] = out.pop("final_category") or out["category"]
    return out


def _step(outcome: RowMapping) -> dict[str, Any]:
    """One timeline entry: what it says, times as ISO 8601."""
    out: dict[str, Any] = {}
    for key, value in outcome.items():
        if key in ("seq", "event_id") or value is None:
            continue
        out[key] = _iso(value) if key in ("at", "recorded_at") else json.loads(value) if key == "rules" else value
    return out


def _iso(value: float | None) -> str | None:
    return None if value is None else datetime.fromtimestamp(value).isoformat(timespec="seconds")


def _same_outcome(earlier: RowMapping, outcome: lifecycle.Outcome) -> None:
    """A retried outcome must be the same outcome; an id used for another one is a caller's bug."""
    if earlier["type"] != outcome["type"]:
        raise Conflict(
            f"outcome id {outcome['outcome_id']!r} was already used for a {earlier['type']!r} outcome of this event; "
            "use a new id for a new outcome"
        )
