"""The dispatch catalogue's dated entries, conflicts, sources and coverage, on a two-town graph."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from knowledge_graph.errors import AmbiguousConcept, KnowledgeError
from knowledge_graph.graph import CityKnowledge


def two_towns() -> CityKnowledge:
    """平度市 with 东阁街道 and 南村镇; 市容环境 > 垃圾清运; no duties yet."""
    kg = CityKnowledge()
    kg.add_node("area:city", "Area", "平度市")
    for node, label in (("area:donge", "东阁街道"), ("area:nancun", "南村镇")):
        kg.add_node(node, "Area", label)
        kg.add_edge(node, "area:city", "part_of")
    kg.add_node("cat:env", "EventCategory", "市容环境", notation="01", scheme="s")
    kg.add_node("cat:trash", "EventCategory", "垃圾清运", notation="01.01", scheme="s")
    kg.add_edge("cat:trash", "cat:env", "broader")
    for node, label in (
        ("dept:city", "市城市管理局"),
        ("dept:housing", "市住房和城乡建设局"),
        ("dept:nancun", "南村镇人民政府"),
    ):
        kg.add_node(node, "Department", label)
    return kg


def test_one_department_leads_again_after_a_handover() -> None:
    kg = two_towns()
    kg.add_edge("dept:city", "cat:trash", "leads", source="三定方案 2019", valid_to="2024-12-31")
    kg.add_edge(
        "dept:housing", "cat:trash", "leads", source="改革 2025", valid_from="2025-01-01", valid_to="2025-12-31"
    )
    kg.add_edge("dept:city", "cat:trash", "leads", source="三定方案 2026", valid_from="2026-01-01")
    kg.validate()
    answers = [kg.dispatch("垃圾清运", on=day) for day in ("2024-06-01", "2025-06-01", "2026-06-01")]
    assert [(a.lead, a.source) for a in answers] == [
        ("市城市管理局", "三定方案 2019"),
        ("市住房和城乡建设局", "改革 2025"),
        ("市城市管理局", "三定方案 2026"),
    ]
    assert kg.graph.number_of_edges("dept:city", "cat:trash") == 2


def test_dispatch_without_a_date_answers_for_today() -> None:
    kg = two_towns()
    today, tomorrow = date.today().isoformat(), (date.today() + timedelta(days=1)).isoformat()
    kg.add_edge("dept:city", "cat:trash", "leads", source="1998 文件", valid_to="2001-12-31")
    kg.add_edge("dept:housing", "cat:trash", "leads", source="三定方案", valid_from="2002-01-01", valid_to=today)
    kg.add_edge("dept:nancun", "cat:trash", "leads", source="下一轮改革", valid_from=tomorrow)
    assert kg.validate().dispatch("垃圾清运").lead == "市住房和城乡建设局"
    assert kg.dispatch("垃圾清运", on="2001-06-01").lead == "市城市管理局"
    with pytest.raises(KnowledgeError, match=r"ISO day YYYY-MM-DD, e\.g\. '2026-01-01'\. Got '2026/01/01' instead"):
        kg.dispatch("垃圾清运", on="2026/01/01")


def test_two_leads_in_force_at_once_are_rejected() -> None:
    kg = two_towns()
    kg.add_edge("dept:city", "cat:trash", "leads", source="a", valid_from="2020-01-01", valid_to="2025-12-31")
    kg.add_edge("dept:housing", "cat:trash", "leads", source="b", valid_from="2025-06-01")
    kg.add_edge("dept:nancun", "cat:trash", "leads", area="area:nancun", source="属地")  # another area: fine
    with pytest.raises(KnowledgeError) as error:
        kg.validate()
    assert str(error.value) == (
        "invalid knowledge graph:\n  conflicting leads for 垃圾清运 (cat:trash) @ city-wide: 'dept:city' "
        "[2020-01-01..2025-12-31] and 'dept:housing' [2025-06-01..] are both in force from 2025-06-01; end one "
        "(valid_to) before the other starts (valid_from), or make one an 'assists' edge"
    )


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ({}, "edge 'dept:city' -leads→ 'cat:trash': no source; cite where the duty comes from"),
        ({"source": "x", "valid_from": "2026/01/01"}, "valid_from '2026/01/01' is not an ISO date; write YYYY-MM-DD"),
        ({"source": "x", "valid_to": "2026-02-30"}, "valid_to '2026-02-30' is not an ISO date"),
        (
            {"source": "x", "valid_from": "2026-01-01", "valid_to": "2025-12-31"},
            "valid_from 2026-01-01 is after valid_to 2025-12-31, so the entry is never in force",
        ),
    ],
)
def test_catalogue_entries_need_a_source_and_ordered_iso_dates(attrs: dict[str, str], message: str) -> None:
    kg = two_towns()
    kg.add_edge("dept:city", "cat:trash", "leads", **attrs)
    with pytest.raises(KnowledgeError, match=message):
        kg.validate()


def test_an_assist_without_a_source_is_rejected_too() -> None:
    kg = two_towns()
    kg.add_edge("dept:housing", "cat:trash", "assists", area="area:donge")
    with pytest.raises(KnowledgeError, match="'dept:housing' -assists→ 'cat:trash' @ area:donge: no source"):
        kg.validate()


def test_an_ambiguous_label_lists_its_candidates_with_codes() -> None:
    kg = two_towns()
    kg.add_node("cat:road", "EventCategory", "道路交通", notation="02", scheme="s")
    for node, parent, code in (("cat:env-other", "cat:env", "01.02"), ("cat:road-other", "cat:road", "02.01")):
        kg.add_node(node, "EventCategory", "其他", notation=code, scheme="s")
        kg.add_edge(node, parent, "broader")
    with pytest.raises(AmbiguousConcept) as error:
        kg.validate().resolve("其他", "EventCategory")
    assert str(error.value) == (
        "'其他' names 2 EventCategory nodes: 其他 (code 01.02, id cat:env-other, under 市容环境); "
        "其他 (code 02.01, id cat:road-other, under 道路交通). Use a code or an id."
    )
    assert kg.resolve("02.01", "EventCategory") == "cat:road-other"


def test_coverage_needs_a_city_wide_lead_and_lists_the_areas_left_out() -> None:
    kg = two_towns()
    kg.add_edge("dept:nancun", "cat:trash", "leads", area="area:nancun", source="南村镇属地职责清单")
    report = kg.validate().coverage()
    assert (report["covered"], report["without_lead"]) == (0, ["垃圾清运"])
    assert report["gaps"] == [
        {"category": "垃圾清运", "id": "cat:trash", "missing_in": ["city-wide", "平度市", "东阁街道"]}
    ]
    assert kg.dispatch("垃圾清运", "南村镇").lead == "南村镇人民政府"
    for area in (None, "平度市", "东阁街道"):  # exactly the gaps reported
        with pytest.raises(KnowledgeError, match="no department leads '垃圾清运'"):
            kg.dispatch("垃圾清运", area)
    kg.add_edge("dept:city", "cat:env", "leads", source="三定方案")  # city-wide, on the broader category
    assert kg.coverage()["covered"] == 1 and kg.coverage()["gaps"] == []


def test_coverage_ignores_expired_leads() -> None:
    kg = two_towns()
    kg.add_edge("dept:city", "cat:trash", "leads", source="1998 文件", valid_to="2001-12-31")
    assert kg.validate().coverage()["without_lead"] == ["垃圾清运"]
    assert kg.coverage(on="2001-01-01")["covered"] == 1
