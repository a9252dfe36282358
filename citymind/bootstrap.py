"""Register the default Pingdu assets into an empty registry (what ``make run`` does first)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import knowledge_graph
from registry import AssetNotFound, MlflowRegistry

KNOWLEDGE_DEFAULTS = Path(knowledge_graph.__file__).resolve().parent / "defaults"


@dataclass
class DefaultAsset:
    """One asset the platform ships: how to build it and the alias it serves under."""

    kind: str
    name: str
    build: Callable[[MlflowRegistry], Any]
    alias: str
    description: str
    tags: dict[str, str] = field(default_factory=dict)
    lineage: Callable[[MlflowRegistry], list[dict[str, Any]]] = lambda reg: []


def default_assets() -> list[DefaultAsset]:
    return [
        DefaultAsset(
            "knowledge",
            "pingdu-basics",
            lambda reg: KNOWLEDGE_DEFAULTS / "pingdu.yaml",
            "production",
            "Pingdu's 5 sub-districts, 12 towns and municipal departments (defaults for a deployment to confirm).",
            {"city": "pingdu", "sample": "false"},
        ),
    ]


def bootstrap(registry: MlflowRegistry | None = None, *, force: bool = False) -> Iterator[str]:
    """Register each default asset that has no version yet; yield one line per asset."""
    reg = registry or MlflowRegistry.from_settings()
    for asset in default_assets():
        if not force and _has_alias(reg, asset.name, asset.alias):
            yield f"present     {asset.kind:<10} {asset.name}@{asset.alias}"
            continue
        version = reg.register(
            asset.kind,
            asset.name,
            asset.build(reg),
            description=asset.description,
            tags=asset.tags,
            lineage=asset.lineage(reg),
        )
        reg.set_alias(asset.name, asset.alias, version.version)
        yield f"registered  {asset.kind:<10} {asset.name}/{version.version} @{asset.alias}"


def _has_alias(reg: MlflowRegistry, name: str, alias: str) -> bool:
    try:
        return alias in reg.get(name).aliases
    except AssetNotFound:
        return False
