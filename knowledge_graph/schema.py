"""The city knowledge graph's schema as code: node types, edge types and what each edge may connect.

| edge        | from → to                                   | tree? | attributes                                  |
|-------------|---------------------------------------------|-------|---------------------------------------------|
| broader     | EventCategory → EventCategory               | yes   |                                             |
| part_of     | Area → Area                                 | yes   |                                             |
| leads       | Department → EventCategory                  |       | source, area (optional), valid_from/to      |
| assists     | Department → EventCategory                  |       | source, area (optional), valid_from/to      |
| governs     | Regulation → EventCategory                  |       | source                                      |
| monitors    | Sensor/Camera → Indicator/Area              |       |                                             |
| located_in  | Department/Sensor/Camera/Case/Document → Area |     |                                             |
| uses        | Model/Rule → any                            |       |                                             |
"""

from __future__ import annotations

from dataclasses import dataclass

NODE_TYPES = frozenset(
    {
        "EventCategory",
        "Department",
        "Area",
        "Regulation",
        "Sensor",
        "Camera",
        "Indicator",
        "Document",
        "Case",
        "Model",
        "Rule",
    }
)


@dataclass(frozen=True)
class EdgeType:
    sources: frozenset[str]
    targets: frozenset[str]
    tree: bool = False  # every node has at most one outgoing edge of this type and there is no cycle


_ANY = NODE_TYPES
EDGE_TYPES: dict[str, EdgeType] = {
    "broader": EdgeType(frozenset({"EventCategory"}), frozenset({"EventCategory"}), tree=True),
    "part_of": EdgeType(frozenset({"Area"}), frozenset({"Area"}), tree=True),
    "leads": EdgeType(frozenset({"Department"}), frozenset({"EventCategory"})),
    "assists": EdgeType(frozenset({"Department"}), frozenset({"EventCategory"})),
    "governs": EdgeType(frozenset({"Regulation"}), frozenset({"EventCategory"})),
    "monitors": EdgeType(frozenset({"Sensor", "Camera"}), frozenset({"Indicator", "Area"})),
    "located_in": EdgeType(frozenset({"Department", "Sensor", "Camera", "Case", "Document"}), frozenset({"Area"})),
    "uses": EdgeType(frozenset({"Model", "Rule"}), _ANY),
}

#: Node attributes holding lists (SKOS alternative and hidden labels); GraphML stores them as JSON.
LIST_ATTRIBUTES = ("alt", "hidden")
