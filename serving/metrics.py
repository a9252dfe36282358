"""Prometheus metrics of a gateway replica, at ``GET /metrics``: requests and latency per route, the model version
each model serves, and the event engine's own (``events.metrics``: predictions per model version and canary arm,
rule firings per rule).

Ray's own processes export theirs (replica health, queue lengths, Serve's batch metrics) through Ray's metrics
agent; these are the ones only citymind knows."""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from events.metrics import METRICS
from events.ports import ModelSource

REQUESTS = Counter("citymind_requests", "HTTP requests by route and status", ["route", "status"], registry=METRICS)
LATENCY = Histogram(
    "citymind_request_seconds",
    "Request latency by route",
    ["route"],
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    registry=METRICS,
)


class ServedVersions:
    """Collector: the version each model of a replica's hub serves, read at scrape time (nothing on the request
    path)."""

    def __init__(self, hub: ModelSource) -> None:
        self.hub = hub

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily("citymind_model_version_served", "Model version served by alias", labels=["model"])
        for name, model in self.hub.served().items():
            family.add_metric([name], float(model.version))
        yield family


def replica_metrics(hub: ModelSource) -> CollectorRegistry:
    """The metrics only this replica knows (what its hub serves), beside the process-wide ``METRICS``."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(ServedVersions(hub))
    return registry


class RequestMetrics:
    """ASGI middleware: count and time every request by its route template (``/v1/components/{name}``), so the
    label set stays small whatever paths clients send."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = [500]

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        start = time.perf_counter()
        try:
            await self.app(scope, receive, capture)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            REQUESTS.labels(route, str(status[0])).inc()
            LATENCY.labels(route).observe(time.perf_counter() - start)


def exposition(replica: CollectorRegistry) -> tuple[bytes, str]:
    return generate_latest(METRICS) + generate_latest(replica), CONTENT_TYPE_LATEST
