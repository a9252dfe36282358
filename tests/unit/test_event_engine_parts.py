"""Parts of the event engine that need no registry: the recent-report store (并单, repeat callers), the merge of
dispatch decisions, and the Open311 service list generated from the shipped taxonomy."""

from __future__ import annotations

import json
import logging
import os
import stat
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
import pytest

from events.decision import merge_decisions
from events.recent import RecentReports
from events.state import EventState, SharedEventState, UndoableTimers
from knowledge_graph.defaults import load_pingdu
from rules.engine import Firing, RuleEngine
from rules.loader import parse_rules
from serving.routes_catalogue import open311_services

HOUR = 3600.0


def test_duplicates_need_the_same_category_area_window_and_similar_text() -> None:
    store = RecentReports(window_s=72 * HOUR, similarity=0.5)
    assert store.add("a", "南村镇幸福小区门口垃圾堆放很久没人清理", "市容环境", "南村镇", "r1", 0).duplicates == []
    same = store.add("b", "南村镇幸福小区门口垃圾堆放很久了没人清理", "市容环境", "南村镇", "r2", HOUR)
    assert [d["id"] for d in same.duplicates] == ["a"] and same.duplicates[0]["similarity"] >= 0.5
    assert store.add("c", "南村镇幸福小区门口垃圾堆放很久没人清理", "市容环境", "古岘镇", "r3", HOUR).duplicates == []
    assert store.add("d", "路灯坏了", "市容环境", "南村镇", "r4", HOUR).duplicates == []
    later = store.add("e", "南村镇幸福小区门口垃圾堆放很久没人清理", "市容环境", "南村镇", "r5", 80 * HOUR)
    assert later.duplicates == [] and "a" not in {r for r in store._reports}  # expired


def test_a_duplicate_names_the_earlier_event_and_the_same_id_from_two_channels_is_two_events() -> None:
    store = RecentReports()
    text = "南村镇幸福小区门口垃圾堆放很久没人清理"
    assert store.add("ev-hotline", text, "市容环境", "南村镇", None, 0, "1001").duplicates == []
    [dup] = store.add("ev-app", text, "市容环境", "南村镇", None, HOUR, "1001").duplicates  # another channel's 1001
    assert (dup["id"], dup["event_id"]) == ("1001", "ev-hotline") and len(store) == 2
    assert store.add("ev-app", text, "市容环境", "南村镇", None, HOUR, "1001").duplicates[0]["event_id"] == "ev-hotline"
    assert len(store) == 2  # the same event sent again replaced itself
    store.discard(["ev-app", "never-kept"])
    assert len(store) == 1 and store.add("ev-3", text, "市容环境", "南村镇", None, HOUR).duplicates[0]["id"] == "1001"


def test_a_state_file_written_before_reports_had_event_ids_is_read(tmp_path: Path) -> None:
    path = tmp_path / "event_state.json"
    store = RecentReports()
    store.add("gx-1", "古岘镇垃圾站垃圾堆放一周没人清理", "市容环境", "古岘镇", None, 0)
    old_rows = [row[:6] for row in store.records()]  # id, signature, area, category, reporter, time
    path.write_text(json.dumps({"format": 2, "recent": old_rows, "timers": [], "hours": []}), encoding="utf-8")
    [seen] = EventState(path).add_many(
        [("ev-2", "古岘镇垃圾站垃圾堆放一周没人清理了", "市容环境", "古岘镇", None, 60, "gx-2")]
    )
    assert [(d["id"], d["event_id"]) for d in seen.duplicates] == [("gx-1", "gx-1")]


def test_repeat_callers_are_counted_and_the_store_is_bounded() -> None:
    store = RecentReports(max_reports=3)
    counts = [
        store.add(str(i), f"第{i}次反映噪音", "生态环境", "东阁街道", "r1", float(i)).reporter_count for i in range(5)
    ]
    assert counts == [1, 2, 3, 4, 4] and len(store) == 3  # the three kept, plus this one
    assert store.add("4", "again", "生态环境", "东阁街道", "r1", 9.0).reporter_count == 3  # same id replaces itself


