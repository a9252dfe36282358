"""``POST /v1/events/triage``: the event engine's one call for a citizen report (or a batch of them)."""

from __future__ import annotations

from typing import cast

from fastapi import APIRouter
from pydantic import ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from citymind.api import TriageAnswer, TriageBatchAnswer
from events.triage import CitizenReport
from serving.openapi import errors
from serving.replica import Replica
from serving.requests import Batch, Moment, RequestBody, Words, check_one_of, one_of


class Reporter(RequestBody):
    id: str | None = Field(default=None, max_length=100, description="stable id of the caller (hashed upstream)")
    vulnerable: bool = Field(
        default=False, strict=True, description="elderly, disabled or otherwise to be served first"
    )


class Report(RequestBody):
    """A citizen report as the hotline, app or web channel receives it."""

    text: Words = Field(examples=["南村镇小区门口路灯坏了，晚上一片漆黑，电话13812345678"])
    id: str | None = Field(default=None, max_length=64, description="the channel's id: sent again, the same event")
    area: str | None = Field(default=None, max_length=50, description="街道/镇 if known; else found in the text")
    time: Moment | None = Field(default=None, description="ISO 8601, city local time unless it says; default: now")
    channel: str | None = Field(default=None, max_length=30, examples=["hotline"])
    reporter: Reporter | None = None


class TriageRequest(RequestBody):
    """One report (``report``) or a batch (``reports``)."""

    model_config = ConfigDict(
        json_schema_extra=one_of(
            "report",
            "reports",
            {"report": {"text": "南村镇小区门口路灯坏了，晚上一片漆黑，电话13812345678", "channel": "hotline"}},
            {"reports": [{"text": "凤台街道夜里工地施工噪音扰民", "time": "2026-11-30T23:10:00"}]},
        )
    )

    report: Report | SkipJsonSchema[None] = None
    reports: Batch[Report] | SkipJsonSchema[None] = None

    @model_validator(mode="after")
    def one_of_report_or_reports(self) -> TriageRequest:
        check_one_of(self, "report", "reports", "'report' (an object) or 'reports' (a list)")
        return self


def triage_router(replica: Replica) -> APIRouter:
    router = APIRouter(tags=["Event engine"])

    @router.post(
        "/v1/events/triage",
        response_model=TriageAnswer | TriageBatchAnswer,
        responses=errors(404, 422, 503),
    )
    def triage(body: TriageRequest) -> dict[str, object]:
        """Category, departments (graph), priority/SLA/escalation (rules), similar past cases and duplicates of a
        report, with the explanation of each part. Personal data is masked before anything is kept."""
        given = [body.report] if body.report else body.reports or []
        # a Report's fields, those set, are a CitizenReport's (the engine reads the same fields as plain data)
        reports = [cast("CitizenReport", r.model_dump(exclude_none=True)) for r in given]
        results = replica.engine.triage_batch(reports)
        return dict(results[0]) if body.report else {"results": results}

    return router
