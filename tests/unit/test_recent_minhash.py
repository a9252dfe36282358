"""The recent-report store's MinHash signatures: duplicates found as exact bigram Jaccard finds them, a byte
budget kept, the saved records answering as the store did, and signatures the same in every process."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from events.recent import PERMUTATIONS, RecentReports, signature, similarities
from events.state import EventState

HOUR = 3600.0
REPO = Path(__file__).resolve().parents[2]
GARBAGE = "南村镇幸福小区门口垃圾堆放很久没人清理，臭味很大，希望尽快处理"
NOISE = "东阁街道红旗路夜间施工噪音扰民，凌晨两点还在作业"


def test_near_identical_texts_are_duplicates_and_different_ones_are_not() -> None:
    store = RecentReports()
    store.add("a", GARBAGE, "市容环境", "南村镇", "r1", 0)
    edited = store.add("b", GARBAGE.replace("很大", "特别大") + "谢谢", "市容环境", "南村镇", "r2", HOUR)
    assert [d["id"] for d in edited.duplicates] == ["a"] and 0.6 <= edited.duplicates[0]["similarity"] < 1.0
    spaced = store.add("c", " ".join(GARBAGE), "市容环境", "南村镇", "r3", HOUR)  # whitespace is not text
    assert spaced.duplicates[0] == {"id": "a", "event_id": "a", "similarity": 1.0, "at": 0.0}
    assert store.add("d", NOISE, "市容环境", "南村镇", "r4", HOUR).duplicates == []


def test_another_area_or_category_or_an_expired_report_is_never_a_duplicate() -> None:
    store = RecentReports(window_s=72 * HOUR)
    store.add("a", GARBAGE, "市容环境", "南村镇", None, 0)
    assert store.add("b", GARBAGE, "市容环境", "古岘镇", None, 1).duplicates == []
    assert store.add("c", GARBAGE, "生态环境", "南村镇", None, 2).duplicates == []
    assert store.add("d", GARBAGE, "市容环境", None, None, 3).duplicates == []
    assert store.add("e", GARBAGE, "市容环境", "南村镇", None, 73 * HOUR).duplicates == []  # a: expired
    assert "a" not in store._reports and len(store) == 1


def test_the_similarity_is_the_estimated_jaccard_and_the_threshold_holds() -> None:
    grams = {GARBAGE[i : i + 2] for i in range(len(GARBAGE) - 1)}
    for other in (GARBAGE[:20], GARBAGE[5:], GARBAGE.replace("垃圾", "杂物"), NOISE):
        other_grams = {other[i : i + 2] for i in range(len(other) - 1)}
        exact = len(grams & other_grams) / len(grams | other_grams)
        [estimate] = similarities(signature(GARBAGE), [signature(other)])
        assert abs(estimate - exact) < 0.15, other  # 3.4 standard errors at 128 slots
        store = RecentReports(similarity=0.5)
        store.add("a", GARBAGE, "市容环境", "南村镇", None, 0)
        found = store.add("b", other, "市容环境", "南村镇", None, 1).duplicates
        assert bool(found) == (estimate >= 0.5)
        assert not found or found[0]["similarity"] == round(float(estimate), 3)
    assert similarities(signature(""), [signature(""), signature("a")]).tolist() == [1.0, 0.0]


def test_the_byte_budget_is_kept_and_the_oldest_go_first() -> None:
    budget = 2**20
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        store = RecentReports(max_reports=10**6, max_bytes=budget)
        for i in range(20_000):
            store.add(f"report-{i:08d}", f"{GARBAGE}{i}号楼", "市容环境", f"镇{i % 7}", f"caller-{i:010d}", float(i))
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert store.nbytes <= budget and 1000 < len(store) < 20_000
    assert held <= budget  # what is counted covers what is held
    assert next(iter(store._reports)) == f"report-{20_000 - len(store):08d}"  # the newest kept, in order
    assert store.add("x", f"{GARBAGE}19999号楼", "市容环境", "镇5", None, 20_000.0).duplicates  # still answering


def test_records_round_trip_to_the_same_answers() -> None:
    store = RecentReports()
    texts = [GARBAGE, NOISE, GARBAGE + "，已经反映三次了", NOISE.replace("两点", "三点")]
    for i, text in enumerate(texts):
        store.add(str(i), text, "市容环境", "南村镇", "r1", float(i))
    records = json.loads(json.dumps(store.records()))
    assert len(json.dumps(records)) < 900 * len(texts)  # a signature, not the text
    again = RecentReports()
    again.restore(records)
    assert again.records() == records and again.nbytes == store.nbytes
    probe = (GARBAGE + "，请尽快", "市容环境", "南村镇", "r1", 9.0)
    assert again.add("p", *probe) == store.add("p", *probe)
    with pytest.raises(ValueError, match="signature"):
        RecentReports().restore([["a", "AAAA", "南村镇", "市容环境", None, 0.0]])


def test_signatures_are_the_same_in_another_process() -> None:
    code = f"from events.recent import signature; print(signature({GARBAGE!r}).hex())"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(REPO), "PYTHONHASHSEED": "12345"})  # fmt: skip
    assert out.stdout.strip() == signature(GARBAGE).hex() and len(signature(GARBAGE)) == 4 * PERMUTATIONS


def test_a_state_file_of_the_bigram_format_is_set_aside(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "event_state.json"
    old = {"format": 1, "recent": [["a", "南村村镇", "南村镇", "市容环境", None, 0.0]], "timers": [], "hours": []}
    path.write_text(json.dumps(old, ensure_ascii=False), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="citymind.events"):
        state = EventState(path)
    assert len(state.recent) == 0 and (tmp_path / "event_state.json.unreadable").exists()
    state.close()


@pytest.mark.realdata
def test_on_real_messages_the_exact_pairs_are_found(shared_data: Path) -> None:
    sys.path.insert(0, str(REPO))
    from benchmarks.bench_duplicates import ExactRecentReports, pairs, stream

    rows, _ = stream()
    exact = pairs(ExactRecentReports(max_duplicates=10**6), rows, lambda seen: seen[0])
    found = pairs(RecentReports(max_duplicates=10**6), rows, lambda seen: seen.duplicates)
    assert len(exact) > 1000
    assert len(exact.keys() & found.keys()) >= 0.95 * len(exact)
    assert len(exact.keys() & found.keys()) >= 0.95 * len(found)