class StateActor:
    """An actor handle's shape (``actor.add_many.remote(...)``, then ``get(ref, timeout=...)``) over an
    ``EventState``; with no state, waiting fails as ``ray.get`` does when the actor does not answer."""

    def __init__(self, state: EventState | None) -> None:
        self.state, self.calls = state, 0

    def __getattr__(self, method: str) -> Any:
        return SimpleNamespace(remote=lambda items: self._remote(method, items))

    def _remote(self, method: str, items: list) -> Any:
        self.calls += 1
        return self.state, method, items  # the "object ref"


def wait(ref: Any, timeout: float) -> Any:
    state, method, items = ref
    if state is None:
        raise TimeoutError(f"Get timed out: some object(s) not ready after {timeout} s")
    return getattr(state, method)(items)


def shared(actor: StateActor, **options: Any) -> SharedEventState:
    return SharedEventState(actor, get=wait, **options)


def test_ingress_replicas_sharing_one_store_see_each_others_reports(caplog: pytest.LogCaptureFixture) -> None:
    state = EventState()
    one, two = shared(StateActor(state)), shared(StateActor(state))
    one.add_many([("a", "南村镇幸福小区门口垃圾堆放很久没人清理", "市容环境", "南村镇", "r1", 0)])
    [seen] = two.add_many([("b", "南村镇幸福小区门口垃圾堆放很久了没人清理", "市容环境", "南村镇", "r1", HOUR)])
    assert [d["id"] for d in seen.duplicates] == ["a"] and seen.reporter_count == 2
    handle = StateActor(None)
    down = shared(handle, retry_s=0.2)  # the state does not answer: this replica's own state does
    batch = [
        ("c", "古岘镇路灯坏了一个月", "市容环境", "古岘镇", None, 0),
        ("d", "古岘镇路灯坏了一个月了", "市容环境", "古岘镇", None, HOUR),
    ]
    with caplog.at_level(logging.WARNING, logger="citymind.events"):
        first, again = down.add_many(batch)  # a batch's own duplicates are found too
    assert first.duplicates == [] and [d["id"] for d in again.duplicates] == ["c"]
    assert "did not answer (Get timed out" in caplog.text
    down.add_many([("e", "路灯", "市容环境", "古岘镇", None, HOUR)])
    assert handle.calls == 1  # within retry_s no request waits on a state that did not answer
    status = down.status()  # what /v1/health says meanwhile
    assert (
        status["answering"] is False and 0 < status["asked_again_in_s"] <= 0.2 and status["own"]["recent_reports"] == 3
    )
    handle.state = state
    time.sleep(0.25)
    [seen] = down.add_many([("f", "南村镇幸福小区门口垃圾堆放很久没人清理了", "市容环境", "南村镇", "r1", HOUR)])
    assert handle.calls == 2 and {d["id"] for d in seen.duplicates} == {"a", "b"}  # asked again: it answers


def test_ingress_replicas_sharing_one_state_share_rule_timers() -> None:
    """A `for` timer started on one replica fires on another, and a repeat merged on one is suppressed on another;
    a replica's late reading (older than the timer's last) changes nothing."""
    state = EventState()
    one = RuleEngine(parse_rules(TIMED), timers=shared(StateActor(state)))
    two = RuleEngine(parse_rules(TIMED), timers=shared(StateActor(state)))
    alone = RuleEngine(parse_rules(TIMED))
    assert one.evaluate("alert", {"indicator": "pm25", "value": 160}, 0) == []
    assert two.evaluate("alert", {"indicator": "pm25", "value": 170}, HOUR) == []
    assert one.evaluate("alert", {"indicator": "pm25", "value": 90}, HOUR / 2) == []  # late: the timer keeps going
    [fired] = two.evaluate("alert", {"indicator": "pm25", "value": 175}, 2 * HOUR)
    assert fired.rule == "pm25-heavy" and fired.held_for == 2 * HOUR
    assert alone.evaluate("alert", {"indicator": "pm25", "value": 175}, 2 * HOUR) == []  # its own timer: just started
    merge = [(one, 0.0), (two, HOUR)]
    report = {"area": "古岘镇", "category": "市容环境", "duplicates": 1}
    assert [e.evaluate("dispatch", report, at)[0].suppressed for e, at in merge] == [False, True]
    first, second = (shared(StateActor(state)) for _ in range(2))  # an indicator's hours, likewise
    assert first.evaluated([(("pm25", "南村镇"), 0.0)]) == [None] and second.evaluated([(("pm25", "南村镇"), 0.0)]) == [
        0.0
    ]


