"""The registry protocol and its value objects: one small surface for all five libraries.

| call                                        | returns          |
|---------------------------------------------|------------------|
| ``register(kind, name, artifact, ...)``     | ``AssetVersion`` |
| ``get(name)`` / ``list(kind)``              | ``Asset`` / list |
| ``versions(name)`` / ``search(kind, tags)`` | ``AssetVersion`` list / ``Asset`` list |
| ``set_alias`` / ``delete_alias`` / ``rollback`` | ``AssetVersion`` / None / ``AssetVersion`` |
| ``resolve("models:/name@alias")``           | ``AssetVersion`` |
| ``load(ref)`` / ``download(ref)``           | native object / local ``Path`` |
| ``lineage(name, version, direction)``       | ``LineageRef`` list |
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from registry.kinds import Kind

Direction = Literal["up", "down"]


@dataclass(frozen=True)
class LineageRef:
    """What a version came from (``up``) or what uses it (``down``).

    ``kind`` is one of the five library kinds, or ``dataset`` / ``run`` for things outside the registry.
    """

    kind: str
    name: str
    version: str | None = None
    detail: Mapping[str, str] = field(default_factory=dict, hash=False)

    @classmethod
    def coerce(cls, value: LineageRef | Mapping[str, Any]) -> LineageRef:
        if isinstance(value, LineageRef):
            return value
        extra = {k: str(v) for k, v in value.items() if k not in {"kind", "name", "version", "detail"}}
        extra.update({k: str(v) for k, v in (value.get("detail") or {}).items()})
        version = value.get("version")
        return cls(str(value["kind"]), str(value["name"]), None if version is None else str(version), extra)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["detail"] = dict(self.detail)
        return out

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}" + (f"/{self.version}" if self.version else "")


@dataclass(frozen=True)
class AssetVersion:
    """One immutable version of an asset, with the aliases that currently point at it."""

    kind: Kind
    name: str
    version: int
    format: str
    aliases: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    source: str = ""
    run_id: str | None = None
    created_at: int = 0
    lineage: tuple[LineageRef, ...] = ()

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "name": self.name,
            "version": self.version,
            "format": self.format,
            "aliases": list(self.aliases),
            "tags": dict(self.tags),
            "description": self.description,
            "source": self.source,
            "run_id": self.run_id,
            "created_at": self.created_at,
            "lineage": [ref.to_dict() for ref in self.lineage],
            "uri": self.uri,
        }


@dataclass(frozen=True)
class Asset:
    """A named asset of one kind and where its aliases point."""

    kind: Kind
    name: str
    description: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    aliases: Mapping[str, int] = field(default_factory=dict)
    latest_version: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "name": self.name,
            "description": self.description,
            "tags": dict(self.tags),
            "aliases": dict(self.aliases),
            "latest_version": self.latest_version,
        }


@runtime_checkable
class AssetRegistry(Protocol):
    """What every registry backend offers. ``MlflowRegistry`` is the one implementation."""

    def register(
        self,
        kind: Kind | str,
        name: str,
        artifact: Any,
        *,
        description: str = "",
        tags: Mapping[str, str] | None = None,
        lineage: Sequence[LineageRef | Mapping[str, Any]] = (),
        signature: Any = None,
        input_example: Any = None,
        run_id: str | None = None,
    ) -> AssetVersion: ...

    def get(self, name: str, kind: Kind | str | None = None) -> Asset: ...

    def list(self, kind: Kind | str | None = None) -> builtins.list[Asset]: ...

    def versions(self, name: str) -> builtins.list[AssetVersion]: ...

    def versions_page(self, name: str, limit: int, before: int | None = None) -> builtins.list[AssetVersion]:
        """At most ``limit`` versions numbered below ``before`` (None: from the newest), newest first."""
        ...

    def search(
        self,
        kind: Kind | str | None = None,
        tags: Mapping[str, str] | None = None,
        name_contains: str | None = None,
    ) -> builtins.list[Asset]: ...

    def set_alias(self, name: str, alias: str, version: int | str) -> AssetVersion: ...

    def delete_alias(self, name: str, alias: str) -> None: ...

    def set_tag(self, name: str, key: str, value: str | None) -> Asset: ...

    def version(self, name: str, version: int | str) -> AssetVersion: ...

    def resolve(self, ref: str) -> AssetVersion: ...

    def load(self, ref: str) -> Any: ...

    def download(self, ref: str) -> Path: ...

    def rollback(self, name: str, alias: str = "champion") -> AssetVersion: ...

    def lineage(self, name: str, version: int | str, direction: Direction = "up") -> builtins.list[LineageRef]: ...
