"""What citymind reads back of MLflow's records: a model version as an ``AssetVersion``, an asset's kind, an
alias's history."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from registry import _lineage
from registry.base import Asset, AssetVersion
from registry.kinds import ALIAS_HISTORY_TAG, FORMAT_TAG, KIND_TAG, LINEAGE_TAG, Kind

#: how many earlier targets of an alias are kept (what rollback can go back to)
HISTORY_LEN = 20


def kind_of(tags: Mapping[str, str]) -> Kind:
    """The kind a registered model's (or version's) tags name; ``model`` for one no citymind client made."""
    return Kind.parse(tags.get(KIND_TAG, "model"))


def to_asset(rm: Any) -> Asset:
    """A registered model as an ``Asset``. Its newest version comes with it: MLflow sends the newest version of each
    stage along with every registered model it reads (a single query for a whole search page)."""
    return Asset(
        kind=kind_of(rm.tags),
        name=rm.name,
        description=rm.description or "",
        tags={k: v for k, v in rm.tags.items() if not k.startswith(ALIAS_HISTORY_TAG)},  # citymind's own record
        aliases={a: int(v) for a, v in (rm.aliases or {}).items()},
        latest_version=max((int(mv.version) for mv in rm.latest_versions or ()), default=None),
    )


def to_asset_version(mv: Any, rm: Any) -> AssetVersion:
    """An MLflow model version as an ``AssetVersion``. ``rm``: the registered model, for its aliases and kind;
    None takes them from the version."""
    if rm is None:
        aliases = tuple(sorted(mv.aliases or ()))
    else:
        aliases = tuple(sorted(a for a, v in (rm.aliases or {}).items() if str(v) == str(mv.version)))
    tags = dict(mv.tags or {})
    return AssetVersion(
        kind=kind_of(tags) if tags.get(KIND_TAG) else kind_of(rm.tags),
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


def alias_history(tags: Mapping[str, str], alias: str, keep: int = HISTORY_LEN) -> list[int]:
    """The versions ``alias`` pointed at, oldest first, from its move tags (``citymind.alias_history.<alias>.<time>
    .<random>`` = the version, or minus the version a rollback left) over the single tag of earlier releases
    (``citymind.alias_history.<alias>`` = ``1,2,3``)."""
    history = [int(v) for v in tags.get(ALIAS_HISTORY_TAG + alias, "").split(",") if v.isascii() and v.isdigit()]
    prefix = f"{ALIAS_HISTORY_TAG}{alias}."
    for key in sorted(k for k in tags if k.startswith(prefix)):
        value = tags[key]
        move = int(value) if value.lstrip("-").isascii() and value.lstrip("-").isdigit() else 0
        if move > 0 and (not history or history[-1] != move):
            history.append(move)
        elif move < 0:
            history = [h for h in history if h != -move]  # a rollback leaves that version for good
    return history[-keep:]
