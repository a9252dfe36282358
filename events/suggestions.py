"""Dispatch-catalogue changes the outcomes suggest (learning from 改派): where reports of one category in one area
are reassigned from the department the catalogue named to the same other department again and again, propose
that department as the area's lead, as a diff of the catalogue for a person to review. Nothing is applied."""

from __future__ import annotations

import difflib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from citymind.errors import CitymindError
from events.records import EventRecords
from knowledge_graph.defaults import PINGDU_YAML, load_pingdu
from knowledge_graph.proposals import AreaLead, with_area_leads

#: example event ids kept as evidence per suggestion
EXAMPLES = 5


@dataclass(frozen=True)
class Suggestion:
    """Reports of ``category`` in ``area`` decided for ``from_lead`` and reassigned to ``to_department``:
    ``count`` events, ``share`` of the ``group`` events of that category, area and lead that were reassigned."""

    area: str
    category: str
    from_lead: str | None
    to_department: str
    count: int
    group: int
    share: float
    event_ids: tuple[str, ...]
    first: str
    last: str

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "event_ids": list(self.event_ids)}


def repeated_reassignments(
    rows: Iterable[Mapping[str, Any]], *, min_count: int = 3, share: float = 0.6
) -> list[Suggestion]:
    """``reassigned`` outcomes (``EventRecords.timeline_rows``) grouped by area, decided category
    and decided lead; each event counts once, where its last reassignment sent it. A department is proposed when
    at least ``min_count`` events went to it and they are at least ``share`` of the group's reassigned events."""
    last: dict[str, Mapping[str, Any]] = {}
    for row in sorted(rows, key=lambda r: float(r["at"])):  # by when it happened, not when it was reported
        if row.get("area") and row.get("department"):
            last[str(row["event_id"])] = row  # a later reassignment of the same event replaces the earlier
    groups: dict[tuple[str, str, str | None], list[Mapping[str, Any]]] = defaultdict(list)
    for row in last.values():
        if row["department"] != row.get("lead"):
            groups[(row["area"], row["decided_category"], row.get("lead"))].append(row)
    out = []
    for (area, category, lead), members in groups.items():
        for department, count in Counter(str(r["department"]) for r in members).most_common():
            if count >= min_count and count / len(members) >= share:
                mine = [r for r in members if r["department"] == department]
                times = sorted(float(r["at"]) for r in mine)
                out.append(Suggestion(
                    area, category, lead, department, count, len(members), round(count / len(members), 3),
                    tuple(str(r["event_id"]) for r in mine[:EXAMPLES]), _iso(times[0]), _iso(times[-1]),
                ))  # fmt: skip
    return sorted(out, key=lambda s: (-s.count, s.area, s.category))


def suggest(
    records: EventRecords, since: float | None = None, *, min_count: int = 3, share: float = 0.6
) -> list[Suggestion]:
    """:func:`repeated_reassignments` over the recorded ``reassigned`` outcomes at or after ``since``."""
    return repeated_reassignments(records.timeline_rows(["reassigned"], since), min_count=min_count, share=share)


def catalogue_diff(suggestions: list[Suggestion], catalogue: Path = PINGDU_YAML) -> tuple[str, list[str]]:
    """``(unified diff of the catalogue with the suggestions written in, suggestions it could not place)``:
    names are resolved in the catalogue's own graph (a department or area it does not know is not placed)."""
    graph = load_pingdu(catalogue)
    changes: list[AreaLead] = []
    skipped: list[str] = []
    for s in suggestions:
        try:
            category = graph.label(graph.resolve(s.category, "EventCategory"))
            area = graph.resolve(s.area, "Area")
            department = graph.resolve(s.to_department, "Department")
        except CitymindError as exc:
            skipped.append(f"{s.category} @ {s.area} → {s.to_department}: {exc}")
            continue
        evidence = (f"citymind kg suggest: {s.count} of {s.group} reassigned reports ({s.first[:10]}..{s.last[:10]}) "
                    f"went from {s.from_lead or 'no lead'} to {s.to_department}; to confirm")  # fmt: skip
        changes.append(AreaLead(category, area, department, evidence, f"{s.area}: {s.from_lead} → {s.to_department}"))
    before = catalogue.read_text(encoding="utf-8")
    try:
        after = with_area_leads(before, changes)
    except CitymindError as exc:
        return "", [*skipped, str(exc)]
    name = catalogue.name
    diff = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), f"a/{name}", f"b/{name}"
    )
    return "".join(diff), skipped


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at).isoformat(timespec="seconds")
