"""The city knowledge graph the event engine serves: who leads and assists for a category in an area (and the path
that says so), a node's neighbourhood, a lookup by name, and a search of its documents and past cases — read from
the same snapshot triage uses."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from citymind.api import DispatchAnswer, KnowledgeSearch, Neighbourhood
from citymind.errors import AssetNotFound
from knowledge_graph.errors import UnknownConcept
from knowledge_graph.graph import CityKnowledge
from serving.openapi import errors
from serving.replica import Replica

Term = Annotated[str, Query(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f]+$")]
#: a drawn neighbourhood stays readable and its answer small
MAX_NODES = 150
#: a search text: a whole report may be pasted (triage reads 2,000 characters of one too)
Text = Annotated[str, Query(min_length=1, max_length=2000)]


def knowledge_router(replica: Replica) -> APIRouter:
    router = APIRouter(tags=["Knowledge"])

    def graph() -> CityKnowledge:
        return replica.engine.knowledge.current().graph

    @router.get("/v1/knowledge/dispatch", name="knowledge_dispatch", response_model=DispatchAnswer,
                responses=errors(400, 404, 422))  # fmt: skip
    def dispatch(category: Term, area: Annotated[str | None, Term] = None) -> dict[str, object]:
        """主办 and 协办 for ``category`` in ``area`` (a town, sub-district or community; none: city-wide): the most
        specific duty wins, and ``path`` lists each step of the catalogue that was tried. A category or area the
        graph does not know is a 404 that names the closest ones."""
        try:
            return dict(graph().dispatch(category, area).to_dict())
        except UnknownConcept as exc:
            raise AssetNotFound(str(exc)) from exc

    @router.get("/v1/knowledge/nodes", name="knowledge_lookup", response_model=list[dict[str, Any]],
                responses=errors(400))  # fmt: skip
    def lookup(q: Term, type: Annotated[str | None, Query(max_length=40, pattern=r"^[A-Za-z]+$")] = None) -> list:
        """Nodes whose label or alternative names match ``q`` (fuzzy), best first: id, label, type, score."""
        return [asdict(m) for m in graph().lookup(q, type, limit=20)]

    @router.get("/v1/knowledge/nodes/{node}", name="knowledge_neighbourhood", response_model=Neighbourhood,
                responses=errors(400, 404))  # fmt: skip
    def neighbourhood(
        node: Annotated[str, Path(min_length=1, max_length=100)], radius: Annotated[int, Query(ge=1, le=2)] = 1
    ) -> dict[str, object]:
        """A node (its id, or a label the graph resolves) and every node within ``radius`` edges of it."""
        return neighbourhood_of(graph(), node, radius)

    @router.get("/v1/knowledge/search", name="knowledge_search", response_model=KnowledgeSearch,
                responses=errors(400, 404))  # fmt: skip
    def search(
        q: Text, k: Annotated[int, Query(ge=1, le=50)] = 5, of: Literal["all", "cases"] = "all"
    ) -> dict[str, object]:
        """Knowledge documents and past cases whose message or reply is most like ``q`` (``of=all``), or past cases
        whose report is most like ``q``, each with its official reply (``of=cases``: triage's similar cases). A
        snapshot without a case index is a 404 that says how to build one."""
        follower = replica.engine.knowledge
        snapshot, served = follower.current(), f"{follower.name}/{follower.version}"
        if snapshot.cases is None:
            raise AssetNotFound(
                f"the knowledge snapshot in service ({served}) has no case index: build one with `citymind kg index "
                "--cases FILE --title-col COLUMN` (a new version of the snapshot, alias production)"
            )
        hits = snapshot.cases.similar_cases(q, k) if of == "cases" else snapshot.cases.search(q, k)
        return {"q": q, "of": of, "knowledge": served, "hits": [h.to_dict() for h in hits]}

    return router


def neighbourhood_of(knowledge: CityKnowledge, node: str, radius: int) -> dict[str, object]:
    g = knowledge.graph
    center = node if node in g else _named(knowledge, node)
    near = knowledge.subgraph(center, radius).graph
    kept = [center, *sorted(n for n in near.nodes if n != center)[: MAX_NODES - 1]]
    keep = set(kept)
    nodes = [{"id": n, "label": knowledge.label(n), "type": str(g.nodes[n].get("type", ""))} for n in kept]
    edges = [
        {"source": u, "target": v, "type": str(d.get("type", ""))}
        for u, v, d in near.edges(data=True)
        if u in keep and v in keep
    ]
    return {"center": center, "nodes": nodes, "edges": edges, "truncated": len(near) > len(kept)}


def _named(knowledge: CityKnowledge, text: str) -> str:
    """The node an exact label names (any type), else a 404 with the closest labels."""
    exact = knowledge.lookup(text, fuzzy=False)
    if exact:
        return exact[0].node
    close = ", ".join(m.label for m in knowledge.lookup(text))
    raise AssetNotFound(
        f"no node of the knowledge graph is named {text!r}." + (f" Did you mean {close}?" if close else "")
    )
