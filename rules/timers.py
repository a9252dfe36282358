"""Rule timers: the state a rule set's evaluation keeps between events, per rule and series: since when a ``for``
condition has held, when it last held (``keep_firing_for``), when it last fired (repeat suppression by
``interval``). The engine decides what each event means for its rules (a :class:`Step`); ``RuleTimers.advance``
moves the timers and says which steps fire. Kept apart from the rules, so that one store can serve successive
versions of a rule set (a reload) and several services at once (the gateway's ingress replicas share one)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, NamedTuple, Protocol

#: a timer's key: the rule id, the digest of the rule's text, and the series (the values of its series fields)
TimerKey = tuple[str, str | None, tuple[str, ...]]
#: one timer as JSON holds it (a saved event state): rule id, digest, series, then pending, last_true, last_fired
#: and last_at; read back from a file, so its items are whatever the JSON holds
TimerRecord = list[Any]
#: a timer's times: pending, last_true, last_fired, last_at (None: no timer for that key)
Times = tuple[float | None, float | None, float | None, float] | None


class Step(NamedTuple):
    """One event's effect on one rule's timer. ``key`` names the rule (with a digest of its text: an edited rule
    starts afresh) and the series (indicator and area, camera and zone, ``group_by`` fields)."""

    key: TimerKey
    holds: bool
    at: float
    for_s: float = 0.0
    keep_firing_s: float = 0.0
    interval_s: float = 0.0


class Outcome(NamedTuple):
    """A step that fires: how long its condition has held, and whether it repeats a firing within its interval."""

    held_for: float = 0.0
    suppressed: bool = False


class Move(NamedTuple):
    """What a batch of steps did to one timer: its times before the batch and after it."""

    key: TimerKey
    before: Times
    after: Times


class TimerStore(Protocol):
    """What an engine needs of its timers: ``RuleTimers``, or a client of one that several services share."""

    def advance(self, steps: list[Step]) -> list[Outcome | None]: ...


class _Timer:
    __slots__ = ("last_at", "last_fired", "last_true", "pending")

    def __init__(
        self,
        pending: float | None = None,
        last_true: float | None = None,
        last_fired: float | None = None,
        last_at: float = float("-inf"),
    ) -> None:
        self.pending, self.last_true, self.last_fired, self.last_at = pending, last_true, last_fired, last_at


class RuleTimers:
    """The timers of every rule and series, at most ``max_series`` of them (the least recently stepped dropped
    first). Time only moves forward per timer: a step older than the last one applied to its timer (a late event,
    a history replayed by another replica) changes nothing and does not fire."""

    def __init__(self, max_series: int = 100_000) -> None:
        self.max_series = max_series
        self._timers: OrderedDict[TimerKey, _Timer] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._timers)

    def records(self) -> list[TimerRecord]:
        """The timers, least recently stepped first, as JSON can hold them: rule, digest, series, the four times."""
        with self._lock:
            return [
                [*key[:-1], list(key[-1]), t.pending, t.last_true, t.last_fired, t.last_at]
                for key, t in self._timers.items()
            ]

    def restore(self, records: list[TimerRecord]) -> None:
        """Take back timers from :meth:`records`."""
        with self._lock:
            for rule, digest, series, *times in records:
                self._timers[(rule, digest, tuple(series))] = _Timer(*times)
            while len(self._timers) > self.max_series:
                self._timers.popitem(last=False)

    def advance(self, steps: list[Step]) -> list[Outcome | None]:
        """Apply ``steps`` in order; per step, its firing or None."""
        with self._lock:
            return [self._advance(step) for step in steps]

    def advance_undoably(self, steps: list[Step]) -> tuple[list[Outcome | None], list[Move]]:
        """:meth:`advance`, and what it did to each timer, for :meth:`take_back` should the batch fail after."""
        with self._lock:
            before: dict[TimerKey, Times] = {}
            for step in steps:
                before.setdefault(step.key, self._times(step.key))
            outcomes = [self._advance(step) for step in steps]
            return outcomes, [Move(key, times, self._times(key)) for key, times in before.items()]

    def take_back(self, moves: list[Move]) -> int:
        """Undo ``moves`` (from :meth:`advance_undoably`) on each timer no later step has moved since (that step saw
        them: it keeps them); how many timers were set back."""
        with self._lock:
            undone = 0
            for key, before, after in moves:
                if after is None or self._times(key) != after:
                    continue
                if before is None:
                    del self._timers[key]
                else:
                    self._timers[key] = _Timer(*before)
                undone += 1
            return undone

    def _times(self, key: TimerKey) -> Times:
        timer = self._timers.get(key)
        return None if timer is None else (timer.pending, timer.last_true, timer.last_fired, timer.last_at)

    def _advance(self, step: Step) -> Outcome | None:
        timer = self._timers.get(step.key)
        if timer is None:
            timer = self._timers[step.key] = _Timer()
            while len(self._timers) > self.max_series:
                self._timers.popitem(last=False)
        else:
            self._timers.move_to_end(step.key)
        if step.at < timer.last_at:
            return None
        timer.last_at = step.at
        timed = step.for_s or step.keep_firing_s
        if not timed:
            held_for = 0.0
        elif step.holds:
            since = timer.pending = step.at if timer.pending is None else timer.pending
            if step.at - since < step.for_s:
                return None
            timer.last_true = step.at  # the last time it was firing, for keep_firing_for
            held_for = step.at - since
        elif step.keep_firing_s and timer.last_true is not None and step.at - timer.last_true <= step.keep_firing_s:
            held_for = 0.0  # still firing for keep_firing_for; its `for` timer is kept
        else:
            timer.pending = None
            return None
        previous = timer.last_fired if step.interval_s else None
        suppressed = previous is not None and step.at - previous < step.interval_s
        if step.interval_s and not suppressed:
            timer.last_fired = step.at
        return Outcome(held_for, suppressed)
