"""The event engine's state, shared by the gateway's ingress replicas: the recent reports (duplicates, repeat
callers), the rule timers (``for`` durations, repeat suppression of dispatch, indicator and video rules) and the
hours each indicator series was evaluated up to. With one ingress replica the engine keeps them itself; with more,
one ``event-state`` Ray actor holds them (:class:`EventState`) and each ingress reaches it through
:class:`SharedEventState`, so a duplicate is found, a ``for`` timer runs and a repeat is suppressed whichever
replica each report, reading or frame reached. An actor call, not a Serve deployment: a Serve handle call costs
4–5 ms here and a plain actor call 1.5 ms, and triage makes one or two a request (docs/benchmarks/triage.json)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from citymind.files import write_private
from events.ports import EventStore, HourMove, SeriesHour
from events.recent import RecentEntry, RecentReports, Seen
from events.records import EventRecords
from rules.timers import Move, Outcome, RuleTimers, Step

if TYPE_CHECKING:
    from ray import ObjectRef

log = logging.getLogger("citymind.events")
T = TypeVar("T")
R = TypeVar("R")


class EventState:
    """Recent reports, rule timers and evaluated hours in one place (the ``event-state`` actor, or a replica's
    own). With a ``path`` they outlive a restart: read from it at start, written to it (atomically, owner-only)
    every ``save_every_s`` when something changed, and when the state closes (the gateway's shutdown closes the
    actor; a replica's own closes in ``__del__`` when Serve stops the replica). A file that cannot be read is set
    aside (``.unreadable``) with a warning, and the state starts empty. With ``events_url`` (where events are
    recorded) the recent reports are not written to the file: the newest ``refill`` recorded reports of the window
    are read back from the store at start."""

    def __init__(
        self,
        path: str | Path | None = None,
        save_every_s: float = 30.0,
        max_series: int = 10_000,
        *,
        events_url: str | None = None,
        refill: int = 20_000,
    ) -> None:
        self.recent = RecentReports()
        self.events_url = events_url
        self.timers = RuleTimers()
        self.hours: OrderedDict[tuple[str, str | None], float] = OrderedDict()  # last hour evaluated, per series
        self.max_series = max_series
        self.path = Path(path) if path else None
        self._changes = self._saved = 0
        self.saved_at: float | None = None
        self.save_error: str | None = None
        self._stop, self._saving, self._lock = threading.Event(), threading.Lock(), threading.Lock()
        if self.path is not None:
            self._load(self.path)
        if events_url:
            self._refill(events_url, refill)
        if self.path is not None:
            threading.Thread(target=self._save_every, args=(save_every_s,), name="event-state", daemon=True).start()

    def add_many(self, entries: list[RecentEntry]) -> list[Seen]:
        self._changes += 1
        return self.recent.add_many(entries)

    def discard(self, event_ids: list[str]) -> None:
        self._changes += 1
        self.recent.discard(event_ids)

    def advance(self, steps: list[Step]) -> list[Outcome | None]:
        self._changes += 1
        return self.timers.advance(steps)

    def advance_undoably(self, steps: list[Step]) -> tuple[list[Outcome | None], list[Move]]:
        self._changes += 1
        return self.timers.advance_undoably(steps)

    def take_back(self, moves: list[Move]) -> int:
        self._changes += 1
        return self.timers.take_back(moves)

    def evaluated(self, series: list[SeriesHour]) -> list[float | None]:
        """Per ``((indicator, area), newest hour)``: the newest hour evaluated before for that series (None: never),
        and the newest hour is now recorded as evaluated (at most ``max_series`` series, least recent out)."""
        self._changes += 1
        with self._lock:
            before = []
            for key, hour in series:
                last = self.hours.get(key)
                self.hours[key] = hour if last is None else max(last, hour)
                self.hours.move_to_end(key)
                before.append(last)
            while len(self.hours) > self.max_series:
                self.hours.popitem(last=False)
        return before

    def take_back_hours(self, moves: list[HourMove]) -> int:
        """Set each series back to the hour it had before an evaluation whose warnings were not recorded, unless a
        later evaluation moved it since; how many were set back."""
        self._changes += 1
        undone = 0
        with self._lock:
            for key, before, after in moves:
                if self.hours.get(key) != after:
                    continue
                if before is None:
                    del self.hours[key]
                else:
                    self.hours[key] = before
                undone += 1
        return undone

    def save(self) -> None:
        """Write the state to ``path`` now, if it changed since it was last written."""
        with self._saving:  # the saver thread and close() must not write the same file at once
            changes = self._changes
            if self.path is None or changes == self._saved:
                return
            with self._lock:
                hours = [[*key, hour] for key, hour in self.hours.items()]
            recent = [] if self.events_url else self.recent.records()  # the event store keeps them then
            state = {"format": FORMAT, "recent": recent, "timers": self.timers.records(), "hours": hours}
            write_private(self.path, json.dumps(state, ensure_ascii=False, separators=(",", ":")))
            self._saved, self.saved_at = changes, time.time()

    def status(self) -> dict[str, object]:
        """What health reports: where the state lives, how much it holds, when it was last written."""
        saved = None if self.saved_at is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.saved_at))
        return {
            "shared": False,
            "file": None if self.path is None else str(self.path),
            "saved_at": saved,
            "recent_reports": len(self.recent),
            "rule_timers": len(self.timers),
            "indicator_series": len(self.hours),
            "save_error": self.save_error,
        }

    def close(self) -> None:
        self._stop.set()
        self.save()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # the interpreter may be going away
            self.close()

    def _save_every(self, seconds: float) -> None:
        """The saver: any error is reported (log, ``status()['save_error']``) and the next save tried; it never
        stops while the state is open."""
        while not self._stop.wait(seconds):
            try:
                self.save()
                self.save_error = None
            except Exception as exc:
                self.save_error = f"{type(exc).__name__}: {exc}"
                log.warning(
                    "could not save the event state to %s (%s); trying again in %.0f s", self.path, exc, seconds
                )

    def _refill(self, events_url: str, limit: int) -> None:
        """The newest ``limit`` recorded reports of the recent window, oldest first, as if just added."""
        records = EventRecords(events_url, migrate=False)
        try:
            since = time.time() - self.recent.window_s
            self.recent.add_many(records.recent_reports(since, limit))
        except Exception as exc:  # a store not migrated yet, or down: the window starts empty
            log.warning("the recent reports could not be read back from the event store (%s); starting empty", exc)
        finally:
            records.close()
        log.info("%d recent reports read back from the event store", len(self.recent))

    def _load(self, path: Path) -> None:
        if not path.exists():
            return
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
            if state.get("format") != FORMAT:
                raise ValueError(f"format {state.get('format')!r}, this version reads {FORMAT}")
            self.recent.restore(state["recent"])
            self.timers.restore(state["timers"])
            self.hours.update(((indicator, area), hour) for indicator, area, hour in state["hours"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.recent, self.timers, self.hours = RecentReports(), RuleTimers(), OrderedDict()
            aside = path.with_name(path.name + ".unreadable")
            with contextlib.suppress(OSError):  # if it cannot be moved, the next save replaces it
                os.replace(path, aside)
            log.warning(
                "the event state in %s could not be read (%s); starting empty, the file is now %s", path, exc, aside
            )
            return
        log.info(
            "event state from %s: %d recent reports, %d rule timers, %d indicator series",
            path, len(self.recent), len(self.timers), len(self.hours),
        )  # fmt: skip


#: the layout of the saved state; another one is set aside, not misread
FORMAT = 2  # 2: recent reports as MinHash signatures, not bigrams


class Wait(Protocol):
    """How an actor call's result is waited for (``ray.get``'s shape): at most ``timeout`` seconds, else an error."""

    def __call__(self, ref: ObjectRef[T], *, timeout: float) -> T: ...


class SharedEventState:
    """``add_many``, ``discard``, ``advance`` (and ``advance_undoably``, ``take_back``) and ``evaluated`` (and
    ``take_back_hours``) on the shared state through its actor handle, one call per batch (from a request thread,
    not the event loop). If it does not answer within ``timeout_s``, this replica's own state answers instead
    (duplicates and timers of what this replica saw), a warning says why, and the shared state is asked again
    after ``retry_s`` (until then no request waits for it): no request fails for it. ``get`` waits for a call's
    result (``ray.get``)."""

    def __init__(self, actor: object, timeout_s: float = 2.0, retry_s: float = 30.0, get: Wait | None = None) -> None:
        self.actor, self.timeout_s, self.retry_s, self.get = actor, timeout_s, retry_s, get
        self.local = EventState()
        self._retry_at = 0.0

    def add_many(self, entries: list[RecentEntry]) -> list[Seen]:
        return self._call("add_many", self.local.add_many, entries)

    def discard(self, event_ids: list[str]) -> None:
        self._call("discard", self.local.discard, event_ids)

    def advance(self, steps: list[Step]) -> list[Outcome | None]:
        return self._call("advance", self.local.advance, steps)

    def advance_undoably(self, steps: list[Step]) -> tuple[list[Outcome | None], list[Move]]:
        return self._call("advance_undoably", self.local.advance_undoably, steps)

    def take_back(self, moves: list[Move]) -> int:
        return self._call("take_back", self.local.take_back, moves)

    def evaluated(self, series: list[SeriesHour]) -> list[float | None]:
        return self._call("evaluated", self.local.evaluated, series)

    def take_back_hours(self, moves: list[HourMove]) -> int:
        return self._call("take_back_hours", self.local.take_back_hours, moves)

    def status(self) -> dict[str, object]:
        """Whether the shared state answers; while it does not, this replica's own state answers (its counts)."""
        waiting = max(0.0, self._retry_at - time.monotonic())
        own = {k: v for k, v in self.local.status().items() if k not in ("shared", "file", "saved_at")}
        return {"shared": True, "answering": not waiting, "asked_again_in_s": round(waiting, 1), "own": own}

    def close(self) -> None:
        self.local.close()

    def _call(self, method: str, local: Callable[[list[T]], R], items: list[T]) -> R:
        """The actor's ``method`` on ``items`` (the same method as ``local``, so the same answer type); while the
        actor does not answer, ``local``, this replica's own."""
        if time.monotonic() >= self._retry_at:
            try:
                ref: ObjectRef[R] = getattr(self.actor, method).remote(items)
                return self._get(ref)
            except Exception as exc:
                self._retry_at = time.monotonic() + self.retry_s
                log.warning(
                    "the shared event state did not answer (%s); this replica's own recent reports and rule timers "
                    "answer for the next %.0f s",
                    exc,
                    self.retry_s,
                )
        return local(items)

    def _get(self, ref: ObjectRef[R]) -> R:
        if self.get is not None:
            return self.get(ref, timeout=self.timeout_s)
        import ray

        return ray.get(ref, timeout=self.timeout_s)


