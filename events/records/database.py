"""The event records' database: an engine with the settings each dialect needs (SQLite: WAL, a write lock taken
at the start of a writing transaction), inserts that skip a recorded id, and the key reporter ids are hashed with."""

from __future__ import annotations

import contextlib
import secrets
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event

from citymind.files import write_private
from events.records.schema import events


def reporter_key(path: Path) -> bytes:
    """The key reporter ids are hashed with, made (owner-only) the first time."""
    if not path.exists():
        with contextlib.suppress(FileExistsError):
            path.parent.mkdir(parents=True, exist_ok=True)
            write_private(path, secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


def engine_for(url: str) -> Engine:
    if url.startswith("sqlite:"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi: Any, _record: object) -> None:
            dbapi.isolation_level = None  # SQLAlchemy's BEGIN below, not the driver's
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000"):
                dbapi.execute(f"PRAGMA {pragma}")

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("immediate") else "BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=8, max_overflow=8)


def insert_ignoring_duplicates(conn: Connection) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    return insert(events).on_conflict_do_nothing(index_elements=["id"])
