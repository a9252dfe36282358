"""``POST /v1/models/refresh``: re-read the serving aliases of a replica's models now."""

from __future__ import annotations

from fastapi import APIRouter

from serving.model_hub import Change, ModelHub


def models_router(hub: ModelHub) -> APIRouter:
    router = APIRouter(tags=["Registry"])

    @router.post("/v1/models/refresh")
    def refresh() -> dict[str, dict[str, Change] | dict[str, str]]:
        """Re-read the serving aliases now instead of waiting for the watcher."""
        return {"changes": hub.refresh(), "errors": hub.errors}

    return router
