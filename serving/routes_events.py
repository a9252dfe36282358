"""The closed loop's routes: recorded events (``GET /v1/events``, ``GET /v1/events/{id}``), the outcomes the
dispatch system reports (``POST /v1/events/{id}/outcomes``, its own role) and 综合评判 (``GET /v1/evaluation``)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from citymind.errors import EventStoreUnavailable, ValidationError
from events.outcomes import report_outcome
from events.records import EventFilter, EventRecords, Outcome
from events.records.lifecycle import STATUSES
from serving.replica import Replica

EventId = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")]
Name = Annotated[str | None, Query(max_length=100)]


class OutcomeReport(BaseModel):
    """One outcome of a recorded event, as the dispatch system reports it."""

    outcome_id: str = Field(min_length=1, max_length=64, description="the caller's id: a retry is applied once")
    type: Literal["accepted", "returned", "reassigned", "category_corrected", "resolved", "closed", "reopened"]
    at: str | None = Field(default=None, max_length=40, description="ISO 8601, when it happened; default now")
    department: str | None = Field(default=None, max_length=100, description="reassigned: the new department")
    category: str | None = Field(default=None, max_length=100, description="category_corrected: the right one")
    reason: str | None = Field(default=None, max_length=2000, description="returned: why (退单理由)")
    reply: str | None = Field(default=None, max_length=5000, description="resolved: the reply to the citizen")
    satisfaction: Literal["满意", "基本满意", "不满意"] | None = Field(default=None, description="closed: 满意度")


def events_router(replica: Replica) -> APIRouter:
    router = APIRouter(tags=["Event records"])

    def records() -> EventRecords:
        if replica.records is None:
            raise EventStoreUnavailable("this gateway records no events (CITYMIND_EVENTS_URL=off)")
        return replica.records

    @router.get("/v1/events")
    def list_events(
        status: Annotated[Literal[STATUSES] | None, Query()] = None,  # type: ignore[valid-type]
        department: Name = None,
        area: Name = None,
        category: Name = None,
        kind: Annotated[Literal["report", "warning", "video"] | None, Query()] = None,
        overdue: bool | None = None,
        since: Annotated[str | None, Query(max_length=40, description="ISO 8601")] = None,
        until: Annotated[str | None, Query(max_length=40, description="ISO 8601")] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
    ) -> dict[str, Any]:
        """Recorded events, newest first, filtered; ``next`` is the cursor of the page after (None: the last)."""
        where = EventFilter(status, department, area, category, kind, overdue, epoch(since), epoch(until))
        return records().page(where, limit, cursor)

    @router.get("/v1/events/{event_id}")
    def get_event(event_id: EventId) -> dict[str, Any]:
        """The record of one event (masked text, decision, the versions that decided it) and its timeline."""
        return records().get(event_id)

    @router.post("/v1/events/{event_id}/outcomes", responses={409: {"description": "not allowed in its status"}})
    def add_outcome(event_id: EventId, body: OutcomeReport, request: Request) -> dict[str, Any]:
        """Report an outcome (append-only). The same ``outcome_id`` again is applied once (``applied`` false)."""
        outcome: Outcome = {**body.model_dump(exclude_none=True), "at": epoch(body.at) or time.time()}  # type: ignore[typeddict-item]
        by = getattr(request.state, "api_key", None)
        event, applied = report_outcome(records(), replica.engine.knowledge.current(), event_id, outcome, by)
        return {"applied": applied, "event": event}

    return router


def epoch(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        raise ValidationError(f"time must be ISO 8601, e.g. '2026-11-26T09:30:00'; got {value!r}") from None
