"""The web console at ``/console``: one page and its files from the installed package (nothing from a CDN), and the
two reads only it needs — who the key is, and an overview of what this replica serves. Everything else the page
shows comes from the public API with the key its user signs in with."""

from __future__ import annotations

import time
from importlib import resources
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from citymind.access import GRANTS
from citymind.api import Overview, WhoAmI
from citymind.errors import AssetNotFound
from events.metrics import METRICS
from serving.openapi import errors
from serving.replica import Replica
from serving.routes_health import health_answer

CONSOLE = resources.files("serving") / "console"
#: the console's own files, by name (a name not listed is a 404: no path is read from the request)
FILES = {
    "console.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
    "zh-CN.json": "application/json; charset=utf-8",
    "en.json": "application/json; charset=utf-8",
}
#: the page may load only its own files and talk only to its own gateway
POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
STARTED = time.time()


def console_router(replica: Replica) -> APIRouter:
    router = APIRouter()
    html = (CONSOLE / "index.html").read_text(encoding="utf-8")  # read once, with the app

    @router.get("/console", include_in_schema=False)
    def page() -> HTMLResponse:
        return HTMLResponse(html, headers=_headers())

    @router.get("/console/static/{name}", include_in_schema=False)
    def asset(name: str) -> Response:
        if name not in FILES:
            raise AssetNotFound(f"the console has no file {name!r}")
        path = CONSOLE / name
        return FileResponse(str(path), media_type=FILES[name], headers=_headers())

    @router.get("/v1/whoami", name="whoami", tags=["Console"], response_model=WhoAmI, responses=errors(401))
    def whoami(request: Request) -> dict[str, object]:
        """The key this request came with and what its role may do (a gateway that asks for no key: admin)."""
        state = request.scope.get("state") or {}
        role = str(state.get("api_role") or "admin")
        return {"key": state.get("api_key"), "role": role, "may": sorted(GRANTS.get(role, set())),
                "auth": bool(state.get("auth_enforced"))}  # fmt: skip

    @router.get("/v1/overview", name="overview", tags=["Console"], response_model=Overview, responses=errors(401))
    def overview(request: Request) -> dict[str, object]:
        """Every part's health and served version, the canary split and shadow agreement of each served model,
        and requests and latency per route since this replica started (its own metrics: with several replicas,
        Prometheus at ``/metrics`` adds them up)."""
        answer = health_answer(replica, request)
        served = replica.hub.served()
        splits = {name: _split(replica, name) for name in served}
        return {"health": answer, "uptime_s": round(time.time() - STARTED, 1), "splits": splits, **figures()}

    return router


def _headers() -> dict[str, str]:
    return {"Content-Security-Policy": POLICY, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}


def _split(replica: Replica, name: str) -> dict[str, object]:
    split = replica.canary.split(name)
    return {"weight": split.weight, "shadow": split.shadow, "challenger": split.challenger}


def figures() -> dict[str, list[dict[str, Any]]]:
    """Requests, errors and latency quantiles per route; predictions per arm; shadow agreement — from the
    process's metrics."""
    routes: dict[str, dict[str, Any]] = {}
    buckets: dict[str, list[tuple[float, float]]] = {}
    arms: list[dict[str, Any]] = []
    shadow: dict[tuple[str, str], dict[str, Any]] = {}
    for metric in METRICS.collect():
        for sample in metric.samples:
            labels = sample.labels
            if sample.name == "citymind_requests_total":
                row = routes.setdefault(labels["route"], {"route": labels["route"], "requests": 0, "errors": 0})
                row["requests"] += int(sample.value)
                row["errors"] += int(sample.value) if labels["status"] >= "400" else 0
            elif sample.name == "citymind_request_seconds_bucket":
                buckets.setdefault(labels["route"], []).append((float(labels["le"]), sample.value))
            elif sample.name == "citymind_predictions_total":
                arms.append({**labels, "predictions": int(sample.value)})
            elif sample.name == "citymind_shadow_total":
                key = (labels["model"], labels["version"])
                row = shadow.setdefault(key, {"model": key[0], "version": key[1], "agree": 0, "disagree": 0,
                                              "dropped": 0})  # fmt: skip
                row[labels["outcome"]] = int(sample.value)
    for route, row in routes.items():
        row["p50_ms"], row["p95_ms"] = (_quantile(buckets.get(route, []), q) for q in (0.5, 0.95))
    return {"routes": sorted(routes.values(), key=lambda r: -r["requests"]), "arms": arms,
            "shadow": list(shadow.values())}  # fmt: skip


def _quantile(cumulative: list[tuple[float, float]], q: float) -> float | None:
    """The upper bound (ms) of the histogram bucket that holds quantile ``q`` (Prometheus' resolution)."""
    ordered = sorted(cumulative)
    total = ordered[-1][1] if ordered else 0
    if not total:
        return None
    for bound, count in ordered:
        if count >= q * total:
            return None if bound == float("inf") else round(bound * 1000, 3)
    return None
