"""The registry beyond reading an asset: its versions a page at a time, moving an alias (promote, roll back) with
the role that may, and the lineage of what is served drawn as one graph."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi import Path as PathParam
from pydantic import ConfigDict, Field

from citymind.api import Lineage, RegistryVersion, VersionPage
from registry import AssetRegistry, AssetVersion, Kind
from serving.openapi import errors
from serving.replica import Replica
from serving.requests import MAX_VERSION, NAME_PATTERN, RequestBody

Name = Annotated[str, PathParam(max_length=100, pattern=NAME_PATTERN)]
AliasName = Annotated[str, PathParam(max_length=40, pattern=NAME_PATTERN)]
#: how far up the lineage of a served version is followed
MAX_DEPTH = 4
#: how long one walk of the registry answers /v1/lineage (the walk is ~90 queries for 18 assets: ~1 s on one core)
LINEAGE_TTL_S = 5.0


class AliasMove(RequestBody):
    """Where an alias points from now on."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"version": 1}]})

    version: int = Field(ge=1, le=MAX_VERSION, description="the version the alias points at from now on")


def registry_router(replica: Replica) -> APIRouter:
    router = APIRouter(tags=["Registry"])
    registry = replica.hub.registry

    @router.get(
        "/v1/registry/{kind}/{name}/versions",
        name="registry_versions",
        response_model=VersionPage,
        responses=errors(404, 503),
    )
    def versions(
        kind: Kind,
        name: Name,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        before: Annotated[int | None, Query(ge=1, le=MAX_VERSION, description="the 'next' of the page before")] = None,
    ) -> dict[str, object]:
        """An asset's versions, newest first, ``limit`` at a time; ``next`` is the ``before`` of the page after
        (None: the last page)."""
        asset = registry.get(name, kind.value)
        page = registry.versions_page(name, limit + 1, before)
        more = len(page) > limit
        return {
            "name": name,
            "kind": kind.value,
            "latest": asset.latest_version,
            "versions": [v.to_dict() for v in page[:limit]],
            "aliases": dict(asset.aliases),
            "next": page[limit - 1].version if more else None,
        }

    @router.post(
        "/v1/registry/{kind}/{name}/aliases/{alias}",
        name="move_alias",
        response_model=RegistryVersion,
        responses=errors(400, 403, 404, 503),
    )
    def move_alias(kind: Kind, name: Name, alias: AliasName, body: Annotated[AliasMove, Body()]) -> dict[str, object]:
        """Point ``alias`` at a version (promote, or roll back to any earlier one). Services that follow the
        alias serve it within their refresh interval. The key's role must be allowed to register this kind."""
        registry.get(name, kind.value)  # a 404 naming the kind when the asset is another kind's
        return registry.set_alias(name, alias, body.version).to_dict()

    @router.post(
        "/v1/registry/{kind}/{name}/aliases/{alias}/rollback",
        name="roll_back_alias",
        response_model=RegistryVersion,
        responses=errors(400, 403, 404, 503),
    )
    def roll_back(kind: Kind, name: Name, alias: AliasName) -> dict[str, object]:
        """Move ``alias`` back to the version it pointed at before its last move."""
        registry.get(name, kind.value)
        return registry.rollback(name, alias).to_dict()

    graph = Recent(lambda: lineage_graph(registry, served_by={"event engine": replica.triage_refs()}), LINEAGE_TTL_S)

    @router.get("/v1/lineage", name="lineage", response_model=Lineage, responses=errors(503))
    def lineage() -> dict[str, object]:
        """Every aliased version of the five libraries and what it came from (datasets, runs, algorithms, other
        assets), with the event engine that uses the served model, rules and knowledge together; as the registry
        was at most a few seconds ago (``LINEAGE_TTL_S``)."""
        return graph.get()

    return router


class Recent:
    """``compute()``'s value, reused for ``ttl`` seconds and computed by one caller at a time: a flood of requests
    costs one computation per interval, the others wait for it instead of piling onto the store."""

    def __init__(self, compute: Callable[[], dict[str, object]], ttl: float) -> None:
        self.compute, self.ttl = compute, ttl
        self._lock = threading.Lock()
        self._value: dict[str, object] | None = None
        self._at = float("-inf")

    def get(self) -> dict[str, object]:
        with self._lock:
            if self._value is None or time.monotonic() - self._at > self.ttl:
                self._value, self._at = self.compute(), time.monotonic()
            return self._value


def lineage_graph(registry: AssetRegistry, served_by: dict[str, list[str]]) -> dict[str, object]:
    """Nodes and edges: aliased versions, their lineage followed up to :data:`MAX_DEPTH`, and one node per service
    with an edge from each asset it serves (``served_by``: service → ``name@alias`` refs)."""
    nodes: dict[str, dict[str, Any]] = {}
    edges: list[dict[str, str]] = []
    todo: list[tuple[AssetVersion, int]] = []
    visited: set[str] = set()
    for asset in registry.list():  # every kind in one search
        for number in sorted(set(dict(asset.aliases).values())):
            todo.append((registry.version(asset.name, number), 0))
    while todo:
        version, depth = todo.pop()
        key = _add(nodes, version.kind.value, version.name, version.version, list(version.aliases))
        if key in visited or depth >= MAX_DEPTH:
            continue
        visited.add(key)
        for ref in version.lineage:
            source = _add(nodes, ref.kind, ref.name, _int(ref.version), [])
            edges.append({"source": source, "target": key, "type": _edge_type(ref.kind)})
            if ref.kind in {k.value for k in Kind} and ref.version and source not in visited:
                todo.append((registry.version(ref.name, ref.version), depth + 1))
    for service, refs in served_by.items():
        target = _add(nodes, "service", service, None, [])
        for label in refs:
            served = registry.resolve(label)
            source = _add(nodes, served.kind.value, served.name, served.version, list(served.aliases))
            edges.append({"source": source, "target": target, "type": "served_by"})
    unique = {(e["source"], e["target"], e["type"]): e for e in edges}
    return {"nodes": sorted(nodes.values(), key=lambda n: n["id"]), "edges": list(unique.values())}


def _add(nodes: dict[str, dict[str, Any]], kind: str, name: str, version: int | None, aliases: list[str]) -> str:
    key = f"{kind}:{name}" + (f"/{version}" if version is not None else "")
    node = nodes.setdefault(key, {"id": key, "kind": kind, "name": name, "version": version, "aliases": []})
    node["aliases"] = sorted(set(node["aliases"]) | set(aliases))
    return key


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _edge_type(kind: str) -> str:
    return {"dataset": "trained_on", "run": "made_by", "algorithm": "fitted_with"}.get(kind, "derived_from")
