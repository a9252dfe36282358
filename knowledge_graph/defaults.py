"""The Pingdu default knowledge shipped with citymind: areas, departments, taxonomy and dispatch catalogue."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from knowledge_graph.graph import CityKnowledge

PINGDU_YAML = Path(__file__).with_name("defaults") / "pingdu.yaml"
SCHEME = "pingdu"


def load_pingdu(path: Path = PINGDU_YAML) -> CityKnowledge:
    """Build and validate the default graph from ``defaults/pingdu.yaml``."""
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    kg = CityKnowledge()
    city = spec["city"]
    kg.add_node(city["id"], "Area", city["label"], level="市", division_code=city["division_code"])
    for area in spec["areas"]:
        kg.add_node(area["id"], "Area", area["label"], alt=area.get("alt", []), level=area["type"])
        kg.add_edge(area["id"], city["id"], "part_of")
        suffix = "办事处" if area["type"] == "街道" else ("人民政府" if area["type"] == "镇" else "管委会")
        gov = f"dept:gov-{area['id'].split(':', 1)[1]}"
        kg.add_node(gov, "Department", area["label"] + suffix, status="default-to-confirm", local=True)
        kg.add_edge(gov, area["id"], "located_in")
    for dept in spec["departments"]:
        kg.add_node(
            dept["id"],
            "Department",
            dept["label"],
            status="default-to-confirm",
            **({"transfer": dept["transfer"]} if "transfer" in dept else {}),
        )
    source = spec["dispatch_source"]
    for number, (top, entry) in enumerate(spec["categories"].items(), start=1):
        top_id = _category(kg, f"{number:02d}", top, entry)
        _duties(kg, top_id, entry, spec["areas"], source)
        for sub, (leaf, leaf_entry) in enumerate(entry.get("children", {}).items(), start=1):
            leaf_id = _category(kg, f"{number:02d}.{sub:02d}", leaf, leaf_entry)
            kg.add_edge(leaf_id, top_id, "broader")
            _duties(kg, leaf_id, leaf_entry, spec["areas"], source)
    return kg.validate()


def _category(kg: CityKnowledge, notation: str, label: str, entry: dict[str, Any]) -> str:
    node = f"{SCHEME}:{notation}"
    kg.add_node(
        node,
        "EventCategory",
        label,
        notation=notation,
        scheme=SCHEME,
        alt=entry.get("alt", []),
        hidden=entry.get("hidden", []),
    )
    return node


def _duties(kg: CityKnowledge, category: str, entry: dict[str, Any], areas: list[dict[str, Any]], source: str) -> None:
    """City-wide lead/assists; with ``local: true`` each 街道/镇 government leads in its own area (属地管理)
    and the city department assists there."""
    if "lead" not in entry:
        return
    kg.add_edge(entry["lead"], category, "leads", source=source)
    for dept in entry.get("assists", []):
        kg.add_edge(dept, category, "assists", source=source)
    if entry.get("local"):
        for area in areas:
            gov = f"dept:gov-{area['id'].split(':', 1)[1]}"
            kg.add_edge(gov, category, "leads", area=area["id"], source=f"{area['label']}属地职责清单 (default)")
            kg.add_edge(entry["lead"], category, "assists", area=area["id"], source=source)
