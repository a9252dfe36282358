"""``POST /v1/events/triage``: the event engine's one call for a citizen report (or a batch of them)."""

from __future__ import annotations

from typing import cast

from fastapi import APIRouter
from pydantic import BaseModel, Field, model_validator

from events.triage import CitizenReport
from serving.limits import MAX_TEXT_CHARS, MAX_TEXTS
from serving.replica import Replica


class Reporter(BaseModel):
    id: str | None = Field(default=None, max_length=100, description="stable id of the caller (hashed upstream)")
    vulnerable: bool = Field(default=False, description="elderly, disabled or otherwise to be served first")


class Report(BaseModel):
    """A citizen report as the hotline, app or web channel receives it."""

    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    id: str | None = Field(default=None, max_length=64)
    area: str | None = Field(default=None, max_length=50, description="街道/镇 if known; else found in the text")
    time: str | None = Field(default=None, max_length=40, description="ISO 8601; default: now")
    channel: str | None = Field(default=None, max_length=30)
    reporter: Reporter | None = None

    @model_validator(mode="after")
    def text_has_content(self) -> Report:
        if not self.text.strip():
            raise ValueError("text is blank; send the citizen's words")
        return self


class TriageRequest(BaseModel):
    report: Report | None = None
    reports: list[Report] | None = Field(default=None, min_length=1, max_length=MAX_TEXTS)

    @model_validator(mode="after")
    def one_of_report_or_reports(self) -> TriageRequest:
        if (self.report is None) == (self.reports is None):
            raise ValueError("give exactly one of 'report' (an object) or 'reports' (a list)")
        return self


def triage_router(replica: Replica) -> APIRouter:
    router = APIRouter(tags=["Event engine"])

    @router.post("/v1/events/triage")
    def triage(body: TriageRequest) -> dict[str, object]:
        """Category, departments (graph), priority/SLA/escalation (rules), similar past cases and duplicates of a
        report, with the explanation of each part. Personal data is masked before anything is kept."""
        given = [body.report] if body.report else body.reports or []
        # a Report's fields, those set, are a CitizenReport's (the engine reads the same fields as plain data)
        reports = [cast("CitizenReport", r.model_dump(exclude_none=True)) for r in given]
        results = replica.engine.triage_batch(reports)
        return dict(results[0]) if body.report else {"results": results}

    return router