def test_a_failed_attempt_sets_back_the_shared_timers_it_moved() -> None:
    """Inside ``attempt()`` a failure sets back what the attempt's steps did, on the state the replicas share;
    outside one (indicator and video rules) steps stay."""
    state = EventState()
    timers = UndoableTimers(shared(StateActor(state)))
    one, two = (
        RuleEngine(parse_rules(TIMED), timers=timers),
        RuleEngine(parse_rules(TIMED), timers=shared(StateActor(state))),
    )
    report = {"area": "古岘镇", "category": "市容环境", "duplicates": 1}
    with pytest.raises(RuntimeError, match="recording failed"), timers.attempt():
        assert one.evaluate("dispatch", report, 0.0)[0].suppressed is False
        raise RuntimeError("recording failed")
    assert len(state.timers) == 0 and two.evaluate("dispatch", report, HOUR)[0].suppressed is False
    with timers.attempt():
        assert one.evaluate("dispatch", report, 2 * HOUR)[0].suppressed is True  # two's firing stands
    with pytest.raises(RuntimeError), timers.attempt():
        with timers.attempt():  # an inner attempt leaves the set-back to the outer one
            one.evaluate("dispatch", {**report, "area": "南村镇"}, 3 * HOUR)
        raise RuntimeError("recording failed")
    assert len(state.timers) == 1  # 南村镇's timer went with the outer attempt
    one.evaluate("alert", {"indicator": "pm25", "value": 160}, 0)
    assert len(state.timers) == 2


def test_evaluated_hours_are_set_back_unless_a_later_evaluation_moved_them() -> None:
    state = shared(StateActor(EventState()))
    pm25, noise = ("pm25", "南村镇"), ("noise", "南村镇")
    assert state.evaluated([(pm25, 10.0), (noise, 10.0)]) == [None, None]
    assert state.evaluated([(pm25, 12.0)]) == [10.0]
    assert state.take_back_hours([(pm25, 10.0, 12.0), (noise, None, 10.0)]) == 2
    assert state.evaluated([(pm25, 12.0), (noise, 11.0)]) == [10.0, None]
    state.evaluated([(pm25, 13.0)])  # a later evaluation: the set-back of an earlier one leaves it
    assert state.take_back_hours([(pm25, 10.0, 12.0)]) == 0 and state.evaluated([(pm25, 13.0)]) == [13.0]


TIMED = """groups:
  - name: air
    kind: alert
    rules:
      - id: pm25-heavy
        when: value > 150
        for: 2h
  - name: merge
    kind: dispatch
    rules:
      - id: merge
        when: duplicates >= 1
        group_by: [area, category]
        interval: 24h
"""


def firing(**then: str) -> Firing:
    return Firing("r", "g", "x", {}, then=dict(then))


def test_merge_takes_the_most_urgent_priority_and_shortest_times() -> None:
    merged = merge_decisions(
        [
            firing(priority="P2", sla="4h"),
            firing(priority="P1", sla="30m", transfer="119"),
            firing(queue="manual-review"),
        ]
    )
    assert merged == {
        "priority": "P1",
        "sla": "30m",
        "escalate_after": None,
        "transfer": "119",
        "queue": "manual-review",
    }
    assert merge_decisions([]) == {
        "priority": "P3",
        "sla": "24h",
        "escalate_after": None,
        "transfer": None,
        "queue": None,
    }
    assert merge_decisions([firing(priority="P2", department="市公安局")])["department"] == "市公安局"


