"""Event stores the learning tests fill by hand: recorded reports and the outcomes the dispatch system reported."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from events.records import EventRecords

T0 = 1_767_225_600.0  # 2026-01-01


def report(event_id: str, at: float, text: str, category: str, **extra: Any) -> dict[str, object]:
    """A recorded report as triage writes it (P3, 24 h unless given)."""
    return {"id": event_id, "kind": "report", "at": at, "text": text, "category": category, "confidence": 0.9,
            "priority": "P3", "sla_s": 86_400, "due_at": at + 86_400, **extra}  # fmt: skip


def outcome(records: EventRecords, event_id: str, kind: str, at: float, **fields: str) -> None:
    records.add_outcome(event_id, {"outcome_id": f"{event_id}-{kind}-{at}", "type": kind, "at": at, **fields})  # type: ignore[typeddict-item]


def store(folder: Path) -> EventRecords:
    """An empty store in ``folder`` (``events.db``), the one ``CITYMIND_EVENTS_URL`` of :func:`cli_env` names."""
    return EventRecords(events_url(folder))


def events_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'events.db'}"


@contextlib.contextmanager
def store_down(records: EventRecords) -> Iterator[None]:
    """Within it, ``records`` refuses every record as an event store that is down (the gateway answers 503)."""
    from citymind.errors import EventStoreUnavailable

    def down(rows: object) -> None:
        raise EventStoreUnavailable("the event store is down")

    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(records, "record", down)
        yield
