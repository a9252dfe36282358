"""Event records (事件台账) and their outcomes: the closed loop's memory (docs/event_engine.md)."""

from events.records.lifecycle import ALLOWED, OUTCOMES, SATISFACTION, Outcome
from events.records.query import EventFilter
from events.records.store import EventRecords, new_event_id, report_event_id

__all__ = ["ALLOWED", "OUTCOMES", "SATISFACTION", "EventFilter", "EventRecords", "Outcome", "new_event_id",
           "report_event_id"]  # fmt: skip
