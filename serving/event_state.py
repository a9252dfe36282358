"""The event engine's state, shared by the gateway's ingress replicas: the recent reports (duplicates, repeat
callers) and the rule timers (``for`` durations, repeat suppression of dispatch, indicator and video rules). With
one ingress replica the engine keeps both itself; with more, one ``event-state`` replica holds them
(:class:`EventState`) and each ingress reaches it through :class:`SharedEventState`, so a duplicate is found, a
``for`` timer runs and a repeat is suppressed whichever replica each report, reading or frame reached."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from citymind.files import write_private
from rules.timers import Outcome, RuleTimers, Step
from serving.recent import RecentReports, Seen

log = logging.getLogger("citymind.serving")


class EventState:
    """Recent reports and rule timers in one place (the ``event-state`` deployment, or a replica's own). With a
    ``path`` they outlive a restart: read from it at start, written to it (atomically, owner-only) every
    ``save_every_s`` when something changed, and when the state closes (Serve calls ``__del__`` when it stops the
    replica). A file that cannot be read is set aside (``.unreadable``) with a warning, and the state starts empty."""

    def __init__(self, path: str | Path | None = None, save_every_s: float = 30.0) -> None:
        self.recent = RecentReports()
        self.timers = RuleTimers()
        self.path = Path(path) if path else None
        self._changes = self._saved = 0
        self._stop = threading.Event()
        if self.path is not None:
            self._load(self.path)
            threading.Thread(target=self._save_every, args=(save_every_s,), name="event-state", daemon=True).start()

    def add_many(self, entries: list[tuple[Any, ...]]) -> list[Seen]:
        self._changes += 1
        return self.recent.add_many(entries)

    def advance(self, steps: list[Step]) -> list[Outcome | None]:
        self._changes += 1
        return self.timers.advance(steps)

    def save(self) -> None:
        """Write the state to ``path`` now, if it changed since it was last written."""
        changes = self._changes
        if self.path is None or changes == self._saved:
            return
        state = {"format": FORMAT, "recent": self.recent.records(), "timers": self.timers.records()}
        write_private(self.path, json.dumps(state, ensure_ascii=False, separators=(",", ":")))
        self._saved = changes

    def close(self) -> None:
        self._stop.set()
        self.save()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # the interpreter may be going away
            self.close()

    def _save_every(self, seconds: float) -> None:
        while not self._stop.wait(seconds):
            try:
                self.save()
            except OSError as exc:
                log.warning(
                    "could not save the event state to %s (%s); trying again in %.0f s", self.path, exc, seconds
                )

    def _load(self, path: Path) -> None:
        if not path.exists():
            return
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
            if state.get("format") != FORMAT:
                raise ValueError(f"format {state.get('format')!r}, this version reads {FORMAT}")
            self.recent.restore(state["recent"])
            self.timers.restore(state["timers"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.recent, self.timers = RecentReports(), RuleTimers()
            aside = path.with_name(path.name + ".unreadable")
            os.replace(path, aside)
            log.warning(
                "the event state in %s could not be read (%s); starting empty, the file is now %s", path, exc, aside
            )
            return
        log.info("event state from %s: %d recent reports, %d rule timers", path, len(self.recent), len(self.timers))


#: the layout of the saved state; another one is set aside, not misread
FORMAT = 1


class SharedEventState:
    """``add_many`` and ``advance`` on the shared state through its deployment handle, one call per batch (from a
    request thread, not the event loop). If it does not answer within ``timeout_s``, this replica's own state
    answers instead (duplicates and timers of what this replica saw), a warning says why, and the shared state is
    asked again after ``retry_s`` (until then no request waits for it): no request fails for it."""

    def __init__(self, handle: Any, timeout_s: float = 2.0, retry_s: float = 30.0) -> None:
        self.handle, self.timeout_s, self.retry_s = handle, timeout_s, retry_s
        self.local = EventState()
        self._retry_at = 0.0

    def add_many(self, entries: list[tuple[Any, ...]]) -> list[Seen]:
        seen: list[Seen] = self._call("add_many", entries)
        return seen

    def advance(self, steps: list[Step]) -> list[Outcome | None]:
        outcomes: list[Outcome | None] = self._call("advance", steps)
        return outcomes

    def close(self) -> None:
        self.local.close()

    def _call(self, method: str, items: list[Any]) -> Any:
        if time.monotonic() >= self._retry_at:
            try:
                return getattr(self.handle, method).remote(items).result(timeout_s=self.timeout_s)
            except Exception as exc:
                self._retry_at = time.monotonic() + self.retry_s
                log.warning(
                    "the shared event state did not answer (%s); this replica's own recent reports and rule timers "
                    "answer for the next %.0f s",
                    exc,
                    self.retry_s,
                )
        return getattr(self.local, method)(items)
