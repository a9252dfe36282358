"""SQLite's WAL copied into the database file off the request path. By default the commit that takes the WAL past
1,000 pages copies it (and syncs the file) while every caller sharing that commit waits; the recording connection
leaves that to this thread instead, which checkpoints (``PASSIVE``: never blocking a reader or a writer) every
``interval_s`` while records are written. A commit is durable once in the WAL either way (``synchronous=NORMAL``);
if the thread falls behind, the recording connection's own checkpoint at ``FALLBACK_PAGES`` still bounds the WAL."""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import Engine

log = logging.getLogger("citymind.events")
#: the recording connection checkpoints itself only past this many WAL pages (4 KiB each): 64 MiB
FALLBACK_PAGES = 16_384


class WalCheckpointer:
    """``touch()`` after a commit; a daemon thread checkpoints within ``interval_s`` of it; ``stop()`` ends it."""

    def __init__(self, engine: Engine, interval_s: float = 0.5) -> None:
        self.engine, self.interval_s = engine, interval_s
        self._written = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def touch(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None and not self._stopping.is_set():
                    self._thread = threading.Thread(target=self._run, name="citymind-wal-checkpoint", daemon=True)
                    self._thread.start()
        self._written.set()

    def stop(self) -> None:
        self._stopping.set()
        self._written.set()
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(timeout=30)

    def _run(self) -> None:
        raw: Any = None
        try:
            while not self._stopping.is_set():
                self._written.wait()
                self._written.clear()
                if raw is None:
                    raw = self.engine.raw_connection()
                try:
                    raw.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except Exception as exc:  # the next commit's touch tries again; the fallback bounds the WAL
                    log.warning("checkpointing the event store's WAL failed (%s); trying again later", exc)
                self._stopping.wait(self.interval_s)
        finally:
            if raw is not None:
                raw.close()
