"""The gateway's FastAPI application: OIP v2 and task endpoints over one ``ModelHub`` (no Ray here, so the
same app runs inside a Ray Serve ingress replica or a plain uvicorn for the latency floor)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

import citymind
from serving.errors import install_error_handlers
from serving.limits import limit_body_size
from serving.model_hub import ModelHub
from serving.routes_events import events_router
from serving.routes_oip import oip_router


def create_app(hub: ModelHub, runner: Any = None) -> FastAPI:
    """``runner`` is a Ray deployment handle for models that are not latency-critical (None: all in process)."""
    app = FastAPI(
        title="citymind gateway",
        version=citymind.__version__,
        description="Inference gateway of the city brain: Open Inference Protocol (KServe v2) and the "
        "event engine's task endpoints.",
    )
    app.middleware("http")(limit_body_size)
    install_error_handlers(app)
    app.include_router(oip_router(hub))
    app.include_router(events_router(hub, runner))
    return app
