"""Just enough registry for a ``ModelHub`` in app tests without MLflow: one model, version 1, at a local path."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from registry import AssetNotFound, AssetVersion, Kind


class OneModelRegistry:
    """``name@<alias>`` and ``name/1`` resolve to the ONNX file at ``path``; no canary split (no tags)."""

    def __init__(self, path: Path, name: str = "event-classifier") -> None:
        self.path, self.name = path, name

    def resolve(self, ref: str) -> AssetVersion:
        if not ref.startswith(f"{self.name}@"):
            raise AssetNotFound(f"no {ref}")
        return AssetVersion(Kind.MODEL, self.name, 1, "onnx")

    def version(self, name: str, version: int) -> AssetVersion:
        if (name, version) != (self.name, 1):
            raise AssetNotFound(f"Version {version} of {name!r} does not exist.")
        return AssetVersion(Kind.MODEL, name, 1, "onnx")

    def load(self, uri: str) -> Path:
        return self.path

    def get(self, name: str) -> Any:
        return SimpleNamespace(tags={})