#: GeoReport v2 "GET Service List" fields (https://wiki.open311.org/GeoReport_v2/#get-service-list)
GEOREPORT_SERVICE = {
    "type": "object",
    "required": ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"],
    "additionalProperties": False,
    "properties": {
        "service_code": {"type": "string", "minLength": 1},
        "service_name": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "metadata": {"type": "boolean"},
        "type": {"enum": ["realtime", "batch", "blackbox"]},
        "keywords": {"type": "string"},
        "group": {"type": "string"},
    },
}


def test_open311_service_list_follows_georeport_v2() -> None:
    kg = load_pingdu()
    services = open311_services(kg)
    jsonschema.validate(services, {"type": "array", "minItems": 1, "items": GEOREPORT_SERVICE})
    assert len(services) == len(kg.leaf_categories())
    assert len({s["service_code"] for s in services}) == len(services)
    lamp = next(s for s in services if s["service_name"] == "路灯照明")
    assert (
        lamp["group"] == "市容环境"
        and "路灯不亮" in lamp["keywords"].split(",")
        and "市城市管理局" in lamp["description"]
    )


def test_a_flood_of_one_complaint_stays_bounded() -> None:
    store = RecentReports(max_candidates=50, max_duplicates=5)
    for i in range(300):
        seen = store.add(str(i), "南村镇幸福小区门口垃圾堆放很久没人清理", "市容环境", "南村镇", None, float(i))
    assert len(seen.duplicates) == 5 and all(d["similarity"] == 1.0 for d in seen.duplicates)
    assert [d["id"] for d in seen.duplicates] == ["298", "297", "296", "295", "294"]  # the most recent first


def test_the_event_state_outlives_a_restart_in_its_file(tmp_path: Path) -> None:
    path = tmp_path / "event_state.json"
    before = EventState(path)
    before.add_many([("ev-a", "南村镇幸福小区门口垃圾堆放很久没人清理", "市容环境", "南村镇", "r1", 0, "a")])
    engine = RuleEngine(parse_rules(TIMED), timers=before)
    assert engine.evaluate("alert", {"indicator": "pm25", "value": 160}, 0) == []
    assert before.evaluated([(("pm25", "平度市"), 0.0), (("pm25", None), HOUR)]) == [None, None]
    before.close()  # what Serve's shutdown or the app's lifespan does
    assert before.status()["saved_at"] and before.status()["file"] == str(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and "南村镇幸福小区" not in path.read_text(encoding="utf-8")
    after = EventState(path)
    [seen] = after.add_many([("b", "南村镇幸福小区门口垃圾堆放很久了没人清理", "市容环境", "南村镇", "r1", HOUR)])
    assert [(d["id"], d["event_id"]) for d in seen.duplicates] == [("a", "ev-a")] and seen.reporter_count == 2
    [fired] = RuleEngine(parse_rules(TIMED), timers=after).evaluate(
        "alert", {"indicator": "pm25", "value": 170}, 2 * HOUR
    )
    assert fired.held_for == 2 * HOUR  # the `for` timer started before the restart
    assert after.evaluated([(("pm25", "平度市"), HOUR), (("pm25", None), 0.0)]) == [0.0, HOUR]  # and stays the newest
    assert after.evaluated([(("pm25", None), 2 * HOUR)]) == [HOUR]
    after.close()


def test_an_unreadable_event_state_is_set_aside_and_the_state_starts_empty(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "event_state.json"
    path.write_text('{"format": 2, "recent": [{"id": "a"}]', encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="citymind.events"):
        state = EventState(path)
    assert len(state.recent) == 0 and len(state.timers) == 0
    assert (tmp_path / "event_state.json.unreadable").exists() and "could not be read" in caplog.text
    state.add_many([("a", "路灯", "市容环境", "古岘镇", None, 0)])
    state.close()
    assert len(EventState(path).recent) == 1  # written afresh, read back
