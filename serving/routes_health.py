"""``GET /v1/health``: every part the event engine needs, with the version it serves and its last error."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from citymind.api import Health
from serving.replica import Replica


def health_router(replica: Replica) -> APIRouter:
    router = APIRouter(tags=["Health"])

    @router.get(
        "/v1/health", response_model=Health, responses={503: {"model": Health, "description": "a part cannot serve"}}
    )
    def health(request: Request) -> JSONResponse:
        """The models, the rule set, the knowledge snapshot and the event state. 200 when all can serve, 503
        otherwise. It reads what is loaded (no rule runs on a made-up event). Errors, files and artifact paths are
        shown to a caller with a valid key (or when the gateway asks for none); others see versions only."""
        answer = health_answer(replica, request)
        return JSONResponse(answer, status_code=200 if answer["ready"] else 503)

    return router


def health_answer(replica: Replica, request: Request) -> dict[str, Any]:
    """``{"ready": …, "parts": …}`` as ``GET /v1/health`` answers it (redacted for a caller without a key)."""
    hub = replica.hub
    ready = True
    try:
        engine = replica.engine
        hub.get(engine.config.model)
        engine.knowledge.current()
        engine.rules.current()  # the rule set is loaded: its load state, not an evaluation
    except Exception as exc:  # reported, not raised: health must answer
        error, ready = f"{type(exc).__name__}: {exc}", False
    served = hub.served()
    parts: dict[str, Any] = {"models": {"served": {n: m.version for n, m in served.items()}, "errors": hub.errors}}
    if not ready:
        parts["error"] = error
    else:
        parts["rules"], parts["knowledge"] = engine.rules.status(), engine.knowledge.status()
        parts["event_state"] = engine.state.status()  # a shared state that does not answer is reported, not a 503
        parts["event_records"] = records_status(replica)
    if not trusted(request):
        parts = redacted(parts)
    return {"ready": ready, "parts": parts}


def trusted(request: Request) -> bool:
    """A caller whose key the gateway verified (``ApiKeys`` checks a key sent to an open path too), or any caller
    of a gateway that asks for no key."""
    state = request.scope.get("state") or {}
    return bool(state.get("api_key")) or not state.get("auth_enforced", False)


def redacted(parts: dict[str, Any]) -> dict[str, Any]:
    """Versions and counts only: no error text, file path or artifact location for an anonymous caller."""
    out: dict[str, Any] = {"models": {"served": parts["models"]["served"], "errors": sorted(parts["models"]["errors"])}}
    if "error" in parts:
        out["error"] = "a part cannot serve; send an API key to see which and why"
    for name in ("rules", "knowledge"):
        if name in parts:
            status = parts[name]
            out[name] = {k: status.get(k) for k in ("name", "alias", "version", "rules") if k in status}
            out[name]["last_error"] = None if status.get("last_error") is None else "(hidden: send an API key)"
    if "event_records" in parts:
        out["event_records"] = {k: v for k, v in parts["event_records"].items() if k in ("recording", "schema")}
    if "event_state" in parts:
        hidden = ("file", "own", "save_error")
        out["event_state"] = {k: v for k, v in parts["event_state"].items() if k not in hidden}
    return out


def records_status(replica: Replica) -> dict[str, object]:
    """Whether events are recorded, where (password hidden), the schema revision, the overdue sweep's and the
    self-watch's errors. A store that does not answer is reported here; triage answers 503 until it does."""
    if replica.records is None:
        return {"recording": False}
    try:
        status: dict[str, object] = {"recording": True, **replica.records.status()}
    except Exception as exc:
        status = {"recording": True, "error": f"{type(exc).__name__}: {exc}"}
    return {**status, "overdue_sweep_error": replica.overdue_error, "selfwatch_error": replica.selfwatch_error}
