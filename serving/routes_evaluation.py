"""综合评判 over HTTP: ``GET /v1/evaluation`` — the outcomes of recorded events per department, area, category,
model version or rule-set version (events/evaluation.py says what each rate counts)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter

from citymind.api import Evaluation
from citymind.errors import EventStoreUnavailable
from events.evaluation import evaluate
from serving.openapi import errors
from serving.replica import Replica
from serving.routes_events import Time, epoch


def evaluation_router(replica: Replica) -> APIRouter:
    router = APIRouter(tags=["Event records"])

    @router.get("/v1/evaluation", response_model=Evaluation, responses=errors(422, 503))
    def evaluation(
        by: Literal["department", "area", "category", "model", "rules", "kind", "all"] = "department",
        since: Time = None,
        until: Time = None,
        kind: Literal["report", "warning", "video", "any"] = "report",
    ) -> dict[str, Any]:
        """Per group: volume, first-time-right dispatch, category accuracy, SLA compliance, median time to accept
        and to resolve, satisfaction, reopen rate (each rate with its numerator and denominator). The period is
        ``[since, until)``, by default the 30 days up to now; at most 3660 days."""
        if replica.records is None:
            raise EventStoreUnavailable("this gateway records no events (CITYMIND_EVENTS_URL=off)")
        return evaluate(
            replica.records, by=by, since=epoch(since), until=epoch(until), kind=None if kind == "any" else kind
        )

    return router
