"""``CityKnowledge``: the city knowledge graph (networkx) with schema validation, persistence and queries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import networkx as nx

from knowledge_graph.queries import KnowledgeQueries
from knowledge_graph.schema import LIST_ATTRIBUTES
from knowledge_graph.validation import KnowledgeError, check

#: Edge ends are "from"/"to" in node-link JSON: "source" is a dispatch edge's citation attribute.
_ENDS = {"source": "from", "target": "to"}


class CityKnowledge(KnowledgeQueries):
    """Nodes carry ``type`` and ``label`` (SKOS prefLabel) plus ``alt``/``hidden`` labels and a ``notation``;
    edges carry ``type`` and, for dispatch, ``source``, ``area``, ``valid_from``/``valid_to``.

    >>> kg = CityKnowledge()
    >>> kg.add_node("area:nancun", "Area", "南村镇")
    >>> kg.add_node("cat:lamp", "EventCategory", "路灯照明")
    >>> kg.add_node("dept:city", "Department", "市城市管理局")
    >>> kg.add_edge("dept:city", "cat:lamp", "leads", source="三定方案")
    >>> kg.dispatch("路灯照明", "南村镇").lead
    '市城市管理局'
    """

    def __init__(self, graph: nx.MultiDiGraph | None = None) -> None:
        self.graph = graph if graph is not None else nx.MultiDiGraph()
        self._index: dict[str, Any] | None = None

    def add_node(self, node_id: str, type: str, label: str, **attrs: Any) -> None:
        self.graph.add_node(node_id, type=type, label=label, **attrs)
        self._index = None

    def add_edge(self, u: str, v: str, type: str, **attrs: Any) -> None:
        """One edge per type, area and validity window: a dated catalogue entry never replaces another."""
        key = f"{type}:{attrs.get('area') or ''}"
        if attrs.get("valid_from") or attrs.get("valid_to"):
            key += f"@{attrs.get('valid_from') or ''}..{attrs.get('valid_to') or ''}"
        self.graph.add_edge(u, v, key=key, type=type, **attrs)
        self._index = None

    def validate(self) -> CityKnowledge:
        check(self.graph)
        return self

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CityKnowledge):
            return NotImplemented
        return self.to_node_link() == other.to_node_link()

    def __len__(self) -> int:
        return int(self.graph.number_of_nodes())

    # -- persistence ---------------------------------------------------------------------------------------
    def to_node_link(self) -> dict[str, Any]:
        data = nx.node_link_data(self.graph, edges="edges", **_ENDS)
        data["nodes"] = sorted(data["nodes"], key=lambda n: n["id"])
        data["edges"] = sorted(data["edges"], key=lambda e: (e["from"], e["to"], str(e.get("key"))))
        return data

    @classmethod
    def from_node_link(cls, data: dict[str, Any]) -> CityKnowledge:
        if "edges" not in data:
            raise KnowledgeError("node-link data must have an 'edges' key (networkx ≥ 3.4 format).")
        try:
            graph = nx.node_link_graph(data, directed=True, multigraph=True, edges="edges", **_ENDS)
        except (KeyError, TypeError) as exc:
            raise KnowledgeError(f"node-link data is malformed: missing {exc}.") from exc
        return cls(graph).validate()

    def save_json(self, path: Path) -> Path:
        path.write_text(json.dumps(self.to_node_link(), ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
        return path

    @classmethod
    def load_json(cls, path: Path) -> CityKnowledge:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise KnowledgeError(f"{path}: cannot read node-link JSON ({exc}).") from exc
        return cls.from_node_link(data)

    def save_graphml(self, path: Path) -> Path:
        graph = self.graph.copy()
        for _, data in graph.nodes(data=True):
            for key in LIST_ATTRIBUTES:
                if key in data:
                    data[key] = json.dumps(data[key], ensure_ascii=False)
        nx.write_graphml(graph, path)
        return path

    @classmethod
    def load_graphml(cls, path: Path) -> CityKnowledge:
        graph = nx.read_graphml(path, force_multigraph=True)
        for _, data in graph.nodes(data=True):
            for key in LIST_ATTRIBUTES:
                if key in data:
                    data[key] = json.loads(data[key])
        for _, _, data in graph.edges(data=True):
            data.pop("id", None)
        graph.graph.clear()  # GraphML adds node_default/edge_default
        return cls(nx.MultiDiGraph(graph)).validate()
