"""The event engine's state, shared by the gateway's ingress replicas: the recent reports (duplicates, repeat
callers) and the rule timers (``for`` durations, repeat suppression of dispatch, indicator and video rules). With
one ingress replica the engine keeps both itself; with more, one ``event-state`` replica holds them
(:class:`EventState`) and each ingress reaches it through :class:`SharedEventState`, so a duplicate is found, a
``for`` timer runs and a repeat is suppressed whichever replica each report, reading or frame reached."""

from __future__ import annotations

import logging
import time
from typing import Any

from rules.timers import Outcome, RuleTimers, Step
from serving.recent import RecentReports, Seen

log = logging.getLogger("citymind.serving")


class EventState:
    """Recent reports and rule timers in one place (the ``event-state`` deployment, or a replica's own)."""

    def __init__(self) -> None:
        self.recent = RecentReports()
        self.timers = RuleTimers()

    def add_many(self, entries: list[tuple[Any, ...]]) -> list[Seen]:
        return self.recent.add_many(entries)

    def advance(self, steps: list[Step]) -> list[Outcome | None]:
        return self.timers.advance(steps)


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
