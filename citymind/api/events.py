"""Answers of the event engine: classification, triage, recorded events, outcomes and 综合评判."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from citymind.api.common import Answer, CategoryScore


class Classification(Answer):
    category: str = Field(examples=["市容环境"])
    confidence: float = Field(ge=0, le=1)
    top_k: list[CategoryScore]


class ClassifyAnswer(Classification):
    """One report's classification and the model version that made it."""

    model: str
    version: int


class ClassifyBatchAnswer(Answer):
    """A batch: one classification per text, in order."""

    model: str
    version: int
    results: list[Classification]


class Department(Answer):
    lead: str | None = Field(default=None, description="主办: the department that leads")
    assists: list[str] = Field(default_factory=list, description="协办: assisting departments")


class SimilarCase(Answer):
    id: str
    title: str
    reply: str
    score: float


class Duplicate(Answer):
    id: str = Field(description="the earlier report's id (the channel's, else the one triage gave it)")
    event_id: str = Field(description="the earlier report's record: GET /v1/events/{event_id}")
    similarity: float
    at: float = Field(description="when it came (epoch s)")


class TriageAnswer(Answer):
    """One report triaged: masked text, category, departments, the rules' decision, similar cases, 并单, and an
    explanation naming each library's version."""

    id: str = Field(description="the report's id (the channel's, else one given here)")
    event_id: str | None = Field(description="its record: GET /v1/events/{event_id} (null: nothing recorded)")
    text: str = Field(description="the text with personal data masked")
    pii: list[dict[str, Any]]
    category: str
    confidence: float
    top_k: list[CategoryScore]
    area: str | None
    department: Department
    priority: str = Field(examples=["P3"])
    sla: str = Field(examples=["24h"])
    escalate_after: str | None
    transfer: str | None = Field(description="110, 119, 120 … when the report belongs to an emergency line")
    queue: str | None = Field(description="a review queue the rules sent it to")
    similar_cases: list[SimilarCase]
    duplicates: list[Duplicate]
    explanation: dict[str, Any]


class TriageBatchAnswer(Answer):
    results: list[TriageAnswer]


class TimelineStep(Answer):
    type: str
    at: str
    status: str


class EventRecord(Answer):
    """A recorded event as decided and where it stands now (times ISO 8601, city local time)."""

    id: str
    kind: str = Field(examples=["report"])
    at: str
    status: str = Field(examples=["open"])
    area: str | None = None
    text: str | None = Field(default=None, description="masked")
    category: str | None = None
    category_final: str | None = Field(default=None, description="the category after corrections")
    department: str | None = None
    priority: str | None = None
    due_at: str | None = None
    timeline: list[TimelineStep] | None = Field(default=None, description="outcomes, oldest first (one event)")


class EventPage(Answer):
    events: list[EventRecord]
    next: str | None = Field(description="the cursor of the next page; null on the last")


class OutcomeAnswer(Answer):
    applied: bool = Field(description="false when this outcome_id was applied before (a retry)")
    event: EventRecord


class EvaluationGroup(Answer):
    group: str
    key: dict[str, str | None] = Field(description="the event columns the group is keyed by")
    volume: int
    first_time_right: float | None
    category_accuracy: float | None
    sla_compliance: float | None
    satisfaction: float | None
    reopen_rate: float | None
    median_accept_s: float | None
    median_resolve_s: float | None
    returned: int
    reassigned: int


class Evaluation(Answer):
    """综合评判 of a period (epoch s), per group and over all."""

    by: str
    since: float
    until: float
    kind: str | None
    groups: list[EvaluationGroup]
    overall: EvaluationGroup


class DemandAnswer(Answer):
    """需求感知: the busiest area × category series of recorded reports, each with its last hour against its
    seasonal baseline and the day ahead, and the warnings the alert rules raised."""

    indicator: str
    since: str
    until: str
    series: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    note: str | None = None


class DriftFigure(Answer):
    """One model version: its reports in the window, the population stability index of its category mix and of
    its confidence against its training data (None: see ``notes``)."""

    model: str
    version: str
    events: int
    category: float | None
    confidence: float | None
    notes: list[str]
    top_shifts: list[dict[str, Any]] | None = None


class DriftAnswer(Answer):
    since: str
    until: str
    days: int
    versions: list[DriftFigure]
    warnings: list[dict[str, Any]] | None = Field(default=None, description="when run through the alert rules")
