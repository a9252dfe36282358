"""The city knowledge graph: schema validation, Pingdu defaults, dispatch with fallbacks, lookups, persistence."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from knowledge_graph.defaults import load_pingdu
from knowledge_graph.errors import AmbiguousConcept, KnowledgeError, UnknownConcept
from knowledge_graph.graph import CityKnowledge


@pytest.fixture(scope="module")
def pingdu() -> CityKnowledge:
    return load_pingdu()


def test_pingdu_defaults_have_17_divisions_and_cover_every_leaf(pingdu: CityKnowledge) -> None:
    divisions = [
        n for n, d in pingdu.graph.nodes(data=True) if d["type"] == "Area" and d.get("level") in {"街道", "镇"}
    ]
    assert len(divisions) == 17
    coverage = pingdu.coverage()
    assert coverage["without_lead"] == [] and coverage["covered"] == coverage["leaf_categories"] >= 50
    for leaf in pingdu.leaf_categories():
        for _, _, data in pingdu.graph.in_edges(leaf, data=True):
            if data["type"] in {"leads", "assists"}:
                assert data["source"], f"{leaf} has a duty without a source"


def test_dispatch_prefers_the_local_duty_and_explains_it(pingdu: CityKnowledge) -> None:
    local = pingdu.dispatch("垃圾清运", "南村镇")
    assert (local.lead, local.assists) == ("南村镇人民政府", ("市城市管理局",))
    assert local.path == (
        "垃圾清运 @ 南村镇: 南村镇人民政府 leads (南村镇属地职责清单 (default: 属地管理, to confirm with 南村镇))",
    )
    city = pingdu.dispatch("垃圾清运")
    assert city.lead == "市城市管理局" and city.area is None


def test_dispatch_falls_back_up_the_area_tree_and_resolves_alt_labels(pingdu: CityKnowledge) -> None:
    gas = pingdu.dispatch("燃气泄漏", "东阁街道")
    assert gas.category == "燃气安全" and gas.lead == "平度市消防救援大队"
    assert gas.path[0] == "燃气安全 @ 东阁街道: no lead listed" and "city-wide" in gas.path[-1]
    assert set(gas.assists) == {"市应急管理局", "市城市管理局"}


def test_dispatch_falls_back_up_the_category_tree() -> None:
    kg = load_pingdu()
    kg.add_node("pingdu:01.99", "EventCategory", "井盖异响", notation="01.99", scheme="pingdu", alt=[], hidden=[])
    kg.add_edge("pingdu:01.99", "pingdu:01", "broader")
    answer = kg.validate().dispatch("井盖异响", "李园街道")
    assert answer.lead == "市城市管理局" and answer.path[-1].startswith("市容环境 @ city-wide")
    assert len(answer.path) == 6  # 3 areas (李园街道, 平度市, city-wide) × 2 categories


def test_a_subcategory_named_like_its_parent_means_the_parent_and_unrelated_namesakes_stay_ambiguous() -> None:
    kg = load_pingdu()  # real catalogues do this: 交通运输 › 交通运输 (the 517-row TipDM one)
    kg.add_node("pingdu:01.98", "EventCategory", "市容环境", notation="01.98", scheme="pingdu", alt=[], hidden=[])
    kg.add_edge("pingdu:01.98", "pingdu:01", "broader")
    assert kg.validate().resolve("市容环境", "EventCategory") == "pingdu:01"
    kg.add_node("other:01", "EventCategory", "市容环境", notation="01", scheme="other", alt=[], hidden=[])
    with pytest.raises(AmbiguousConcept, match="names 3 EventCategory nodes"):
        kg.resolve("市容环境", "EventCategory")


def test_unknown_category_or_area_suggests_close_matches(pingdu: CityKnowledge) -> None:
    with pytest.raises(UnknownConcept, match="Did you mean 垃圾清运"):
        pingdu.dispatch("垃圾青运")
    with pytest.raises(UnknownConcept, match=r"no Area named '南村县'\. Did you mean 南村镇"):
        pingdu.dispatch("垃圾清运", "南村县")
    assert pingdu.lookup("拉圾清运")[0].label == "垃圾清运"  # hidden label: a common misspelling


def test_a_dated_local_entry_holds_only_inside_its_window() -> None:
    kg = load_pingdu()
    kg.add_edge(
        "dept:gov-donge",
        "pingdu:01.02",  # 路灯照明: city-wide only in the defaults
        "leads",
        area="area:donge",
        source="东阁街道路灯移交协议 2027",
        valid_from="2027-01-01",
        valid_to="2027-12-31",
    )
    leads = [
        kg.validate().dispatch("路灯照明", "东阁街道", on=day).lead
        for day in ("2026-12-31", "2027-06-01", "2028-01-01")
    ]
    assert leads == ["市城市管理局", "东阁街道办事处", "市城市管理局"]
    assert kg.dispatch("路灯照明", "李园街道", on="2027-06-01").lead == "市城市管理局"


def test_regulations_govern_categories_and_cite_themselves(pingdu: CityKnowledge) -> None:
    assert pingdu.regulations("油烟") == ["中华人民共和国大气污染防治法"]  # alt label of 餐饮油烟
    assert pingdu.regulations("拖欠工资") == ["保障农民工工资支付条例"]
    assert pingdu.regulations("电梯故障") == ["中华人民共和国特种设备安全法"]
    assert pingdu.regulations("路灯照明") == []
    governs = [(u, d) for u, _, d in pingdu.graph.edges(data=True) if d["type"] == "governs"]
    assert len({u for u, _ in governs}) == 9
    assert all(d["source"].startswith(f"《{pingdu.label(u)}》") for u, d in governs)


def test_defaults_cite_the_shared_context_documents(pingdu: CityKnowledge) -> None:
    city_wide = pingdu.dispatch("路灯照明").source
    assert "shared/context/PINGDU.md" in city_wide and "《数字平度发展规划(2022-2025年)》政策解读" in city_wide
    assert pingdu.graph.nodes["area:nancun"]["source"].startswith("shared/context/PINGDU.md")
    assert pingdu.graph.nodes["dept:water"]["source"].startswith("shared/context/PINGDU.md")
    documents = {d["path"] for _, d in pingdu.graph.nodes(data=True) if d["type"] == "Document"}
    assert documents == {
        "shared/context/PINGDU.md",
        "shared/context/digital_pingdu_plan_2022_2025_interpretation.txt",
    }


@pytest.mark.realdata
def test_cited_documents_exist(pingdu: CityKnowledge, shared_data: Path) -> None:
    paths = [d["path"] for _, d in pingdu.graph.nodes(data=True) if d["type"] == "Document"]
    assert paths and all((shared_data.parent.parent / p).is_file() for p in paths)


def test_queries_around_a_node(pingdu: CityKnowledge) -> None:
    assert "燃气安全" in pingdu.categories_of("平度市消防救援大队")
    assert ("out", "part_of", "area:370283") in pingdu.neighbours("area:nancun")
    assert pingdu.path("dept:gov-nancun", "area:370283") == ["dept:gov-nancun", "area:nancun", "area:370283"]
    around = pingdu.subgraph("area:nancun", radius=1)
    assert {"area:nancun", "dept:gov-nancun", "area:370283"} <= set(around.graph.nodes)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda kg: kg.add_node("x", "Building", "楼"), "unknown type 'Building'"),
        (lambda kg: kg.graph.add_edge("dept:fire", "pingdu:ghost", type="leads"), "dangling"),
        (lambda kg: kg.add_edge("pingdu:01", "pingdu:01.01", "broader"), "cycle in 'broader'"),
        (
            lambda kg: (
                kg.add_node("pingdu:01.50", "EventCategory", "路灯照明", scheme="pingdu")
                or kg.add_edge("pingdu:01.50", "pingdu:01", "broader")
            ),
            "duplicate label '路灯照明'",
        ),
        (lambda kg: kg.add_edge("area:nancun", "pingdu:01", "leads"), "is a Area, expected Department"),
    ],
)
def test_validation_rejects_broken_graphs(mutate: Callable[[CityKnowledge], object], message: str) -> None:
    kg = load_pingdu()
    mutate(kg)
    with pytest.raises(KnowledgeError, match=message):
        kg.validate()


@pytest.mark.parametrize("fmt", ["json", "graphml"])
def test_round_trip_is_lossless(pingdu: CityKnowledge, tmp_path: Path, fmt: str) -> None:
    if fmt == "json":
        again = CityKnowledge.load_json(pingdu.save_json(tmp_path / "kg.json"))
    else:
        again = CityKnowledge.load_graphml(pingdu.save_graphml(tmp_path / "kg.graphml"))
    assert again == pingdu
    assert again.dispatch("垃圾清运", "南村镇") == pingdu.dispatch("垃圾清运", "南村镇")


def test_node_link_without_edges_key_is_refused() -> None:
    with pytest.raises(KnowledgeError, match="'edges' key"):
        CityKnowledge.from_node_link({"nodes": [], "links": []})


@pytest.mark.realdata
def test_real_517_row_catalogue_imports_as_a_valid_tree(shared_data: Path) -> None:
    from knowledge_graph.taxonomy import import_catalogue

    kg = import_catalogue(shared_data / "complaints" / "tipdm2020_category_taxonomy.csv", scheme="tipdm")
    top = [n for n, d in kg.graph.nodes(data=True) if "." not in d["notation"]]
    assert len(top) == 15 and len(kg.leaf_categories()) == 517
    leaf = kg.lookup("安全隐患", "EventCategory")[0].node
    assert [kg.label(n) for n in kg.ancestors(leaf, "broader")] == ["安全隐患", "安全生产", "城乡建设"]
    assert kg.graph.nodes[leaf]["notation"] == "01.01.03"
