"""The dispatch catalogue's own rules (派单目录): every duty cites its source, validity dates are ISO days in
order, and no two departments lead one category in one area at the same time."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from typing import Any

import networkx as nx

from knowledge_graph.errors import KnowledgeError

DUTIES = frozenset({"leads", "assists"})
BEGINNING, END = "0000-01-01", "9999-12-31"
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def is_iso_day(value: object) -> bool:
    """``YYYY-MM-DD`` naming a real day (so string order is date order)."""
    if not isinstance(value, str) or not _ISO_DAY.fullmatch(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def window(data: dict[str, Any]) -> tuple[str, str]:
    """An entry's validity as ``(first day, last day)``, both inclusive; open ends are the widest days."""
    return data.get("valid_from") or BEGINNING, data.get("valid_to") or END


def in_force(data: dict[str, Any], on: str) -> bool:
    first, last = window(data)
    return first <= on <= last


def as_of(on: str | None) -> str:
    """The day a catalogue question is asked for: ``on`` (ISO ``YYYY-MM-DD``) or today."""
    if on is None:
        return date.today().isoformat()
    if not is_iso_day(on):
        raise KnowledgeError(f"the date must be an ISO day YYYY-MM-DD, e.g. '2026-01-01'. Got {on!r} instead.")
    return on


def describe(u: str, v: str, data: dict[str, Any]) -> str:
    area = f" @ {data['area']}" if data.get("area") else ""
    return f"edge {u!r} -{data.get('type')}→ {v!r}{area}"


def catalogue_problems(graph: nx.MultiDiGraph) -> list[str]:
    """Sources, dates and conflicting leads of every ``leads``/``assists`` edge, as readable lines."""
    out: list[str] = []
    leads: dict[tuple[str, str | None], list[tuple[str, str, str]]] = defaultdict(list)
    for u, v, data in graph.edges(data=True):
        if data.get("type") not in DUTIES:
            continue
        missing_source = [] if str(data.get("source") or "").strip() else [_NO_SOURCE]
        dates = _date_problems(data)
        out += [f"{describe(u, v, data)}: {problem}" for problem in missing_source + dates]
        if data["type"] == "leads" and not dates:  # overlaps are only meaningful between well-formed windows
            leads[(v, data.get("area"))].append((*window(data), u))
    for (category, area), entries in leads.items():
        label = graph.nodes[category].get("label", "")
        out += _overlaps(f"{label} ({category})", area, entries)
    return out


_NO_SOURCE = "no source; cite where the duty comes from, e.g. source='三定方案 (2024)' or source='南村镇属地职责清单'"


def _date_problems(data: dict[str, Any]) -> list[str]:
    out = []
    for key in ("valid_from", "valid_to"):
        value = data.get(key)
        if value not in (None, "") and not is_iso_day(value):
            out.append(f"{key} {value!r} is not an ISO date; write YYYY-MM-DD, e.g. '2026-01-01'")
    first, last = str(data.get("valid_from")), str(data.get("valid_to"))
    if is_iso_day(first) and is_iso_day(last) and first > last:
        out.append(
            f"valid_from {first} is after valid_to {last}, so the entry is never in force; fix or swap the dates"
        )
    return out


def _overlaps(category: str, area: str | None, entries: list[tuple[str, str, str]]) -> list[str]:
    """Leads for one (category, area) sorted by first day: each must start after every earlier one ends."""
    out, latest = [], None
    for first, last, dept in sorted(entries):
        if latest is not None and first <= latest[1]:
            out.append(
                f"conflicting leads for {category} @ {area or 'city-wide'}: {latest[2]!r} "
                f"[{_days(latest)}] and {dept!r} [{_days((first, last))}] are both in force from {first}; "
                "end one (valid_to) before the other starts (valid_from), or make one an 'assists' edge"
            )
        if latest is None or last > latest[1]:
            latest = (first, last, dept)
    return out


def _days(span: tuple[str, ...]) -> str:
    first, last = span[0], span[1]
    return f"{'' if first == BEGINNING else first}..{'' if last == END else last}"
