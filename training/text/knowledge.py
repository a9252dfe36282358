"""What the knowledge library tells the event classifier: the catalogue's words for each category it learns.

When every training label is a top category of one scheme of the registered knowledge graph (the default
snapshot is ``pingdu-knowledge@production``; a city imports its own routing catalogue with ``citymind kg import``
and ``kg register``), the families that take a ``taxonomy`` get those categories with all their labels.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from models.base import CityModel
from registry import AssetNotFound, LineageRef, MlflowRegistry

KNOWLEDGE_TAG = "citymind.knowledge"  #: the snapshot and size of the taxonomy a model was trained with
DEFAULT_KNOWLEDGE = "pingdu-knowledge@production"


@dataclass(frozen=True)
class CategoryKnowledge:
    """``terms``: category → its labels and those of the categories under it; ``name``/``version``: the snapshot."""

    terms: dict[str, list[str]]
    name: str
    version: str

    def summary(self) -> dict[str, Any]:
        return {
            "knowledge": f"{self.name}/{self.version}",
            "categories": len(self.terms),
            "terms": sum(map(len, self.terms.values())),
        }

    def lineage(self) -> LineageRef:
        return LineageRef("knowledge", self.name, self.version)


def category_knowledge(
    registry: MlflowRegistry, ref: str, classes: Iterable[str]
) -> tuple[CategoryKnowledge | None, str]:
    """The categories of ``ref`` whose top level names every class, or ``None`` and why not (a sentence)."""
    from knowledge_graph.graph import CityKnowledge
    from knowledge_graph.snapshot import GRAPH_FILE

    classes = sorted(set(classes))
    if not ref:
        return None, "no knowledge asked for"
    try:
        version = registry.resolve(ref)
    except AssetNotFound:
        return None, f"{ref} is not registered (citymind bootstrap, or citymind kg register)"
    folder = Path(registry.load(f"{version.name}/{version.version}"))
    graph = CityKnowledge.load_json(folder / GRAPH_FILE)  # the graph only, not its case index
    terms = graph.category_vocabulary(classes)
    if not terms:
        return None, f"the labels {classes[:5]}… are not all top categories of one scheme of {ref}"
    return CategoryKnowledge(terms, version.name, str(version.version)), f"{ref}: {len(terms)} categories"


def with_knowledge(families: Mapping[str, type[CityModel]], knowledge: CategoryKnowledge | None) -> dict[str, Any]:
    """Each family as a maker, given the catalogue's terms when its constructor takes a ``taxonomy``."""
    if knowledge is None:
        return dict(families)
    takes = {name for name, cls in families.items() if "taxonomy" in inspect.signature(cls).parameters}
    return {name: partial(cls, taxonomy=knowledge.terms) if name in takes else cls for name, cls in families.items()}  # type: ignore[call-arg]


def logged_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters to log and tag: the taxonomy is an artifact (``taxonomy.json``), not a parameter."""
    return {k: v for k, v in params.items() if k != "taxonomy"}


def knowledge_tag(knowledge: CategoryKnowledge) -> str:
    return json.dumps(knowledge.summary(), ensure_ascii=False)
