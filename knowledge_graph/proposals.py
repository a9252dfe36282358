"""Proposed changes to the dispatch catalogue (派单目录) written into its YAML text: another department to lead a
category in one area (an ``areas:`` entry of the category). The text is for a person to review as a diff;
nothing here registers or applies it."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from knowledge_graph.errors import KnowledgeError


@dataclass(frozen=True)
class AreaLead:
    """``lead`` (a department id) to lead ``category`` (its label, the catalogue's key) in ``area`` (an area id);
    ``source`` cites why, ``note`` is a comment for the reviewer."""

    category: str
    area: str
    lead: str
    source: str
    note: str = ""


def with_area_leads(text: str, changes: Sequence[AreaLead]) -> str:
    """The catalogue ``text`` with each category's proposed area leads added (its ``areas:`` mapping)."""
    by_category: dict[str, list[AreaLead]] = defaultdict(list)
    for change in changes:
        by_category[change.category].append(change)
    lines = text.splitlines(keepends=True)
    for category, mine in by_category.items():
        lines = _place(lines, category, mine)
    return "".join(lines)


def _place(lines: list[str], category: str, changes: list[AreaLead]) -> list[str]:
    entry = re.compile(rf"^(\s+){re.escape(category)}:(.*)$")
    start = next((i for i, line in enumerate(lines) if line.startswith("categories:")), 0)
    for i in range(start, len(lines)):
        match = entry.match(lines[i].rstrip("\n"))
        if match is None:
            continue
        indent, rest = match.groups()
        if "areas:" in rest or (not rest.strip() and _block_has_areas(lines, i, len(indent))):
            raise KnowledgeError(f"{category!r} already has an 'areas:' entry; add the proposal there by hand")
        mapping = _mapping(changes)
        comments = "".join(f"{indent}# proposed: {c.note}\n" for c in changes if c.note)
        if rest.strip().startswith("{") and rest.rstrip().endswith("}"):  # a flow entry: one line
            body = rest.rstrip()[:-1].rstrip()
            return [*lines[:i], comments, f"{indent}{category}:{body}, areas: {mapping}}}\n", *lines[i + 1 :]]
        if not rest.strip():  # a block entry: the mapping's lines follow, indented
            inner = indent + "  "
            added = comments.replace(f"{indent}#", f"{inner}#") + f"{inner}areas: {mapping}\n"
            return [*lines[: i + 1], added, *lines[i + 1 :]]
        raise KnowledgeError(f"{category!r} is written in a form the proposal cannot extend; edit it by hand")
    raise KnowledgeError(f"category {category!r} is not in the catalogue's 'categories:'")


def _block_has_areas(lines: list[str], header: int, indent: int) -> bool:
    for line in lines[header + 1 :]:
        stripped = line.lstrip()
        if stripped and not stripped.startswith("#") and len(line) - len(stripped) <= indent:
            return False
        if stripped.startswith("areas:"):
            return True
    return False


def _mapping(changes: list[AreaLead]) -> str:
    """``{area:x: {lead: dept:y, source: "..."}, ...}`` in YAML flow style."""
    items = [f"{c.area}: {{lead: {c.lead}, source: {json.dumps(c.source, ensure_ascii=False)}}}" for c in changes]
    return "{" + ", ".join(items) + "}"
