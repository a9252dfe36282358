"""A knowledge snapshot (graph + retrieval index + its configuration) registered as kind ``knowledge``."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge_graph.graph import CityKnowledge
from knowledge_graph.retrieval import CaseIndex, Hit
from registry import AssetRegistry, AssetVersion, ValidationError

GRAPH_FILE = "graph.json"
CASES_DIR = "cases"


@dataclass
class KnowledgeSnapshot:
    """What the event engine loads: the graph and, when present, the index of past cases."""

    graph: CityKnowledge
    cases: CaseIndex | None = None

    def search(self, text: str, k: int = 5) -> list[Hit]:
        """Knowledge documents and past cases whose message or reply is most similar to ``text``."""
        return list(self._cases().search(text, k))

    def similar_cases(self, text: str, k: int = 5) -> list[Hit]:
        """Past cases whose report is most like ``text`` (report against report), with their official reply."""
        return list(self._cases().similar_cases(text, k))

    def _cases(self) -> CaseIndex:
        if self.cases is None:
            raise ValidationError("this knowledge snapshot has no case index; build one with `citymind kg index`.")
        return self.cases

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        self.graph.save_json(folder / GRAPH_FILE)
        if self.cases is not None:
            self.cases.save(folder / CASES_DIR)
        manifest = {
            "graph": GRAPH_FILE,
            "nodes": len(self.graph),
            "edges": self.graph.graph.number_of_edges(),
            "cases": CASES_DIR if self.cases is not None else None,
        }
        (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, folder: Path) -> KnowledgeSnapshot:
        graph = CityKnowledge.load_json(folder / GRAPH_FILE)
        cases = None
        if (folder / CASES_DIR).is_dir():
            cases = CaseIndex.load(folder / CASES_DIR)
        return cls(graph, cases)

    def register(
        self,
        registry: AssetRegistry,
        name: str,
        *,
        alias: str | None = "production",
        description: str = "",
        lineage: list[dict[str, Any]] | None = None,
    ) -> AssetVersion:
        with tempfile.TemporaryDirectory() as tmp:
            folder = self.save(Path(tmp) / "snapshot")
            version = registry.register(
                "knowledge",
                name,
                folder,
                description=description,
                lineage=lineage or [],
                tags={"nodes": str(len(self.graph)), "format.graph": "node-link-json"},
            )
        return registry.set_alias(name, alias, version.version) if alias else version

    @classmethod
    def from_registry(cls, registry: AssetRegistry, ref: str) -> KnowledgeSnapshot:
        return cls.load(Path(registry.load(ref)))
