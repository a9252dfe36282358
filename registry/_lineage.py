"""Lineage references: which kinds they may name, how a version tag stores them, and their checks."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from typing import Any

from citymind.errors import AssetNotFound, InvalidAsset, ValidationError
from registry._search import quote
from registry.base import AssetVersion, LineageRef
from registry.kinds import KIND_TAG, LINEAGE_TAG, Kind

EXTERNAL_KINDS = ("dataset", "run")  # things outside the registry: recorded, not checked
LINEAGE_KINDS = (*(k.value for k in Kind), *EXTERNAL_KINDS)


def coerce_refs(kind: Kind, name: str, lineage: Sequence[LineageRef | Any]) -> list[LineageRef]:
    """Lineage as ``LineageRef`` with canonical kinds; ``InvalidAsset`` names the first bad entry."""
    refs = []
    for item in lineage:
        try:
            ref = LineageRef.coerce(item)
        except (KeyError, TypeError, AttributeError) as exc:
            raise InvalidAsset(
                f"Lineage of {kind} {name!r} must be LineageRef or dicts with 'kind' and 'name'. Got {item!r} "
                f"({type(exc).__name__}: {exc}).",
                kind=kind,
                name=name,
            ) from exc
        refs.append(_canonical(ref, kind, name))
    return refs


def _canonical(ref: LineageRef, kind: Kind, name: str) -> LineageRef:
    key = ref.kind.strip().lower()
    key = key if key in LINEAGE_KINDS else key.rstrip("s")  # "models" → "model"
    if key in LINEAGE_KINDS and ref.name.strip():
        return dataclasses.replace(ref, kind=key)
    raise InvalidAsset(
        f"Lineage of {kind} {name!r} has entry {ref.to_dict()}: its kind must be one of "
        f"{{{', '.join(LINEAGE_KINDS)}}} and its name non-empty.",
        kind=kind,
        name=name,
    )


def check_exist(registry: Any, kind: Kind, name: str, refs: Iterable[LineageRef]) -> None:
    """Every reference to one of the five libraries names a registered asset of that kind (and version)."""
    for ref in refs:
        if ref.kind in EXTERNAL_KINDS:
            continue
        try:
            registry.get(ref.name, kind=ref.kind)
            if ref.version is not None:
                registry.version(ref.name, ref.version)
        except (AssetNotFound, InvalidAsset) as exc:
            raise AssetNotFound(
                f"Lineage of {kind} {name!r} names {ref}, which is not registered: {exc}",
                kind=kind,
                name=name,
            ) from exc


def tag_value(refs: Sequence[LineageRef]) -> str:
    return json.dumps([r.to_dict() for r in refs], ensure_ascii=False)


def parse_lineage(raw: str | None) -> list[LineageRef]:
    if not raw:
        return []
    try:
        return [LineageRef.coerce(item) for item in json.loads(raw)]
    except (ValueError, KeyError, TypeError):
        return []


def check_direction(direction: str) -> None:
    if direction not in ("up", "down"):
        raise ValidationError(f"Lineage direction must be 'up' or 'down'. Got {direction!r} instead.")


def users_filter(name: str) -> str:
    """A version search that over-selects the versions whose lineage mentions ``name`` (``users_of`` filters)."""
    return f"tags.`{LINEAGE_TAG}` LIKE '%{quote(json.dumps(name, ensure_ascii=False))}%'"


def users_of(av: AssetVersion, candidates: Iterable[Any]) -> list[LineageRef]:
    users = set()
    for mv in candidates:
        for ref in parse_lineage(mv.tags.get(LINEAGE_TAG)):
            if ref.name == av.name and ref.kind == av.kind.value and ref.version in (None, str(av.version)):
                users.add(LineageRef(mv.tags.get(KIND_TAG, "model"), mv.name, str(mv.version)))
    return sorted(users, key=lambda r: (r.kind, r.name, int(r.version or 0)))
