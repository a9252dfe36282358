"""The closed loop's routes: recorded events (``GET /v1/events``, ``GET /v1/events/{id}``), the outcomes the
dispatch system reports (``POST /v1/events/{id}/outcomes``, its own role) and 综合评判 (``GET /v1/evaluation``)."""

from __future__ import annotations

import math
import time
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import ConfigDict, Field

from citymind.api import EventPage, EventRecord, OutcomeAnswer
from citymind.errors import EventStoreUnavailable, Unprocessable
from events.outcomes import report_outcome
from events.records import EventFilter, EventRecords, Outcome
from events.records.lifecycle import STATUSES
from events.records.query import CURSOR_PATTERN
from serving.openapi import errors
from serving.replica import Replica
from serving.requests import Moment, RequestBody

EventId = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")]
Name = Annotated[str | None, Query(max_length=100)]
#: a time in a query: ISO 8601 (a day, or a day and time; city local time unless it says)
Time = Annotated[Moment | None, Query(description="ISO 8601, e.g. 2026-11-30 or 2026-11-30T08:00:00")]


class OutcomeReport(RequestBody):
    """One outcome of a recorded event, as the dispatch system reports it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"outcome_id": "dispatch-20261130-0001", "type": "accepted"},
                {"outcome_id": "dispatch-20261130-0002", "type": "resolved", "reply": "路灯已修复"},
            ]
        }
    )

    outcome_id: str = Field(min_length=1, max_length=64, description="the caller's id: a retry is applied once")
    type: Literal["accepted", "returned", "reassigned", "category_corrected", "resolved", "closed", "reopened"]
    at: Moment | None = Field(default=None, description="ISO 8601, when it happened; default now")
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

    @router.get("/v1/events", name="events", response_model=EventPage, responses=errors(422, 503))
    def list_events(
        status: Annotated[Literal[STATUSES] | None, Query()] = None,  # type: ignore[valid-type]
        department: Name = None,
        area: Name = None,
        category: Name = None,
        kind: Annotated[Literal["report", "warning", "video"] | None, Query()] = None,
        overdue: bool | None = None,
        since: Time = None,
        until: Time = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: Annotated[
            str | None, Query(pattern=CURSOR_PATTERN, description="the 'next' of the page before")
        ] = None,
    ) -> dict[str, Any]:
        """Recorded events, newest first, filtered; ``next`` is the cursor of the page after (None: the last)."""
        where = EventFilter(status, department, area, category, kind, overdue, epoch(since), epoch(until))
        return records().page(where, limit, cursor)

    @router.get("/v1/events/{event_id}", name="event", response_model=EventRecord, responses=errors(404, 503))
    def get_event(event_id: EventId) -> dict[str, Any]:
        """The record of one event (masked text, decision, the versions that decided it) and its timeline."""
        return records().get(event_id)

    @router.post("/v1/events/{event_id}/outcomes", response_model=OutcomeAnswer, responses=errors(404, 409, 422, 503))
    def add_outcome(event_id: EventId, body: OutcomeReport, request: Request) -> dict[str, Any]:
        """Report an outcome (append-only). The same ``outcome_id`` again is applied once (``applied`` false)."""
        outcome: Outcome = {**body.model_dump(exclude_none=True), "at": epoch(body.at) or time.time()}  # type: ignore[typeddict-item]
        by = getattr(request.state, "api_key", None)
        event, applied = report_outcome(records(), replica.engine.knowledge.current(), event_id, outcome, by)
        return {"applied": applied, "event": event}

    return router


def epoch(value: datetime | None) -> float | None:
    """Epoch seconds of a time a request gave (naive: city local time); a time before 1970 or after 2200 is a 422."""
    if value is None:
        return None
    try:
        seconds = value.timestamp()
    except (OverflowError, OSError, ValueError):
        seconds = math.nan
    if not 0 <= seconds < 7_258_118_400:
        raise Unprocessable(f"time {value.isoformat()} is outside 1970–2200")
    return seconds
