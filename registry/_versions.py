"""An MLflow model version read back as citymind's ``AssetVersion``."""

from __future__ import annotations

from typing import Any

from registry import _lineage
from registry.base import AssetVersion
from registry.kinds import FORMAT_TAG, KIND_TAG, LINEAGE_TAG, Kind


def to_asset_version(mv: Any, rm: Any) -> AssetVersion:
    """An MLflow model version as an ``AssetVersion``. ``rm``: the registered model, for its aliases and kind;
    None takes them from the version."""
    if rm is None:
        aliases = tuple(sorted(mv.aliases or ()))
    else:
        aliases = tuple(sorted(a for a, v in (rm.aliases or {}).items() if str(v) == str(mv.version)))
    tags = dict(mv.tags or {})
    return AssetVersion(
        kind=Kind.parse(tags.get(KIND_TAG) or Kind.parse(rm.tags.get(KIND_TAG, "model"))),
        name=mv.name,
        version=int(mv.version),
        format=tags.get(FORMAT_TAG, "unknown"),
        aliases=aliases,
        tags={k: v for k, v in tags.items() if k != LINEAGE_TAG},
        description=mv.description or "",
        source=mv.source or "",
        run_id=mv.run_id,
        created_at=int(mv.creation_timestamp or 0),
        lineage=tuple(_lineage.parse_lineage(tags.get(LINEAGE_TAG))),
    )
