"""``POST /v1/events/triage``: the event engine's one call for a citizen report (or a batch of them)."""

from __future__ import annotations

import threading
import weakref
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, model_validator

from serving.limits import MAX_TEXT_CHARS, MAX_TEXTS
from serving.model_hub import ModelHub


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


_ENGINES: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
_STATE: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def shared_engine(hub: ModelHub) -> Any:
    """The one event engine of a replica (its rule timers, recent reports and followers are shared by triage,
    indicator warnings and video events), made on first use."""
    engine = _ENGINES.get(hub)
    if engine is None:
        with _LOCK:
            engine = _ENGINES.get(hub)
            if engine is None:
                from events.triage import EventEngine

                engine = _ENGINES[hub] = EventEngine(hub, state=_STATE.get(hub))
    return engine


def share_event_state(hub: ModelHub, state: Any) -> None:
    """The recent reports and rule timers the replica's engine will use (``SharedEventState``), set before it is
    made."""
    _STATE[hub] = state


def close_engine(hub: ModelHub) -> None:
    """Close the replica's event engine, if one was made (the gateway app does so when it shuts down)."""
    with _LOCK:
        engine = _ENGINES.pop(hub, None)
    if engine is not None:
        engine.close()


def triage_router(hub: ModelHub) -> APIRouter:
    router = APIRouter(tags=["Event engine"])

    @router.post("/v1/events/triage")
    def triage(body: TriageRequest) -> dict[str, Any]:
        """Category, departments (graph), priority/SLA/escalation (rules), similar past cases and duplicates of a
        report, with the explanation of each part. Personal data is masked before anything is kept."""
        reports = [r.model_dump(exclude_none=True) for r in ([body.report] if body.report else body.reports or [])]
        results = shared_engine(hub).triage_batch(reports)
        return results[0] if body.report else {"results": results}

    @router.get("/v1/health", tags=["Health"], responses={503: {"description": "a part cannot serve"}})
    def health() -> JSONResponse:
        """Every part the event engine needs, with the version it serves and its last error: the models, the
        rule set, the knowledge snapshot and the event state. 200 when all can serve, 503 otherwise."""
        ready = True
        try:
            engine = shared_engine(hub)
            hub.get(engine.config.model)
            engine.knowledge.current()
            engine.rules.evaluate("dispatch", {})
        except Exception as exc:  # reported, not raised: health must answer
            error, ready = f"{type(exc).__name__}: {exc}", False
        served = hub.served()
        parts: dict[str, Any] = {"models": {"served": {n: m.version for n, m in served.items()}, "errors": hub.errors}}
        if not ready:
            parts["error"] = error
        else:
            parts["rules"], parts["knowledge"] = engine.rules.status(), engine.knowledge.status()
            parts["event_state"] = engine.state.status()  # a shared state that does not answer is reported, not a 503
        return JSONResponse({"ready": ready, "parts": parts}, status_code=200 if ready else 503)

    return router
