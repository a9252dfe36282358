"""``geo.resolve_area``: which sub-district, town or community a report is about, from the graph's area names."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from models.components.base import Component

#: how people write an area's office: 东阁街道办事处, 东阁街办, 南村镇政府 ...
_SUFFIXES = ("街道办事处", "街道办", "街办", "办事处", "镇人民政府", "镇政府", "街道", "镇", "社区", "村")
_OTHER_LEVELS = set("乡县区市省州")
_LEVEL_RANK = {"市": 0, "功能区": 1, "街道": 1, "镇": 1, "社区": 2, "村": 2}


@dataclass(frozen=True)
class _Area:
    id: str
    label: str
    level: str
    parent: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "level": self.level, "parent": self.parent}


class AreaResolver(Component):
    """Finds the area a report mentions, by the knowledge graph's area labels, alternative and hidden labels
    and the usual ways of writing an office (``东阁街办``, ``南村镇政府``). The longest mention wins, a deeper
    area (a community) over its town on a tie; with no exact mention, a town or street written with one wrong
    character (``崔家及镇`` for 崔家集镇) is matched and marked ``fuzzy``. ``knowledge`` is a registered snapshot
    (``pingdu-knowledge@production``), or None for the Pingdu defaults shipped with citymind.

    >>> AreaResolver()({"text": "南村镇政府门口的路灯坏了"})["area"]["label"]
    '南村镇'
    """

    name = "geo.resolve_area"
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["text"],
        "properties": {"text": {"type": "string"}},
    }
    output_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["area", "area_match"],
        "properties": {
            "area": {"type": ["object", "null"], "properties": {"id": {"type": "string"}, "label": {"type": "string"}}},
            "area_match": {
                "type": ["object", "null"],
                "properties": {
                    "text": {"type": "string"},
                    "start": {"type": "integer"},
                    "end": {"type": "integer"},
                    "method": {"enum": ["exact", "fuzzy"]},
                },
            },
        },
    }

    examples: ClassVar[list[dict[str, Any]]] = [
        {"text": "南村镇政府门口的路灯坏了"},
        {"text": "东阁街办附近夜里施工噪音扰民"},
        {"text": "崔家及镇有人焚烧秸秆"},
        {"text": "不知道该找哪个部门"},
    ]

    def __init__(self, knowledge: str | None = None, city_level: bool = False) -> None:
        self.knowledge = knowledge
        self.city_level = city_level

    def load(self, registry: Any = None) -> None:
        graph = self._graph(registry)
        self._areas: dict[str, _Area] = {}
        names: dict[str, str] = {}
        for node, data in graph.nodes(data=True):
            if data.get("type") != "Area" or (data.get("level") == "市" and not self.city_level):
                continue
            parents = [v for _, v, d in graph.out_edges(node, data=True) if d.get("type") == "part_of"]
            self._areas[node] = _Area(node, data["label"], data.get("level", ""), parents[0] if parents else None)
            for name in self._names(data):
                names.setdefault(name, node)  # the first area to claim a name keeps it
        self._by_name = names
        ordered = sorted(names, key=lambda n: (-len(n), n))
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        self._cores = {self._core(a.label): a.id for a in self._areas.values() if len(self._core(a.label)) >= 3}

    def _graph(self, registry: Any) -> Any:
        if self.knowledge is None:
            from knowledge_graph.defaults import load_pingdu

            return load_pingdu().graph
        from knowledge_graph.snapshot import KnowledgeSnapshot

        if registry is None:
            from registry import MlflowRegistry

            registry = MlflowRegistry.from_settings()
        return KnowledgeSnapshot.from_registry(registry, self.knowledge).graph.graph

    def _names(self, data: Mapping[str, Any]) -> set[str]:
        names = {data["label"], *data.get("alt", []), *data.get("hidden", [])}
        core = self._core(data["label"])
        if len(core) >= 2:
            names |= {core + suffix for suffix in _SUFFIXES}
        return {n for n in names if len(n) >= 2}

    @staticmethod
    def _core(label: str) -> str:
        return next((label[: -len(s)] for s in ("街道", "镇", "社区", "村") if label.endswith(s)), label)

    def process(self, record: Mapping[str, Any]) -> dict[str, Any]:
        text = record["text"]
        match = self._exact(text) or self._fuzzy(text)
        if match is None:
            return {"area": None, "area_match": None}
        area, start, end, method = match
        mention = {"text": text[start:end], "start": start, "end": end, "method": method}
        return {"area": self._areas[area].to_dict(), "area_match": mention}

    def _exact(self, text: str) -> tuple[str, int, int, str] | None:
        if self._pattern is None:
            return None
        found = [(self._by_name[m.group()], m.start(), m.end()) for m in self._pattern.finditer(text)]
        found = [f for f in found if f[2] - f[1] > 2 or _bare_name_stands_alone(text, f[1], f[2])]
        if not found:
            return None
        area, start, end = max(found, key=lambda f: (f[2] - f[1], _LEVEL_RANK.get(self._areas[f[0]].level, 1), -f[1]))
        return area, start, end, "exact"

    def _fuzzy(self, text: str) -> tuple[str, int, int, str] | None:
        """A written town or street (``X镇``, ``X街道``) whose name of three or more characters is one character
        off a known one; two-character names differ too easily (青山 is not 云山): their common misspellings
        belong in the graph as hidden labels."""
        for m in re.finditer(r"([\u4e00-\u9fff]{2,4}?)(街道|镇)", text):
            core = m.group(1)
            for known, area in self._cores.items():
                level = "街道" if m.group(2) == "街道" else "镇"
                if len(known) == len(core) and self._areas[area].level == level and _one_off(known, core):
                    return area, m.start(), m.end(), "fuzzy"
        return None


def _one_off(a: str, b: str) -> bool:
    return sum(x != y for x, y in zip(a, b, strict=True)) == 1


def _bare_name_stands_alone(text: str, start: int, end: int) -> bool:
    """A two-character name (``明村``, ``新河``) counts only as a word of its own, not inside ``光明村``, and not
    when another level follows (``新河乡`` is some other county's township): its ends must fall on word
    boundaries of the sentence (rjieba segmentation)."""
    import rjieba

    if text[end : end + 1] in _OTHER_LEVELS:
        return False
    bounds, at = {0}, 0
    for word in rjieba.cut(text[max(0, start - 8) : end + 8]):
        at += len(word)
        bounds.add(at)
    offset = max(0, start - 8)
    return start - offset in bounds and end - offset in bounds
