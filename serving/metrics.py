"""Prometheus metrics of a gateway replica, at ``GET /metrics``: requests and latency per route, the model version
each model serves, predictions per model version and canary arm, rule firings per rule.

Ray's own processes export theirs (replica health, queue lengths, Serve's batch metrics) through Ray's metrics
agent; these are the ones only citymind knows."""

from __future__ import annotations

import time
import weakref
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

METRICS = CollectorRegistry(auto_describe=True)
REQUESTS = Counter("citymind_requests", "HTTP requests by route and status", ["route", "status"], registry=METRICS)
LATENCY = Histogram(
    "citymind_request_seconds",
    "Request latency by route",
    ["route"],
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    registry=METRICS,
)
PREDICTIONS = Counter(
    "citymind_predictions", "Predictions by model, version and arm", ["model", "version", "arm"], registry=METRICS
)
SHADOW = Counter(
    "citymind_shadow",
    "Shadow answers of a challenger: agree, disagree, dropped",
    ["model", "version", "outcome"],
    registry=METRICS,
)
RULE_FIRINGS = Counter(
    "citymind_rule_firings", "Rule firings by rule set version and rule", ["ruleset", "rule"], registry=METRICS
)
BATCH_SIZE = Histogram(
    "citymind_batch_size", "Records per call", ["route"], buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256), registry=METRICS
)


class _ServedVersions:
    """Collector: the version each live model hub serves, read at scrape time (nothing on the request path)."""

    def collect(self) -> Any:
        family = GaugeMetricFamily("citymind_model_version_served", "Model version served by alias", labels=["model"])
        for hub in list(_HUBS):
            for name, model in hub.served().items():
                family.add_metric([name], float(model.version))
        yield family


_HUBS: weakref.WeakSet[Any] = weakref.WeakSet()
METRICS.register(_ServedVersions())


def watch_hub(hub: Any) -> None:
    _HUBS.add(hub)


class RequestMetrics:
    """ASGI middleware: count and time every request by its route template (``/v1/components/{name}``), so the
    label set stays small whatever paths clients send."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = [500]

        async def capture(message: dict[str, Any]) -> None:
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


def exposition() -> tuple[bytes, str]:
    return generate_latest(METRICS), CONTENT_TYPE_LATEST