class UndoableTimers:
    """An engine's rule timers over its ``EventStore``. Inside ``attempt()`` the timers this thread's steps move
    are noted, and set back if the attempt fails (a triage whose answer could not be recorded): a retried request
    meets the ``for`` timers and repeat suppression its first attempt met. A timer another request moved since is
    kept (that request's answer saw it). Outside an attempt (indicator and video rules) steps apply as they are."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self._attempt = threading.local()

    def advance(self, steps: list[Step]) -> list[Outcome | None]:
        moves: list[Move] | None = getattr(self._attempt, "moves", None)
        if moves is None:
            return self.store.advance(steps)
        outcomes, moved = self.store.advance_undoably(steps)
        moves.extend(moved)
        return outcomes

    @contextlib.contextmanager
    def attempt(self) -> Iterator[None]:
        if getattr(self._attempt, "moves", None) is not None:  # within another attempt: it sets back what both moved
            yield
            return
        moves: list[Move] = []
        self._attempt.moves = moves
        try:
            yield
        except BaseException:
            if moves:
                try:
                    self.store.take_back(moves)
                except Exception as exc:  # the attempt's own error is the one to report
                    log.warning("the rule timers of a failed attempt could not be set back (%s)", exc)
            raise
        finally:
            self._attempt.moves = None
