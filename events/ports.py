"""The event engine's seams: what it needs of the model hub and of the event state, as Protocols, so the
engine is typed against them and the gateway (``serving``) supplies the implementations.

| Protocol        | implemented by                                                                  |
|-----------------|---------------------------------------------------------------------------------|
| ``ModelSource`` | ``serving.model_hub.ModelHub`` (defined in ``models.served``, which pipelines use too) |
| ``EventStore``  | ``events.state.EventState`` (a replica's own, or the actor's), ``SharedEventState`` |
"""

from __future__ import annotations

from typing import Protocol

from events.recent import RecentEntry, Seen
from models.served import ModelSource
from rules.timers import Move, Outcome, Step

__all__ = ["EventStore", "HourMove", "ModelSource", "SeriesHour"]

#: an indicator series (indicator, area) and the newest hour of a reading, epoch seconds
SeriesHour = tuple[tuple[str, str | None], float]
#: a series' evaluated hour to set back: the series, the hour before, the hour ``evaluated`` left
HourMove = tuple[tuple[str, str | None], float | None, float]


class EventStore(Protocol):
    """Recent reports (duplicates, repeat callers), rule timers and the hours each indicator series was
    evaluated up to: one store per replica, or one the replicas share."""

    def add_many(self, entries: list[RecentEntry]) -> list[Seen]: ...

    def discard(self, event_ids: list[str]) -> None: ...

    def advance(self, steps: list[Step]) -> list[Outcome | None]: ...

    def advance_undoably(self, steps: list[Step]) -> tuple[list[Outcome | None], list[Move]]: ...

    def take_back(self, moves: list[Move]) -> int: ...

    def evaluated(self, series: list[SeriesHour]) -> list[float | None]: ...

    def take_back_hours(self, moves: list[HourMove]) -> int: ...

    def status(self) -> dict[str, object]: ...

    def close(self) -> None: ...
