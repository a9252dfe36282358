"""``GET /v1/health``: every part the event engine needs, with the version it serves and its last error."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from serving.replica import Replica


def health_router(replica: Replica) -> APIRouter:
    router = APIRouter(tags=["Health"])
    hub = replica.hub

    @router.get("/v1/health", responses={503: {"description": "a part cannot serve"}})
    def health() -> JSONResponse:
        """The models, the rule set, the knowledge snapshot and the event state. 200 when all can serve, 503
        otherwise."""
        ready = True
        try:
            engine = replica.engine
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
