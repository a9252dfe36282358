"""``POST /v1/models/refresh``: re-read the serving aliases of a replica's models now."""

from __future__ import annotations

from fastapi import APIRouter

from citymind.api import RefreshAnswer
from serving.model_hub import Change, ModelHub
from serving.openapi import errors


def models_router(hub: ModelHub) -> APIRouter:
    router = APIRouter(tags=["Registry"])

    @router.post("/v1/models/refresh", response_model=RefreshAnswer, responses=errors(503))
    def refresh_models() -> dict[str, dict[str, Change] | dict[str, str]]:
        """Re-read the serving aliases now instead of waiting for the watcher."""
        return {"changes": hub.refresh(), "errors": hub.errors}

    return router
