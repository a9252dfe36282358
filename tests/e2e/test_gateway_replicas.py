"""Two ingress replicas on Ray Serve share one event state (the ``event-state`` Ray actor): a duplicate report
(并单) and a repeat caller are found, a merged report's rule is not fired again and an indicator's hour is reported
once, whichever replica each report or reading reached; a gateway restarted on the state's file goes on from it. Both
replicas recording into one event store at once lose and duplicate nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from events.records import EventRecords
from tests.e2e.conftest import gateway_process


def test_a_duplicate_is_found_across_ingress_replicas_and_a_restart(gateway_registry: Any, tmp_path: Path) -> None:
    state_file = tmp_path / "event_state.json"
    events_db = tmp_path / "events.db"
    settings = {"ingress_replicas": 2, "video": None, "preload": ["event-classifier"], "state_file": str(state_file),
                "events_url": f"sqlite:///{events_db}"}  # fmt: skip
    with gateway_process(gateway_registry, tmp_path, settings) as urls:
        first, second = urls["replica_urls"]  # each replica's own port: the two reports meet different replicas
        report = {"text": "南村镇幸福小区门口垃圾堆放很久没人清理", "area": "南村镇", "reporter": {"id": "c-7"}}
        again = {**report, "text": "南村镇幸福小区门口垃圾堆放很久了没人清理"}
        answers = []
        for url, body in ((first, report), (second, again)):
            response = httpx.post(f"{url}/v1/events/triage", json={"report": body}, timeout=60)
            assert response.status_code == 200, response.text
            answers.append(response.json())
        third = {**report, "text": "南村镇幸福小区门口的垃圾堆放很久没人清理"}
        batch = httpx.post(f"{first}/v1/events/triage", json={"reports": [third, again]}, timeout=60)
        assert batch.status_code == 200, batch.text
        hours = [warnings(url) for url in (first, second)]  # the same readings at both replicas
        shared = httpx.get(f"{second}/v1/health", timeout=30).json()["parts"]["event_state"]
        recorded = record_at_both(first, second)
    records = EventRecords(f"sqlite:///{events_db}", migrate=False)
    kept = [row[0] for row in records.rows(("id",)) if row[0] in recorded]
    records.close()
    assert len(recorded) == 80 and sorted(kept) == sorted(recorded)  # every answered event, once
    assert answers[0]["duplicates"] == [] and answers[0]["category"] == answers[1]["category"]
    assert [(d["id"], d["event_id"]) for d in answers[1]["duplicates"]] == [(answers[0]["id"], answers[0]["event_id"])]
    batched = batch.json()["results"]  # a batch is one call to the store: earlier reports and its own are found
    assert {d["id"] for d in batched[0]["duplicates"]} == {answers[0]["id"], answers[1]["id"]}
    assert batched[0]["id"] in {d["id"] for d in batched[1]["duplicates"]}
    merged = [fired(a) for a in (*answers, *batched)]  # the rule timers are shared: a repeat is suppressed
    assert merged == [False, True, False, False]
    assert state_file.exists()  # the gateway's shutdown saved the event-state actor
    with gateway_process(gateway_registry, tmp_path, {**settings, "ingress_replicas": 1}) as urls:
        fourth = {**report, "text": "南村镇幸福小区门口垃圾堆放很久很久没人清理"}
        after = httpx.post(f"{urls['url']}/v1/events/triage", json={"report": fourth}, timeout=60).json()
        hours_after = warnings(urls["url"])
        own = httpx.get(f"{urls['url']}/v1/health", timeout=30).json()["parts"]["event_state"]
    # one ingress, its own state, read back from the event store: the earlier report's ids with it
    assert (answers[0]["id"], answers[0]["event_id"]) in {(d["id"], d["event_id"]) for d in after["duplicates"]}
    assert not fired(after)  # and the merge rule's interval too
    assert "pm25-heavy-3h" in hours[0] and hours[1] == set()  # an hour is evaluated once, whichever replica
    assert hours_after == set()  # and still after the restart
    assert (shared["shared"], shared["answering"], own["shared"], own["file"]) == (True, True, False, str(state_file))
    assert own["recent_reports"] == 85  # the four reports and 80 recorded at both before the restart, one after


def record_at_both(first: str, second: str) -> set[str]:
    """80 reports at once, half to each replica (4 threads each): the event ids answered."""

    def send(i: int) -> str:
        url = (first, second)[i % 2]
        report = {"text": f"凤台街道第{i}号路灯不亮", "id": f"both-{i}", "channel": "app"}
        response = httpx.post(f"{url}/v1/events/triage", json={"report": report}, timeout=60)
        assert response.status_code == 200, response.text
        return str(response.json()["event_id"])

    with ThreadPoolExecutor(8) as pool:
        return set(pool.map(send, range(80)))


def warnings(url: str) -> set[str]:
    """The rules that warned on three days of PM2.5 readings whose last three hours are over 150 (平度市)."""
    readings = [{"t": f"2026-11-{20 + h // 24}T{h % 24:02d}:00:00", "value": 200 if h >= 69 else 60} for h in range(72)]
    body = {"series": [{"indicator": "pm25", "area": "平度市", "points": readings}]}
    response = httpx.post(f"{url}/v1/indicators/evaluate", json=body, timeout=60)
    assert response.status_code == 200, response.text
    return {w["rule"] for w in response.json()["results"][0]["warnings"]}


def fired(answer: dict[str, Any]) -> bool:
    """Whether the answer's rules merged the report as a repeat (并单: `repeated-report-merge`, once a day)."""
    return "repeated-report-merge" in {f["rule"] for f in answer["explanation"]["rules"]["fired"]}
