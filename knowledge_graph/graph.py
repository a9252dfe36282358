"""``CityKnowledge``: the city knowledge graph (networkx) with schema validation, persistence and the questions
the event engine asks it: who leads and who assists (主办/协办) for this category here, and the lookups around
it (labels, neighbours, paths, coverage)."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import networkx as nx

from knowledge_graph.answers import Dispatch, Match
from knowledge_graph.catalogue import as_of, in_force
from knowledge_graph.errors import AmbiguousConcept, KnowledgeError, UnknownConcept
from knowledge_graph.schema import LIST_ATTRIBUTES
from knowledge_graph.validation import check

#: Edge ends are "from"/"to" in node-link JSON: "source" is a dispatch edge's citation attribute.
_ENDS = {"source": "from", "target": "to"}


class CityKnowledge:
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
        self._index: dict[str, list[tuple[str, str]]] | None = None

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

    # -- questions -----------------------------------------------------------------------------------------
    def label(self, node: str) -> str:
        return str(self.graph.nodes[node]["label"])

    def lookup(self, text: str, type: str | None = None, *, fuzzy: bool = True, limit: int = 5) -> list[Match]:
        """Nodes whose id, notation, preferred, alternative or hidden label is ``text``; else close labels."""
        labels = self._labels()
        exact = [
            Match(n, self.label(n), t, 1.0, text) for n, t in labels.get(text.strip(), []) if type is None or t == type
        ]
        if exact or not fuzzy:
            return exact[:limit]
        candidates = [k for k, owners in labels.items() if any(type is None or t == type for _, t in owners)]
        found = []
        for key in difflib.get_close_matches(text.strip(), candidates, n=limit, cutoff=0.5):
            score = difflib.SequenceMatcher(None, text, key).ratio()
            found += [
                Match(n, self.label(n), t, round(score, 3), key) for n, t in labels[key] if type is None or t == type
            ]
        return found[:limit]

    def resolve(self, text: str, type: str) -> str:
        """The one node of ``type`` named ``text`` exactly (of several on one branch, the broadest);
        ``UnknownConcept`` with suggestions when none is, ``AmbiguousConcept`` listing the candidates (with codes)
        when several on different branches are."""
        exact = {m.node for m in self.lookup(text, type, fuzzy=False, limit=1_000)}
        if len(exact) == 1:
            return exact.pop()
        if (broadest := self._broadest(exact)) is not None:
            return broadest
        if exact:
            listed = "; ".join(self._describe(n) for n in sorted(exact))
            raise AmbiguousConcept(f"{text!r} names {len(exact)} {type} nodes: {listed}. Use a code or an id.")
        close = sorted({m.label for m in self.lookup(text, type)})
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise UnknownConcept(f"no {type} named {text!r}.{hint}")

    def _broadest(self, nodes: set[str]) -> str | None:
        """The one of ``nodes`` every other one is under (a catalogue naming a subcategory like its parent,
        交通运输 › 交通运输: the name means the parent), else None."""
        for node in nodes:
            if all(node in self.ancestors(other, "broader") for other in nodes):
                return node
        return None

    def _describe(self, node: str) -> str:
        data = self.graph.nodes[node]
        parents = [self.label(v) for _, v, d in self.graph.out_edges(node, data=True) if d.get("type") == "broader"]
        code = f"code {data['notation']}, " if data.get("notation") else ""
        under = f", under {parents[0]}" if parents else ""
        return f"{data['label']} ({code}id {node}{under})"

    def ancestors(self, node: str, edge_type: str) -> list[str]:
        """``node`` and its parents up the ``broader``/``part_of`` tree, nearest first."""
        chain = [node]
        while True:
            parents = [v for _, v, d in self.graph.out_edges(chain[-1], data=True) if d.get("type") == edge_type]
            if not parents or parents[0] in chain:
                return chain
            chain.append(parents[0])

    def dispatch(self, category: str, area: str | None = None, *, on: str | None = None) -> Dispatch:
        """Lead and assisting departments for ``category`` in ``area``: the most specific duty wins, falling
        back up the area tree (社区 → 街道/镇 → city-wide) and then up the category tree. Only entries in force
        ``on`` that ISO day (default: today) count."""
        on = as_of(on)
        cat = self.resolve(category, "EventCategory")
        areas: list[str | None] = [*self.ancestors(self.resolve(area, "Area"), "part_of"), None] if area else [None]
        path: list[str] = []
        for c in self.ancestors(cat, "broader"):
            table = self._duty_table(c, on)  # one pass over the category's duties, then lookups per area
            for a in areas:
                leads = table.get(("leads", a), [])
                where = self.label(a) if a else "city-wide"
                if not leads:
                    path.append(f"{self.label(c)} @ {where}: no lead listed")
                    continue
                lead, data = leads[0]
                # assisting departments: this area's own list plus the city-wide one, never the lead itself
                local = table.get(("assists", a), []) + (table.get(("assists", None), []) if a else [])
                assists = [d for d in dict(local) if d != lead]
                path.append(f"{self.label(c)} @ {where}: {self.label(lead)} leads ({data.get('source', 'no source')})")
                return Dispatch(
                    self.label(cat),
                    self.label(areas[0]) if areas[0] else None,
                    self.label(lead),
                    lead,
                    tuple(self.label(d) for d in assists),
                    tuple(assists),
                    str(data.get("source", "")),
                    tuple(path),
                )
        raise KnowledgeError(
            f"no department leads {self.label(cat)!r} or any broader category; add it to the dispatch catalogue."
        )

    def _duty_table(self, category: str, on: str) -> dict[tuple[str, str | None], list[tuple[str, dict]]]:
        table: dict[tuple[str, str | None], list[tuple[str, dict]]] = {}
        for dept, _, data in self.graph.in_edges(category, data=True):
            if data.get("type") in {"leads", "assists"} and in_force(data, on):
                table.setdefault((data["type"], data.get("area")), []).append((dept, data))
        for duties in table.values():
            duties.sort(key=lambda d: d[0])
        return table

    def neighbours(self, node: str, edge_type: str | None = None) -> list[tuple[str, str, str]]:
        """``(direction, edge type, neighbour)`` for edges in and out of ``node``."""
        out = [("out", d["type"], v) for _, v, d in self.graph.out_edges(node, data=True)]
        out += [("in", d["type"], u) for u, _, d in self.graph.in_edges(node, data=True)]
        return sorted(e for e in out if edge_type in (None, e[1]))

    def path(self, source: str, target: str) -> list[str]:
        try:
            return list(nx.shortest_path(self.graph.to_undirected(as_view=True), source, target))
        except (nx.NetworkXNoPath, nx.NodeNotFound) as exc:
            raise KnowledgeError(f"no path from {source!r} to {target!r}: {exc}") from exc

    def subgraph(self, node: str, radius: int = 1) -> CityKnowledge:
        nodes = nx.ego_graph(self.graph.to_undirected(as_view=True), node, radius=radius).nodes
        return type(self)(self.graph.subgraph(nodes).copy())

    def categories_of(self, department: str, kind: str = "leads") -> list[str]:
        dept = self.resolve(department, "Department")
        return sorted({self.label(v) for _, v, d in self.graph.out_edges(dept, data=True) if d.get("type") == kind})

    def leaf_categories(self) -> list[str]:
        children = {v for _, v, d in self.graph.edges(data=True) if d.get("type") == "broader"}
        return sorted(
            n for n, d in self.graph.nodes(data=True) if d.get("type") == "EventCategory" and n not in children
        )

    def category_vocabulary(self, classes: Iterable[str]) -> dict[str, list[str]]:
        """Every top category of the scheme whose top categories are named by all of ``classes`` (a classifier's
        labels), each with every label — preferred, alternative, hidden — of itself and the categories under it:
        the catalogue's words a text classifier of those classes can learn from. Empty when no scheme names all.

        >>> kg = CityKnowledge()
        >>> kg.add_node("c:1", "EventCategory", "环境保护", scheme="s", alt=["环保"])
        >>> kg.add_node("c:1.1", "EventCategory", "噪音污染", scheme="s", hidden=["燥音"])
        >>> kg.add_edge("c:1.1", "c:1", "broader")
        >>> kg.add_node("c:2", "EventCategory", "交通运输", scheme="s")
        >>> kg.category_vocabulary(["环境保护"])
        {'交通运输': ['交通运输'], '环境保护': ['噪音污染', '燥音', '环保', '环境保护']}
        >>> kg.category_vocabulary(["环境保护", "城乡建设"])
        {}
        """
        children: dict[str, list[str]] = {}
        for u, v, d in self.graph.edges(data=True):
            if d.get("type") == "broader":
                children.setdefault(v, []).append(u)
        schemes: dict[str, dict[str, str]] = {}
        for node, data in self.graph.nodes(data=True):
            if data.get("type") == "EventCategory" and not self.ancestors(node, "broader")[1:]:
                schemes.setdefault(str(data.get("scheme") or ""), {})[str(data["label"])] = node
        wanted = set(classes)
        for tops in schemes.values():
            if wanted and wanted <= set(tops):
                return {label: self._subtree_labels(tops[label], children) for label in sorted(tops)}
        return {}

    def _subtree_labels(self, top: str, children: dict[str, list[str]]) -> list[str]:
        nodes, labels = [top], set()
        while nodes:
            node = nodes.pop()
            data = self.graph.nodes[node]
            labels |= {str(data["label"]), *map(str, data.get("alt", [])), *map(str, data.get("hidden", []))}
            nodes += children.get(node, [])
        return sorted(labels)

    def regulations(self, category: str) -> list[str]:
        """Regulations governing ``category`` or any broader category, nearest first."""
        chain = self.ancestors(self.resolve(category, "EventCategory"), "broader")
        found = [u for c in chain for u, _, d in self.graph.in_edges(c, data=True) if d.get("type") == "governs"]
        return [self.label(r) for r in dict.fromkeys(found)]

    def coverage(self, on: str | None = None) -> dict[str, Any]:
        """Leaf categories that ``dispatch`` answers everywhere on ``on`` (default today): a city-wide lead up
        the category tree. Leaves led only in some areas are listed in ``gaps`` with the areas left out."""
        on = as_of(on)
        chains = {a: set(self.ancestors(a, "part_of")) for a, d in self.graph.nodes(data=True) if d["type"] == "Area"}
        leaves = self.leaf_categories()
        without, gaps = [], []
        for leaf in leaves:
            led_in = {a for c in self.ancestors(leaf, "broader") for a in self._lead_areas(c, on)}
            if None in led_in:
                continue
            without.append(self.label(leaf))
            missing = [self.label(a) for a, chain in sorted(chains.items()) if not chain & led_in]
            gaps.append({"category": self.label(leaf), "id": leaf, "missing_in": ["city-wide", *missing]})
        return {
            "leaf_categories": len(leaves),
            "covered": len(leaves) - len(without),
            "without_lead": without,
            "gaps": gaps,
            "on": on,
        }

    def _lead_areas(self, category: str, on: str) -> set[str | None]:
        return {
            d.get("area")
            for _, _, d in self.graph.in_edges(category, data=True)
            if d.get("type") == "leads" and in_force(d, on)
        }

    def _labels(self) -> dict[str, list[tuple[str, str]]]:
        if self._index is None:
            index: dict[str, list[tuple[str, str]]] = {}
            for node, data in self.graph.nodes(data=True):
                names = {node, data.get("label"), data.get("notation"), *data.get("alt", []), *data.get("hidden", [])}
                for name in filter(None, names):
                    index.setdefault(str(name), []).append((node, data.get("type", "")))
            self._index = index
        return self._index

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
