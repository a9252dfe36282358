"""What is deployed, for other platform services: the registry's five libraries (read only) and the city's
event categories as an Open311 GeoReport v2 service list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from citymind.api import Open311Service, RegistryAsset, RegistryList
from knowledge_graph.graph import CityKnowledge
from registry import AssetNotFound, AssetRegistry, AssetVersion, Kind, UnknownKind
from registry.follow import AliasFollower
from serving.model_hub import ModelHub
from serving.openapi import errors
from serving.requests import NAME_PATTERN


def catalogue_router(hub: ModelHub, *, knowledge: str = "pingdu-knowledge@production") -> APIRouter:
    router = APIRouter()
    name, _, alias = knowledge.partition("@")
    graph = AliasFollower(hub.registry, name, alias or "production", _graph_of, refresh_interval=30.0)

    @router.get("/v1/registry/{kind}", tags=["Registry"], response_model=RegistryList, responses=errors(503))
    def registry_assets(kind: Kind) -> dict[str, object]:
        """Assets of one library (model, algorithm, rule, knowledge, component) with their aliases."""
        checked = _kind(kind.value)
        return {"kind": checked, "assets": [a.to_dict() for a in hub.registry.list(checked)]}

    @router.get(
        "/v1/registry/{kind}/{name}", tags=["Registry"], response_model=RegistryAsset, responses=errors(404, 503)
    )
    def registry_asset(
        kind: Kind, name: Annotated[str, Path(max_length=100, pattern=NAME_PATTERN)]
    ) -> dict[str, object]:
        """Every version of one asset with its aliases, tags and lineage (what it came from)."""
        asset = hub.registry.get(name, _kind(kind.value))
        return {**asset.to_dict(), "versions": [v.to_dict() for v in hub.registry.versions(name)]}

    @router.get(
        "/open311/v2/services.json",
        name="open311_services",
        tags=["Open311"],
        response_model=list[Open311Service],
        responses=errors(404),
    )
    def services() -> list[dict[str, object]]:
        """GeoReport v2 service list: one service per leaf event category, grouped by its top category."""
        return open311_services(graph.current())

    return router


def _kind(kind: str) -> str:
    values = [k.value for k in Kind]
    if kind not in values:
        raise UnknownKind(f"kind must be one of {values}. Got {kind!r} instead.", kind=kind)
    return kind


def _graph_of(registry: AssetRegistry, target: AssetVersion) -> CityKnowledge:
    from knowledge_graph.snapshot import KnowledgeSnapshot

    return KnowledgeSnapshot.from_registry(registry, f"{target.name}/{target.version}").graph


def open311_services(knowledge: CityKnowledge) -> list[dict[str, object]]:
    """GeoReport v2 fields: service_code, service_name, description, metadata, type, keywords, group."""
    graph = knowledge.graph
    out = []
    for node in sorted(knowledge.leaf_categories(), key=lambda n: str(graph.nodes[n].get("notation", n))):
        data = graph.nodes[node]
        chain = knowledge.ancestors(node, "broader")
        top = knowledge.label(chain[-1]) if len(chain) > 1 else data["label"]
        try:
            lead = knowledge.dispatch(node).lead  # by id: labels such as 其他 repeat across branches
        except Exception:  # a category without a lead is still a service people can report
            lead = None
        described = f"{top} › {data['label']}" + (f"（主办：{lead}）" if lead else "")
        out.append(
            {
                "service_code": str(data.get("notation") or node),
                "service_name": data["label"],
                "description": described,
                "metadata": False,
                "type": "realtime",
                "keywords": ",".join(data.get("alt", [])),
                "group": top,
            }
        )
    if not out:
        raise AssetNotFound("the knowledge graph has no event categories to publish")
    return out
