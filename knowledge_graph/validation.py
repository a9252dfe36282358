"""Validate a knowledge graph against the schema; every problem is reported, not just the first."""

from __future__ import annotations

from collections import defaultdict

import networkx as nx

from knowledge_graph.catalogue import catalogue_problems
from knowledge_graph.errors import KnowledgeError
from knowledge_graph.schema import EDGE_TYPES, NODE_TYPES


def problems(graph: nx.MultiDiGraph) -> list[str]:
    """Every schema violation of a ``networkx.MultiDiGraph`` of citymind knowledge, as readable lines."""
    out: list[str] = []
    for node, data in graph.nodes(data=True):
        kind = data.get("type")
        if kind not in NODE_TYPES:
            out.append(f"node {node!r}: unknown type {kind!r}; use one of {sorted(NODE_TYPES)}")
        if not data.get("label"):
            out.append(f"node {node!r}: has no label")
    out += _edge_problems(graph)
    out += _tree_problems(graph)
    out += _duplicate_labels(graph)
    out += catalogue_problems(graph)
    return out


def check(graph: nx.MultiDiGraph) -> None:
    found = problems(graph)
    if found:
        more = f" (and {len(found) - 20} more)" if len(found) > 20 else ""
        raise KnowledgeError("invalid knowledge graph:\n  " + "\n  ".join(found[:20]) + more)


def _edge_problems(graph: nx.MultiDiGraph) -> list[str]:
    out = []
    for u, v, data in graph.edges(data=True):
        kind = data.get("type")
        spec = EDGE_TYPES.get(kind)
        if spec is None:
            out.append(f"edge {u!r} → {v!r}: unknown type {kind!r}; use one of {sorted(EDGE_TYPES)}")
            continue
        for end, allowed in ((u, spec.sources), (v, spec.targets)):
            if "type" not in graph.nodes[end]:
                out.append(f"edge {u!r} -{kind}→ {v!r}: dangling, node {end!r} is not defined")
            elif graph.nodes[end]["type"] not in allowed:
                out.append(
                    f"edge {u!r} -{kind}→ {v!r}: {end!r} is a {graph.nodes[end]['type']}, expected "
                    f"{' or '.join(sorted(allowed))}"
                )
        area = data.get("area")
        if area is not None and graph.nodes.get(area, {}).get("type") != "Area":
            out.append(f"edge {u!r} -{kind}→ {v!r}: area {area!r} is not an Area node")
    return out


def _tree_problems(graph: nx.MultiDiGraph) -> list[str]:
    out = []
    for kind in (k for k, spec in EDGE_TYPES.items() if spec.tree):
        parent: dict[str, list[str]] = defaultdict(list)
        for u, v, data in graph.edges(data=True):
            if data.get("type") == kind:
                parent[u].append(v)
        for node, parents in parent.items():
            if len(parents) > 1:
                out.append(f"node {node!r}: {len(parents)} '{kind}' parents {parents}; a tree allows one")
        reported: set[str] = set()
        for start in parent:
            seen, node = [start], start
            while parent.get(node):
                node = parent[node][0]
                if node in seen:
                    cycle = [*seen[seen.index(node) :], node]
                    if not reported.intersection(cycle):
                        out.append(f"cycle in '{kind}': {' → '.join(cycle)}")
                        reported.update(cycle)
                    break
                seen.append(node)
    return out


def _duplicate_labels(graph: nx.MultiDiGraph) -> list[str]:
    """Within one scheme (EventCategory: ``scheme`` attribute; others: their type) a preferred label names one
    node, except among siblings of different parents (e.g. 其他 under two top-level categories)."""
    owners: dict[tuple[str, str, str], str] = {}
    out = []
    for node, data in graph.nodes(data=True):
        parent = next(
            (v for _, v, d in graph.out_edges(node, data=True) if d.get("type") in {"broader", "part_of"}), ""
        )
        key = (data.get("scheme") or data.get("type", ""), parent, data.get("label", ""))
        if key in owners:
            out.append(f"duplicate label {key[2]!r} in scheme {key[0]!r}: {owners[key]!r} and {node!r}")
        owners[key] = node
    return out
