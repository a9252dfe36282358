"""The self-watch's routes (``events.selfwatch``): demand sensing now (``POST /v1/indicators/demand``), drift
through the alert rules now (``POST /v1/indicators/drift``) and the drift figures alone (``GET
/v1/evaluation/drift``). The gateway runs the first two every hour by itself; these run them on request."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from citymind.api import DemandAnswer, DriftAnswer
from citymind.errors import EventStoreUnavailable
from events.demand import MAX_DAYS, MAX_SERIES, DemandQuery, evaluate_demand
from events.drift import DriftFigures, DriftQuery, drift_figures, evaluate_drift
from events.records import EventRecords
from serving.openapi import errors
from serving.replica import Replica
from serving.requests import Moment
from serving.routes_events import epoch

Until = Annotated[Moment | None, Query(description="ISO 8601: the window's end (default now)")]
Name = Annotated[str | None, Query(min_length=1, max_length=100)]
Days = Annotated[int, Query(ge=1, le=MAX_DAYS, description="the recent window, in days")]
MinEvents = Annotated[int, Query(ge=1, le=1_000_000, description="fewer reports in the window: no figure")]


def selfwatch_router(replica: Replica) -> APIRouter:
    router = APIRouter(tags=["Self-watch"])

    def records() -> EventRecords:
        if replica.records is None:
            raise EventStoreUnavailable("this gateway records no events (CITYMIND_EVENTS_URL=off)")
        return replica.records

    @router.post("/v1/indicators/demand", response_model=DemandAnswer, responses=errors(422, 503))
    def demand(
        days: Annotated[int, Query(ge=2, le=MAX_DAYS, description="history, in days")] = 28,
        top: Annotated[int, Query(ge=1, le=MAX_SERIES, description="the busiest area × category pairs")] = 20,
        until: Until = None,
        area: Name = None,
        category: Name = None,
    ) -> object:
        """需求感知 now: recorded reports per hour for the busiest area × category pairs → a seasonal baseline →
        the alert rules (``report-hotspot``); the series' last hours, the day ahead and the warnings raised
        (recorded). Hours evaluated before, by a call or by the hourly watch, are not evaluated again."""
        query = DemandQuery(days, top, epoch(until), area, category)
        return evaluate_demand(replica.baseline_indicators, records(), query)

    @router.post("/v1/indicators/drift", response_model=DriftAnswer, responses=errors(422, 503))
    def drift_now(days: Days = 7, until: Until = None, min_events: MinEvents = 100) -> DriftFigures:
        """Drift now: the figures of ``GET /v1/evaluation/drift`` as the indicator ``model_drift`` through the
        alert rules (``model-drift``), with the warnings raised (recorded)."""
        figures = drift_figures(records(), replica.hub.registry, DriftQuery(days, epoch(until), min_events))
        figures["warnings"] = evaluate_drift(replica.baseline_indicators, figures)
        return figures

    @router.get("/v1/evaluation/drift", response_model=DriftAnswer, responses=errors(422, 503))
    def drift(days: Days = 7, until: Until = None, min_events: MinEvents = 100) -> DriftFigures:
        """Per model version that classified reports in the last ``days``: the population stability index of
        its category mix and of its confidence against its training data (under 0.1 stable, over 0.25 shifted)."""
        return drift_figures(records(), replica.hub.registry, DriftQuery(days, epoch(until), min_events))

    return router
