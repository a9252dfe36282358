"""The gateway's FastAPI application: OIP v2 and task endpoints over one ``ModelHub`` (no Ray here, so the
same app runs inside a Ray Serve ingress replica or a plain uvicorn for the latency floor)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI, Response

import citymind
from citymind.access import KeyStore, QuotaBook, key_store, quotas
from events.ports import EventStore
from events.records import EventRecords
from events.triage import TriageConfig
from events.video import VideoConfig
from serving.auth import ApiKeys
from serving.errors import JSONAnswer, install_error_handlers
from serving.head import HeadAsGet
from serving.limits import BodySizeLimit
from serving.metrics import RequestMetrics, exposition
from serving.model_hub import ModelHub
from serving.openapi import publish
from serving.replica import Replica
from serving.routes_catalogue import catalogue_router
from serving.routes_classify import ModelRunnerHandle, classify_router
from serving.routes_components import components_router
from serving.routes_console import console_router
from serving.routes_docs import docs_router
from serving.routes_evaluation import evaluation_router
from serving.routes_events import events_router
from serving.routes_forecast import forecast_router
from serving.routes_health import health_router
from serving.routes_indicators import indicators_router
from serving.routes_knowledge import knowledge_router
from serving.routes_models import models_router
from serving.routes_oip import oip_router
from serving.routes_open311 import open311_router
from serving.routes_registry import registry_router
from serving.routes_rules import rules_router
from serving.routes_selfwatch import selfwatch_router
from serving.routes_triage import triage_router
from serving.video_deployment import VideoShards


def create_app(
    hub: ModelHub,
    runner: ModelRunnerHandle | None = None,
    *,
    keys: KeyStore | None = None,
    auth: str = "auto",
    host: str = "127.0.0.1",
    video: VideoShards | None = None,
    video_config: VideoConfig | None = None,
    state: EventStore | None = None,
    triage: TriageConfig | None = None,
    quota_overrides: str = "",
    records: EventRecords | None = None,
    overdue_interval_s: float | None = 30.0,
    selfwatch_interval_s: float | None = 3600.0,
    console: bool = True,
) -> FastAPI:
    """``runner`` is a Ray deployment handle for models that are not latency-critical (None: all in process);
    ``keys`` the API key store (None: the one the settings name); ``video`` the video deployment's handle (or
    handles, one per shard); ``state`` the event engine's recent reports and rule timers (an ``EventState`` that
    persists, or a ``SharedEventState`` of the ``event-state`` actor; None: the engine keeps its own, in memory);
    ``triage`` the model, knowledge and rules the event engine follows; ``quota_overrides`` per-role request quotas
    over ``citymind.access.QUOTAS`` (JSON); ``records`` where every answered event is recorded and outcomes
    apply (None: nothing is recorded); ``overdue_interval_s`` how often overdue records are escalated (None:
    never, by this replica); ``selfwatch_interval_s`` how often demand and drift go through the alert rules
    (``events.selfwatch``; None: never by itself, on request only); ``console`` whether ``/console`` is served.
    The app's ``state.replica`` is the :class:`Replica` every router shares."""
    replica = Replica(hub, state=state, triage=triage, records=records)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if overdue_interval_s:
            replica.watch_overdue(overdue_interval_s)
        if selfwatch_interval_s:
            replica.watch_self(selfwatch_interval_s)
        yield
        replica.close()  # the followers the endpoints started stop with the app; a persisted state is written

    app = FastAPI(
        lifespan=lifespan,
        default_response_class=JSONAnswer,
        title="citymind gateway",
        generate_unique_id_function=lambda route: route.name,  # operationIds a generated client names methods by
        docs_url=None,  # served by routes_docs from the installed package's files, not a CDN
        redoc_url=None,
        version=citymind.__version__,
        description="Inference gateway of the city brain: Open Inference Protocol (KServe v2) and the "
        "event engine's task endpoints.",
    )
    app.state.replica = replica
    app.add_middleware(BodySizeLimit)
    store = keys if keys is not None else key_store()
    store.check()  # a keys file that cannot be read stops the gateway here, with what to do
    app.add_middleware(
        ApiKeys, keys=store, mode=auth, host=host, quotas=QuotaBook(quotas(quota_overrides)), routes=app.router.routes
    )
    app.add_middleware(RequestMetrics)  # refused requests are counted too
    app.add_middleware(HeadAsGet)  # outermost: every layer inside sees the GET a HEAD stands for
    install_error_handlers(app)
    app.include_router(oip_router(replica))
    app.include_router(classify_router(replica, runner))
    app.include_router(models_router(hub))
    app.include_router(components_router(replica))
    app.include_router(forecast_router(replica))
    schemas: dict[str, object] = {}
    if video is not None:
        from serving.routes_video import SCHEMAS, video_router  # OpenCV: imported only by a gateway with video

        app.include_router(video_router(video, video_config, replica))
        schemas.update(SCHEMAS)
    app.include_router(triage_router(replica))
    app.include_router(events_router(replica))
    app.include_router(evaluation_router(replica))
    app.include_router(open311_router(replica))
    app.include_router(health_router(replica))
    app.include_router(catalogue_router(hub))
    app.include_router(indicators_router(replica))
    app.include_router(selfwatch_router(replica))
    app.include_router(rules_router(replica))
    app.include_router(registry_router(replica))
    app.include_router(knowledge_router(replica))
    if console:
        app.include_router(console_router(replica))

    @app.get("/metrics", tags=["Health"], include_in_schema=False)
    def metrics() -> Response:
        """Prometheus text exposition of this replica's metrics."""
        body, content_type = exposition(replica.metrics)
        return Response(body, media_type=content_type)

    app.include_router(docs_router(app))
    publish(app, schemas)
    return app
