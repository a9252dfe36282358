"""registry.follow.AliasFollower: what is in service while an alias is missing, moves, or points at a broken
version (a fake registry: only the follower's logic is under test; the real store is in tests/integration)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from registry import AssetNotFound, InvalidAsset
from registry.follow import AliasFollower


class Shelf:
    """One alias: ``resolve`` gives version ``alias`` (None: no such alias); versions in ``broken`` fail to load."""

    def __init__(self) -> None:
        self.alias: int | None = None
        self.broken: set[int] = set()

    def resolve(self, ref: str) -> Any:
        if self.alias is None:
            raise AssetNotFound(f"no alias {ref}", name=ref)
        return SimpleNamespace(version=self.alias)

    def load(self, registry: Any, target: Any) -> str:
        if target.version in self.broken:
            raise InvalidAsset(f"version {target.version} is damaged", name="x")
        return f"served v{target.version}"


def test_a_missing_alias_a_move_and_a_broken_version() -> None:
    shelf = Shelf()
    follower = AliasFollower(shelf, "x", "production", shelf.load, refresh_interval=0)
    with pytest.raises(AssetNotFound, match="cannot be served"):
        follower.current()
    assert follower.unregistered and "AssetNotFound" in (follower.last_error or "")

    shelf.alias = 1
    assert follower.current() == "served v1" and not follower.unregistered and follower.last_error is None

    shelf.alias, shelf.broken = 2, {2}
    assert not follower.reload()
    assert follower.current() == "served v1" and follower.version == 1
    assert not follower.unregistered and "version 2 is damaged" in (follower.last_error or "")

    shelf.alias = 1  # rolled back to what is in service
    assert not follower.reload() and follower.last_error is None


def test_a_broken_first_version_is_not_taken_for_a_missing_one() -> None:
    shelf = Shelf()
    shelf.alias, shelf.broken = 1, {1}
    follower = AliasFollower(shelf, "x", "production", shelf.load, refresh_interval=0)
    with pytest.raises(AssetNotFound):
        follower.current()
    assert not follower.unregistered and "damaged" in (follower.last_error or "")
