"""Group commit of event records: concurrent ``record`` calls share transactions, and none returns before its
rows are committed. A caller that finds no transaction being written writes one with every row queued until then
(its own among them) and wakes the callers it carried; callers arriving meanwhile queue for the next. One commit
(SQLite: one WAL append; PostgreSQL: one flush) serves many requests, and on SQLite the writers of one process never
wait on the file's lock for each other (its busy handler sleeps a millisecond and more). On SQLite the insert is
one multi-row statement (its own transaction: one step of the driver) made once for each number of rows, on a
connection kept for recording, each caller turning its rows into the statement's parameters before it queues; the
WAL is checkpointed off the request path (``events.records.checkpoint``)."""

from __future__ import annotations

import functools
import operator
import threading
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, bindparam
from sqlalchemy.exc import DBAPIError, OperationalError

from citymind.errors import EventStoreUnavailable
from events.records.checkpoint import FALLBACK_PAGES, WalCheckpointer
from events.records.database import insert_ignoring_duplicates
from events.records.schema import events


def _sqlite_insert() -> tuple[str, tuple[str, ...]]:
    """The SQLite insert of every event column (a recorded id left as it was), and the order of its parameters."""
    from sqlalchemy.dialects import sqlite

    values: dict[str, Any] = {c.name: bindparam(c.name) for c in events.c}
    statement = sqlite.insert(events).values(values).on_conflict_do_nothing(index_elements=["id"])
    compiled = statement.compile(dialect=sqlite.dialect())
    return str(compiled), tuple(compiled.positiontup or ())


SQLITE_INSERT, COLUMNS = _sqlite_insert()
#: a row's parameters of ``SQLITE_INSERT``, in order
_parameters = operator.itemgetter(*COLUMNS)
#: rows a statement inserts at most (SQLite allows 32,766 parameters)
ROWS_A_STATEMENT = 500


@functools.lru_cache(maxsize=64)
def _rows_statement(n: int) -> str:
    """``SQLITE_INSERT`` of ``n`` rows in one statement."""
    head, _, tail = SQLITE_INSERT.partition(" VALUES ")
    values, _, conflict = tail.partition(" ON CONFLICT ")
    return head + " VALUES " + ", ".join([values] * n) + " ON CONFLICT " + conflict


class _Pending:
    """One caller's rows and, once written, whether they were committed (``error`` None) or what went wrong."""

    __slots__ = ("done", "error", "rows")

    def __init__(self, rows: Sequence[Any]) -> None:
        self.rows = rows
        self.done = False
        self.error: BaseException | None = None

    def result(self) -> None:
        if self.error is not None:
            raise self.error


class GroupCommit:
    """``write(rows)``: the rows inserted, committed when it returns (a recorded id left as it was)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._changed = threading.Condition()
        self._queue: list[_Pending] = []
        self._writing = False
        self.sqlite = engine.dialect.name == "sqlite"
        self._raw: Any = None  # SQLite: the DBAPI connection kept for recording
        self._checkpoints = WalCheckpointer(engine)

    def write(self, rows: Sequence[dict[str, object]]) -> None:
        mine = _Pending([_parameters(row) for row in rows] if self.sqlite else rows)
        with self._changed:
            self._queue.append(mine)
            while self._writing and not mine.done:
                self._changed.wait()
            if mine.done:  # carried by another caller's transaction
                return mine.result()
            self._writing = True
            batch, self._queue = self._queue, []
        try:
            self._commit(batch)
        finally:
            with self._changed:
                self._writing = False
                self._changed.notify_all()
        mine.result()

    def close(self) -> None:
        self._checkpoints.stop()
        with self._changed:
            raw, self._raw = self._raw, None
        if raw is not None:
            raw.close()

    def _commit(self, batch: list[_Pending]) -> None:
        errors: list[BaseException | None] = []
        try:
            errors = self._errors(batch)
        except BaseException as exc:  # interrupted: no caller of the batch may take its rows as recorded
            errors = [exc] * len(batch)
            raise
        finally:
            for pending, error in zip(batch, errors, strict=True):
                pending.error, pending.done = error, True

    def _errors(self, batch: list[_Pending]) -> list[BaseException | None]:
        """The batch in one transaction: None for each caller. When that fails and it carried several callers,
        each caller's rows in a transaction of their own, so one caller's bad row fails that caller alone."""
        try:
            self._insert([row for pending in batch for row in pending.rows])
            return [None] * len(batch)
        except Exception as exc:
            if len(batch) == 1:
                return [exc]
        return [self._alone(pending.rows) for pending in batch]

    def _alone(self, rows: Sequence[Any]) -> BaseException | None:
        try:
            self._insert(rows)
        except Exception as exc:
            return exc
        return None

    def _insert(self, rows: Sequence[Any]) -> None:
        try:
            if self.sqlite:
                self._insert_sqlite(rows)
            else:
                with self.engine.begin() as conn:
                    conn.execute(insert_ignoring_duplicates(conn), list(rows))
        except OperationalError as exc:
            url = self.engine.url.render_as_string(hide_password=True)
            raise EventStoreUnavailable(
                f"the event store {url} did not take the record ({exc.orig}); try again"
            ) from None

    def _insert_sqlite(self, rows: Sequence[tuple[object, ...]]) -> None:
        """Up to ``ROWS_A_STATEMENT`` rows in one statement, its own transaction (SQLite takes the write lock and
        commits in the one step, the GIL released once); more in chunks inside ``BEGIN IMMEDIATE``."""
        if self._raw is None:
            self._raw = self.engine.raw_connection()  # with the engine's pragmas: WAL, busy timeout
            self._raw.driver_connection.execute(f"PRAGMA wal_autocheckpoint={FALLBACK_PAGES:d}")
        conn = self._raw.driver_connection
        dbapi = self.engine.dialect.loaded_dbapi
        try:
            if len(rows) <= ROWS_A_STATEMENT:
                conn.execute(_rows_statement(len(rows)), [value for row in rows for value in row])
            else:
                conn.execute("BEGIN IMMEDIATE")
                for start in range(0, len(rows), ROWS_A_STATEMENT):
                    chunk = rows[start : start + ROWS_A_STATEMENT]
                    conn.execute(_rows_statement(len(chunk)), [value for row in chunk for value in row])
                conn.execute("COMMIT")
        except BaseException as exc:
            self._rollback(conn)
            if isinstance(exc, dbapi.Error):  # as SQLAlchemy raises it, like on PostgreSQL
                raise DBAPIError.instance(SQLITE_INSERT, None, exc, dbapi.Error) from None
            raise
        self._checkpoints.touch()

    def _rollback(self, conn: Any) -> None:
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except Exception:  # the connection is not usable: the next write opens another
            raw, self._raw = self._raw, None
            raw.invalidate()
