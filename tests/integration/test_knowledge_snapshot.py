"""Knowledge snapshots in the registry and the `citymind kg` commands on a bootstrapped home."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from knowledge_graph.defaults import load_pingdu
from knowledge_graph.snapshot import KnowledgeSnapshot
from registry import MlflowRegistry


def test_snapshot_register_load_round_trip_is_lossless(
    embedded_store: dict[str, str], tmp_path: Path, unique: str
) -> None:
    reg = MlflowRegistry(
        embedded_store["tracking_uri"],
        artifact_location=embedded_store["artifact_location"],
        cache_dir=tmp_path / "cache",
    )
    original = KnowledgeSnapshot(load_pingdu())
    version = original.register(reg, f"kg-{unique}", lineage=[{"kind": "dataset", "name": "PINGDU.md"}])
    assert version.aliases == ("production",) and version.kind.value == "knowledge"
    loaded = KnowledgeSnapshot.from_registry(reg, f"kg-{unique}@production")
    assert loaded.graph == original.graph
    assert loaded.graph.dispatch("占道经营", "白沙河街道") == original.graph.dispatch("占道经营", "白沙河街道")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    env = {
        **os.environ,
        "CITYMIND_HOME": str(tmp_path_factory.mktemp("kg-home")),
        "CITYMIND_TRACKING_URI": "",
        "CITYMIND_ARTIFACT_LOCATION": "",
    }
    from citymind.settings import Settings
    from knowledge_graph.snapshot import KnowledgeSnapshot as Snapshot

    reg = MlflowRegistry.from_settings(Settings(home=Path(env["CITYMIND_HOME"])))
    Snapshot(load_pingdu()).register(reg, "pingdu-knowledge")
    return env


def kg(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "citymind.cli", "kg", *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert (proc.returncode == 0) == ok, proc.stderr[-2000:]
    return proc


def test_kg_dispatch_coverage_and_errors(home: dict[str, str]) -> None:
    out = json.loads(kg(home, "dispatch", "占道经营", "白沙河街道", "--json").stdout)
    assert out["lead"] == "白沙河街道办事处" and set(out["assists"]) == {"市城市管理局", "市市场监督管理局"}
    assert "50/50 leaf categories have a city-wide lead department" in kg(home, "coverage").stdout
    error = kg(home, "dispatch", "占道经应", ok=False)
    assert error.returncode == 2 and "Did you mean 占道经营" in error.stderr


def test_kg_import_validate_export(home: dict[str, str], tmp_path: Path) -> None:
    catalogue = tmp_path / "catalogue.csv"
    catalogue.write_text("一级,二级\n市容环境,垃圾清运\n市容环境,路灯照明\n道路交通,\n", encoding="utf-8")
    out = tmp_path / "taxonomy.graphml"
    alone = kg(home, "import", str(catalogue), "--scheme", "demo", "--out", str(out), "--into", "").stdout
    assert alone.strip() == f"{out}: 4 categories, 3 leaves"
    assert "valid (4 nodes, 2 edges)" in kg(home, "validate", str(out)).stdout
    merged = tmp_path / "merged.json"  # by default into the served graph: its areas and departments stay
    added = kg(home, "import", str(catalogue), "--scheme", "demo", "--out", str(merged)).stdout
    assert added.strip() == f"{merged}: 4 categories, 3 leaves, added to the 125 nodes of pingdu-knowledge@production"
    refused = kg(home, "register", str(out), ok=False)
    assert refused.returncode == 2 and "the graph has none of the 19 Area, 36 Department" in refused.stderr
    exported = tmp_path / "pingdu.json"
    kg(home, "export", str(exported))
    assert json.loads(exported.read_text(encoding="utf-8"))["edges"]
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"nodes": [{"id": "a", "type": "Building", "label": "x"}], "edges": []}))
    error = kg(home, "validate", str(broken), ok=False)
    assert "unknown type 'Building'" in error.stderr


def test_kg_index_then_search_and_the_snapshot_round_trip(home: dict[str, str], tmp_path: Path) -> None:
    cases = tmp_path / "cases.csv"
    cases.write_text(
        "标题,内容,答复\n南村镇垃圾堆放,小区门口垃圾没人清理,南村镇已组织环卫人员清运垃圾。\n"
        "东阁街道路灯不亮,晚上很黑,市城市管理局已更换路灯线路。\n"
        "公司拖欠工资,三个月没发,劳动监察大队已督促支付工资。\n",
        encoding="utf-8",
    )
    assert (
        "graph + 3 cases (svd)"
        in kg(
            home,
            "index",
            "--cases",
            str(cases),
            "--title-col",
            "标题",
            "--text-col",
            "内容",
            "--reply-col",
            "答复",
            "--embedder",
            "svd",
        ).stdout
    )
    hits = json.loads(kg(home, "search", "路灯坏了", "--k", "2", "--json").stdout)
    assert hits[0]["title"] == "东阁街道路灯不亮" and len(hits) == 2

    from citymind.settings import Settings

    reg = MlflowRegistry.from_settings(Settings(home=Path(home["CITYMIND_HOME"])))
    loaded = KnowledgeSnapshot.from_registry(reg, "pingdu-knowledge@production")
    assert loaded.cases is not None and loaded.graph == load_pingdu()
    again = KnowledgeSnapshot.load(loaded.save(tmp_path / "again"))
    assert [h.case for h in again.cases.search("拖欠工资", 3)] == [h.case for h in loaded.cases.search("拖欠工资", 3)]
    assert [r.name for r in reg.lineage("pingdu-knowledge", 2)] == ["pingdu-knowledge", "cases.csv"]
    assert loaded.similar_cases("工资被拖欠", 1)[0].case.reply == "劳动监察大队已督促支付工资。"


def test_search_without_a_case_index_says_how_to_build_one(home: dict[str, str]) -> None:
    error = kg(home, "search", "路灯", "--ref", "pingdu-knowledge/1", ok=False)
    assert "has no case index; build one with `citymind kg index`" in error.stderr


def test_kg_index_accepts_documents_without_replies(home: dict[str, str], tmp_path: Path) -> None:
    documents = tmp_path / "regulations.csv"
    documents.write_text(
        "名称,条文\n城镇燃气管理条例,燃气经营者应当对燃气设施定期进行巡查、检测、维修和维护\n"
        "保障农民工工资支付条例,用人单位应当按照约定的日期足额支付农民工工资\n",
        encoding="utf-8",
    )
    args = ["index", "--cases", str(documents), "--title-col", "名称", "--text-col", "条文", "--embedder", "none"]
    assert "pingdu-knowledge/3 @production: graph + 2 cases (none)" in kg(home, *args).stdout
    hits = json.loads(kg(home, "search", "燃气设施多久巡查一次", "--k", "1", "--json").stdout)
    assert (hits[0]["title"], hits[0]["reply"]) == ("城镇燃气管理条例", "")
    error = kg(home, "index", "--cases", str(documents), "--title-col", "标题", ok=False)
    assert "no column(s) ['标题']; its columns are ['名称', '条文']" in error.stderr


def test_kg_register_validates_then_adds_a_version_keeping_the_cases(home: dict[str, str], tmp_path: Path) -> None:
    exported = tmp_path / "pingdu.json"
    kg(home, "export", str(exported))
    data = json.loads(exported.read_text(encoding="utf-8"))
    handover = {"from": "dept:gov-donge", "to": "pingdu:01.02", "type": "leads", "area": "area:donge"}
    data["edges"].append({**handover, "source": "东阁街道路灯移交协议", "valid_from": "2099-01-01"})
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    out = kg(home, "register", str(edited)).stdout
    assert out.startswith("pingdu-knowledge/4 @production: 125 nodes") and "case index of version 3" in out
    later = json.loads(kg(home, "dispatch", "路灯照明", "东阁街道", "--on", "2099-06-01", "--json").stdout)
    now = json.loads(kg(home, "dispatch", "路灯照明", "东阁街道", "--json").stdout)
    assert (later["lead"], now["lead"]) == ("东阁街道办事处", "市城市管理局")
    assert json.loads(kg(home, "search", "燃气巡查", "--k", "1", "--json").stdout)[0]["title"] == "城镇燃气管理条例"

    data["edges"].append({**handover, "source": "", "valid_from": "2099-06-01"})
    edited.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    error = kg(home, "register", str(edited), ok=False).stderr
    assert "no source; cite where the duty comes from" in error and "conflicting leads for 路灯照明" in error
    out = kg(home, "register", str(exported), "--no-cases", "--alias", "").stdout
    assert out.startswith("pingdu-knowledge/5: ") and "case index" not in out
    assert (
        json.loads(kg(home, "dispatch", "路灯照明", "东阁街道", "--on", "2099-06-01", "--json").stdout)["lead"]
        == "东阁街道办事处"
    )
