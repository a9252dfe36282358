"""What ``CityKnowledge`` answers: a ``Match`` for a name looked up, a ``Dispatch`` for who leads and who
assists (主办/协办) with a category in an area."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict


@dataclass(frozen=True)
class Match:
    node: str
    label: str
    type: str
    score: float
    matched: str


class DispatchRecord(TypedDict):
    """``Dispatch.to_dict()``: the answer as JSON."""

    category: str
    area: str | None
    lead: str
    lead_id: str
    assists: list[str]
    assist_ids: list[str]
    source: str
    path: list[str]


@dataclass(frozen=True)
class Dispatch:
    """The answer to ``dispatch(category, area)`` and the path through the graph that explains it."""

    category: str
    area: str | None
    lead: str
    lead_id: str
    assists: tuple[str, ...]
    assist_ids: tuple[str, ...]
    source: str
    path: tuple[str, ...] = field(default=())

    def to_dict(self) -> DispatchRecord:
        return {
            "category": self.category,
            "area": self.area,
            "lead": self.lead,
            "lead_id": self.lead_id,
            "assists": list(self.assists),
            "assist_ids": list(self.assist_ids),
            "source": self.source,
            "path": list(self.path),
        }
