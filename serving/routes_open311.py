"""Open311 GeoReport v2 on the event records: a civic app files a request (``POST /open311/v2/requests.json``: it
is triaged and recorded like any report) and reads its status (``GET /open311/v2/requests/{id}.json``) as the
dispatch system's outcomes move it. The service list (``services.json``) is in ``routes_catalogue``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form
from pydantic import WithJsonSchema

from citymind.api import Open311Receipt, Open311Request
from citymind.errors import EventStoreUnavailable
from events.records.lifecycle import DONE
from serving.limits import MAX_TEXT_CHARS
from serving.openapi import errors
from serving.replica import Replica
from serving.requests import WORDS_PATTERN
from serving.routes_events import EventId


def _degrees(limit: int) -> dict[str, Any]:
    """A coordinate's schema: a number, left out when unknown (a form has no null)."""
    return {"type": "number", "minimum": -limit, "maximum": limit}


def open311_router(replica: Replica) -> APIRouter:
    router = APIRouter(tags=["Open311"])

    @router.post("/open311/v2/requests.json", response_model=list[Open311Receipt], responses=errors(503))
    def open311_create(
        description: Annotated[
            str, Form(min_length=1, max_length=MAX_TEXT_CHARS, pattern=WORDS_PATTERN, description="the citizen's words")
        ],
        service_code: Annotated[str | None, Form(max_length=50)] = None,
        address_string: Annotated[str | None, Form(max_length=200)] = None,
        lat: Annotated[float | None, Form(ge=-90, le=90), WithJsonSchema(_degrees(90))] = None,
        long: Annotated[float | None, Form(ge=-180, le=180), WithJsonSchema(_degrees(180))] = None,
        device_id: Annotated[str | None, Form(max_length=100)] = None,
        account_id: Annotated[str | None, Form(max_length=100)] = None,
        email: Annotated[str | None, Form(max_length=200)] = None,
        phone: Annotated[str | None, Form(max_length=40)] = None,
    ) -> list[dict[str, Any]]:
        """GeoReport v2 "POST Service Request" (form-encoded): triaged, recorded, answered with its id. Contact
        details are used only as the reporter's id, which the store keeps as a keyed hash."""
        if replica.records is None:
            raise EventStoreUnavailable("this gateway records no events (CITYMIND_EVENTS_URL=off)")
        text = f"{address_string} {description}" if address_string else description  # the area is found in it
        reporter = account_id or device_id or email or phone
        report: dict[str, Any] = {"text": text, "channel": "open311"}
        if reporter:
            report["reporter"] = {"id": reporter}
        [answer] = replica.engine.triage_batch([report])  # type: ignore[list-item]
        lead = answer["department"].get("lead")
        notice = f"已受理，分拨至{lead}" if lead else "已受理，转人工分拨"
        return [{"service_request_id": answer["event_id"], "service_notice": notice, "account_id": account_id}]

    @router.get(
        "/open311/v2/requests/{request_id}.json", response_model=list[Open311Request], responses=errors(404, 503)
    )
    def open311_request(request_id: EventId) -> list[dict[str, Any]]:
        """GeoReport v2 "GET Service Request": status ``open`` until resolved, then ``closed``; ``status_notes``
        is the latest reply or reason on its timeline."""
        if replica.records is None:
            raise EventStoreUnavailable("this gateway records no events (CITYMIND_EVENTS_URL=off)")
        return [georeport(replica.records.get(request_id))]

    return router


def georeport(event: dict[str, Any]) -> dict[str, Any]:
    """A recorded event in GeoReport v2 "service request" fields."""
    timeline = event.get("timeline", [])
    notes = next(
        (t.get("reply") or t.get("reason") for t in reversed(timeline) if t.get("reply") or t.get("reason")), None
    )
    return {
        "service_request_id": event["id"],
        "status": "closed" if event["status"] in DONE else "open",
        "status_notes": notes,
        "service_name": event["category_final"],
        "service_code": None,
        "description": event["text"],
        "agency_responsible": event["department"],
        "service_notice": event["status"],
        "requested_datetime": event["at"],
        "updated_datetime": timeline[-1]["at"] if timeline else event["recorded_at"],
        "expected_datetime": event["due_at"],
        "address": event["area"],
    }
