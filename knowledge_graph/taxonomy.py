"""Import a multi-level routing catalogue (one column per level, e.g. 一级分类/二级分类/三级分类) as a SKOS-style
category tree with generated notations (``01``, ``01.02``, ``01.02.03``)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from knowledge_graph.errors import KnowledgeError
from knowledge_graph.graph import CityKnowledge


def import_catalogue(
    path: Path, *, scheme: str, levels: Sequence[str] | None = None, into: CityKnowledge | None = None
) -> CityKnowledge:
    """Categories from ``path`` (CSV with a header); ``levels`` names the level columns, top first (default:
    every column). Rows may stop early (a blank deeper level); a repeated path is one category."""
    kg = into or CityKnowledge()
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise KnowledgeError(f"{path}: cannot read the catalogue ({exc}).") from exc
    if not rows:
        raise KnowledgeError(f"{path}: the catalogue is empty.")
    columns = list(levels or rows[0].keys())
    missing = [c for c in columns if c not in rows[0]]
    if missing:
        raise KnowledgeError(f"{path}: no column(s) {missing}; its columns are {list(rows[0])}.")
    ids: dict[tuple[str, ...], str] = {}
    counters: dict[tuple[str, ...], int] = {}
    for line, row in enumerate(rows, start=2):
        trail: tuple[str, ...] = ()
        for column in columns:
            label = (row.get(column) or "").strip()
            if not label:
                break
            parent, trail = trail, (*trail, label)
            if trail in ids:
                continue
            counters[parent] = counters.get(parent, 0) + 1
            notation = ".".join(
                filter(None, [ids[parent].split(":", 1)[1] if parent else "", f"{counters[parent]:02d}"])
            )
            node = f"{scheme}:{notation}"
            kg.add_node(
                node,
                "EventCategory",
                label,
                notation=notation,
                scheme=scheme,
                alt=[],
                hidden=[],
                source=f"{path.name}:{line}",
            )
            if parent:
                kg.add_edge(node, ids[parent], "broader")
            ids[trail] = node
    return kg.validate()
