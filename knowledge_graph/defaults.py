"""The Pingdu default knowledge shipped with citymind: areas, departments, taxonomy, dispatch catalogue and the
regulations that govern its categories, each citing its source."""

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
    _places(kg, spec)
    categories: dict[str, str] = {}
    for number, (top, entry) in enumerate(spec["categories"].items(), start=1):
        top_id = categories[top] = _category(kg, f"{number:02d}", top, entry, spec["sources"]["taxonomy"])
        _duties(kg, top_id, entry, spec)
        for sub, (leaf, leaf_entry) in enumerate(entry.get("children", {}).items(), start=1):
            leaf_id = categories[leaf] = _category(kg, f"{number:02d}.{sub:02d}", leaf, leaf_entry, "")
            kg.add_edge(leaf_id, top_id, "broader")
            _duties(kg, leaf_id, leaf_entry, spec)
    for reg in spec.get("regulations", []):
        _regulation(kg, reg, categories)
    return kg.validate()


def _places(kg: CityKnowledge, spec: dict[str, Any]) -> None:
    """The city, its 街道/镇 with their governments, the municipal departments and the cited documents."""
    city, sources = spec["city"], spec["sources"]
    divisions = sources["divisions"]
    kg.add_node(city["id"], "Area", city["label"], level="市", division_code=city["division_code"], source=divisions)
    for doc in spec["documents"]:
        kg.add_node(doc["id"], "Document", doc["label"], path=doc["path"])
        kg.add_edge(doc["id"], city["id"], "located_in")
    for area in spec["areas"]:
        kg.add_node(area["id"], "Area", area["label"], alt=area.get("alt", []), level=area["type"], source=divisions)
        kg.add_edge(area["id"], city["id"], "part_of", source=divisions)
        suffix = "办事处" if area["type"] == "街道" else ("人民政府" if area["type"] == "镇" else "管委会")
        gov = _government(area)
        kg.add_node(gov, "Department", area["label"] + suffix, status="default-to-confirm", local=True)
        kg.add_edge(gov, area["id"], "located_in")
    for dept in spec["departments"]:
        extra = {"transfer": dept["transfer"]} if "transfer" in dept else {}
        kg.add_node(
            dept["id"], "Department", dept["label"], status="default-to-confirm", source=sources["departments"], **extra
        )


def _government(area: dict[str, Any]) -> str:
    return f"dept:gov-{area['id'].split(':', 1)[1]}"


def _category(kg: CityKnowledge, notation: str, label: str, entry: dict[str, Any], source: str) -> str:
    node = f"{SCHEME}:{notation}"
    extra = {"source": source} if source else {}
    kg.add_node(
        node,
        "EventCategory",
        label,
        notation=notation,
        scheme=SCHEME,
        alt=entry.get("alt", []),
        hidden=entry.get("hidden", []),
        **extra,
    )
    return node


def _duties(kg: CityKnowledge, category: str, entry: dict[str, Any], spec: dict[str, Any]) -> None:
    """City-wide lead/assists; with ``local: true`` each 街道/镇 government leads in its own area (属地管理)
    and the city department assists there; ``areas: {area id: {lead, assists, source}}`` names another lead in
    an area (it replaces the 属地 lead there)."""
    if "lead" not in entry:
        return
    source = spec["dispatch_source"]
    kg.add_edge(entry["lead"], category, "leads", source=source)
    for dept in entry.get("assists", []):
        kg.add_edge(dept, category, "assists", source=source)
    overrides: dict[str, dict[str, Any]] = entry.get("areas") or {}
    for area_id, duty in overrides.items():
        kg.add_edge(duty["lead"], category, "leads", area=area_id, source=duty.get("source") or source)
        for dept in duty.get("assists", []):
            kg.add_edge(dept, category, "assists", area=area_id, source=duty.get("source") or source)
    if entry.get("local"):
        for area in (a for a in spec["areas"] if a["id"] not in overrides):
            local = spec["sources"]["local"].format(area=area["label"])
            kg.add_edge(_government(area), category, "leads", area=area["id"], source=local)
            kg.add_edge(entry["lead"], category, "assists", area=area["id"], source=source)


def _regulation(kg: CityKnowledge, reg: dict[str, Any], categories: dict[str, str]) -> None:
    kg.add_node(reg["id"], "Regulation", reg["label"], alt=reg.get("alt", []), kind=reg["kind"], issuer=reg["issuer"])
    for label in reg["governs"]:
        source = f"《{reg['label']}》 ({reg['kind']}, {reg['issuer']}); its scope → {label}: citymind default mapping"
        kg.add_edge(reg["id"], categories[label], "governs", source=source)
