"""The closed loop through the gateway's app (in process; the Ray gateway is in e2e): a triaged report is recorded
before it is answered, the dispatch system's outcomes move it (with their own role), refused outcomes say why
(404, 409 naming the allowed ones, 422 naming close matches), overdue events are escalated once, Open311."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from citymind.access import KeyStore
from events.records import EventRecords
from registry import MlflowRegistry
from serving.app import create_app
from serving.model_hub import ModelHub
from tests.integration._event_records import store_down


@pytest.fixture(scope="module")
def gateway(bootstrapped: MlflowRegistry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    home = Path(tmp_path_factory.mktemp("loop"))
    keys = KeyStore(home / "keys.json")
    secrets = {role: {"X-API-Key": keys.create(f"loop-{role}", role)[1]} for role in ("consumer", "dispatcher")}
    records = EventRecords(f"sqlite:///{home / 'events.db'}", reporter_key=b"r" * 32)
    app = create_app(ModelHub(bootstrapped), keys=keys, records=records, overdue_interval_s=0.2)
    with TestClient(app) as client:
        yield client, records, secrets


def triage(client: TestClient, headers: dict[str, str], **report: Any) -> dict[str, Any]:
    answer = client.post("/v1/events/triage", json={"report": report}, headers=headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_a_triaged_report_is_recorded_masked_with_what_decided_it(gateway: Any) -> None:
    client, records, keys = gateway
    text = "南村镇幸福小区门口垃圾堆了一周没人清理，我电话13812345678"
    answer = triage(client, keys["consumer"], text=text, reporter={"id": "13812345678"}, channel="hotline")
    got = client.get(f"/v1/events/{answer['event_id']}", headers=keys["consumer"]).json()
    assert got["text"] == answer["text"] and "13812345678" not in str(got) and "138****5678" in got["text"]
    assert got["reporter"] == records.reporter_hash("13812345678")
    assert (got["category"], got["lead"], got["priority"], got["area"]) == (
        answer["category"], answer["department"]["lead"], answer["priority"], "南村镇",
    )  # fmt: skip
    assert (got["model"], got["model_version"], got["model_arm"]) == ("event-classifier", "1", "champion")
    assert got["knowledge_version"] == "pingdu-knowledge/1" and got["ruleset_version"] == "pingdu-rules/1"
    assert got["rules_fired"] == [f["rule"] for f in answer["explanation"]["rules"]["fired"]]
    assert got["status"] == "open" and got["timeline"] == []


def test_a_channel_sending_the_same_report_again_gets_the_same_event(gateway: Any) -> None:
    client, _, keys = gateway
    report = {"text": "东阁街道路灯不亮", "id": "hotline-0001", "channel": "hotline"}
    first, again = (triage(client, keys["consumer"], **report) for _ in range(2))
    assert first["event_id"] == again["event_id"]
    batch = client.post("/v1/events/triage", json={"reports": [report, {**report, "id": "hotline-0002"}]},
                        headers=keys["consumer"]).json()["results"]  # fmt: skip
    assert batch[0]["event_id"] == first["event_id"] != batch[1]["event_id"]


def test_outcomes_need_the_dispatch_role_and_are_applied_once(gateway: Any) -> None:
    client, _, keys = gateway
    event_id = triage(client, keys["consumer"], text="凤台街道噪音扰民，晚上施工")["event_id"]
    url = f"/v1/events/{event_id}/outcomes"
    accepted = {"outcome_id": "d-1", "type": "accepted", "at": "2026-12-04T09:00:00"}
    refused = client.post(url, json=accepted, headers=keys["consumer"])
    assert refused.status_code == 403 and "report:outcome" in refused.json()["error"]
    assert client.post(url, json=accepted).status_code == 401
    first = client.post(url, json=accepted, headers=keys["dispatcher"])
    again = client.post(url, json=accepted, headers=keys["dispatcher"])
    assert (first.status_code, first.json()["applied"], again.status_code, again.json()["applied"]) == (
        200, True, 200, False,
    )  # fmt: skip
    assert [t["outcome_id"] for t in again.json()["event"]["timeline"]] == ["d-1"]
    assert again.json()["event"]["accepted_at"] == "2026-12-04T09:00:00"


def test_refused_outcomes_say_what_was_wrong(gateway: Any) -> None:
    client, _, keys = gateway
    event_id = triage(client, keys["consumer"], text="古岘镇自来水停水三天")["event_id"]
    post = lambda body: client.post(f"/v1/events/{event_id}/outcomes", json=body, headers=keys["dispatcher"])  # noqa: E731
    closed = post({"outcome_id": "x1", "type": "closed", "satisfaction": "满意"})
    assert closed.status_code == 409 and "it can be: accepted, returned, reassigned" in closed.json()["error"]
    department = post({"outcome_id": "x2", "type": "reassigned", "department": "市城管局局"})
    assert department.status_code == 422 and "Did you mean" in department.json()["error"]
    category = post({"outcome_id": "x3", "type": "category_corrected", "category": "燃气安"})
    assert category.status_code == 422 and "燃气安全" in category.json()["error"]
    assert post({"outcome_id": "x4", "type": "reassigned"}).status_code == 400  # no department
    assert post({"outcome_id": "x5", "type": "exploded"}).status_code == 400
    assert post({"outcome_id": "", "type": "accepted"}).status_code == 400
    assert post({"outcome_id": "x6", "type": "accepted", "at": "yesterday"}).status_code == 400
    missing = client.post("/v1/events/nope/outcomes", json={"outcome_id": "x7", "type": "accepted"},
                          headers=keys["dispatcher"])  # fmt: skip
    assert missing.status_code == 404 and "nope" in missing.json()["error"]
    assert client.get("/v1/events/a%20b", headers=keys["consumer"]).status_code == 400
    assert client.get("/v1/events?limit=0", headers=keys["consumer"]).status_code == 400
    assert client.get("/v1/events?cursor=zz", headers=keys["consumer"]).status_code == 400
    assert client.get("/v1/events?since=nope", headers=keys["consumer"]).status_code == 400


def test_listing_filters_and_pages(gateway: Any) -> None:
    client, _, keys = gateway
    for i in range(7):
        triage(client, keys["consumer"], text=f"李园街道小区{i}号楼下水道堵塞", area="李园街道", id=f"page-{i}")
    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {"area": "李园街道", "limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/events", params=params, headers=keys["consumer"]).json()
        seen += [e["report_id"] for e in page["events"]]
        if not (cursor := page["next"]):
            break
    assert sorted(seen) == [f"page-{i}" for i in range(7)] and len(seen) == 7


def test_an_overdue_event_is_escalated_once_through_the_overdue_rules(gateway: Any) -> None:
    client, _, keys = gateway
    answer = triage(client, keys["consumer"], text="南村镇小区燃气泄漏有煤气味", time="2026-12-01T08:00:00")
    assert answer["priority"] == "P1"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        timeline = client.get(f"/v1/events/{answer['event_id']}", headers=keys["consumer"]).json()["timeline"]
        if timeline:
            break
        time.sleep(0.1)
    time.sleep(0.5)  # more sweeps pass: it is not escalated again
    timeline = client.get(f"/v1/events/{answer['event_id']}", headers=keys["consumer"]).json()["timeline"]
    assert [t["type"] for t in timeline] == ["escalated"]
    assert timeline[0]["rules"] == ["sla-breached", "urgent-overdue"] and "办理超时" in timeline[0]["reason"]
    overdue = client.get("/v1/events", params={"overdue": "true", "limit": 500}, headers=keys["consumer"]).json()
    assert answer["event_id"] in {e["id"] for e in overdue["events"]}
    metrics = client.get("/metrics", headers=keys["consumer"]).text
    assert 'citymind_event_escalations_total{clock="sla"}' in metrics


def test_open311_requests_are_triaged_recorded_and_follow_their_outcomes(gateway: Any) -> None:
    client, _, keys = gateway
    filed = client.post("/open311/v2/requests.json", headers=keys["consumer"],
                        data={"description": "路灯坏了好几天，晚上很黑", "address_string": "凤台街道",
                              "phone": "13900001111"})  # fmt: skip
    assert filed.status_code == 200, filed.text
    [created] = filed.json()
    request_id = created["service_request_id"]
    [status] = client.get(f"/open311/v2/requests/{request_id}.json", headers=keys["consumer"]).json()
    assert status["status"] == "open" and status["address"] == "凤台街道" and status["agency_responsible"]
    for i, step in enumerate([{"type": "accepted"}, {"type": "resolved", "reply": "已更换灯泡"}]):
        body = {"outcome_id": f"o311-{i}", **step}
        assert client.post(f"/v1/events/{request_id}/outcomes", json=body, headers=keys["dispatcher"]).is_success
    [status] = client.get(f"/open311/v2/requests/{request_id}.json", headers=keys["consumer"]).json()
    assert (status["status"], status["status_notes"]) == ("closed", "已更换灯泡")
    assert (
        client.post("/open311/v2/requests.json", data={"description": " "}, headers=keys["consumer"]).status_code == 400
    )
    assert client.get("/open311/v2/requests/nope.json", headers=keys["consumer"]).status_code == 404


def test_an_open311_client_may_send_its_key_as_the_form_field_api_key(gateway: Any) -> None:
    client, records, keys = gateway
    form = {"description": "南村镇幸福小区门口垃圾堆放很久没人清理", "api_key": keys["consumer"]["X-API-Key"]}
    filed = client.post("/open311/v2/requests.json", data=form)
    assert filed.status_code == 200, filed.text
    assert records.get(filed.json()[0]["service_request_id"])["text"] == form["description"]  # the body got through
    wrong = client.post("/open311/v2/requests.json", data={**form, "api_key": "cm_0000_wrong"})
    assert wrong.status_code == 401, wrong.text
    json_body = client.post("/v1/events/triage", json={"report": {"text": "路灯坏了"}, "api_key": form["api_key"]})
    assert json_body.status_code == 401  # only Open311's form carries a key; elsewhere the headers do
    past_limit = b"description=" + b"a" * 3 * 2**20 + b"&api_key=" + form["api_key"].encode()  # a right key, too far
    huge = client.post("/open311/v2/requests.json", content=past_limit,
                       headers={"content-type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert huge.status_code == 401  # read no further than the body limit (else the key passes and the limit's 413)


def test_a_duplicate_links_to_the_earlier_event_whichever_channel_sent_it(gateway: Any) -> None:
    client, _, keys = gateway
    text = "李园街道青岛路和杭州路路口的井盖丢了，晚上很危险"
    first = triage(client, keys["consumer"], text=text, id="1001", channel="12345")
    second = triage(client, keys["consumer"], text=text + "！", id="1001", channel="app")  # another channel's 1001
    assert second["event_id"] != first["event_id"]
    [dup] = second["duplicates"]
    assert (dup["id"], dup["event_id"]) == ("1001", first["event_id"])
    earlier = client.get(f"/v1/events/{dup['event_id']}", headers=keys["consumer"])
    assert earlier.status_code == 200 and earlier.json()["channel"] == "12345", earlier.text
    merged = client.get(f"/v1/events/{second['event_id']}", headers=keys["consumer"]).json()
    assert merged["merged_into"] == first["event_id"]


def test_a_report_whose_record_failed_is_not_its_own_duplicate_when_sent_again(gateway: Any) -> None:
    client, records, keys = gateway
    report = {"report": {"text": "明村镇政府门口的红绿灯坏了三天了", "area": "明村镇"}}  # no id: a new event each time

    with store_down(records):
        failed = client.post("/v1/events/triage", json=report, headers=keys["consumer"])
    assert failed.status_code == 503, failed.text
    again = client.post("/v1/events/triage", json=report, headers=keys["consumer"]).json()
    assert again["duplicates"] == [] and again["event_id"]
    third = client.post("/v1/events/triage", json=report, headers=keys["consumer"]).json()
    assert [d["event_id"] for d in third["duplicates"]] == [again["event_id"]]  # a recorded one is found


def test_a_failed_attempt_leaves_the_rule_timers_as_they_were(gateway: Any) -> None:
    """The merge rule fires once a day per area and category: an attempt that fired it and then failed to record
    does not use up that once, so its retry fires it; the next duplicate is then suppressed."""
    client, records, keys = gateway
    report = {"text": "仁兆镇沽河大桥桥头护栏被撞断了", "area": "仁兆镇", "channel": "hotline"}

    def fired(answer: dict[str, Any]) -> list[str]:
        return [f["rule"] for f in answer["explanation"]["rules"]["fired"]]

    first = triage(client, keys["consumer"], **report, id="guardrail-1")
    assert first["duplicates"] == [] and "repeated-report-merge" not in fired(first)
    with store_down(records):
        failed = client.post(
            "/v1/events/triage", json={"report": {**report, "id": "guardrail-2"}}, headers=keys["consumer"]
        )
    assert failed.status_code == 503, failed.text
    again = triage(client, keys["consumer"], **report, id="guardrail-2")
    assert [d["event_id"] for d in again["duplicates"]] == [first["event_id"]]
    assert "repeated-report-merge" in fired(again)
    third = triage(client, keys["consumer"], **report, id="guardrail-3")
    assert len(third["duplicates"]) == 2 and "repeated-report-merge" not in fired(third)  # suppressed for a day


def test_a_warning_whose_record_failed_is_raised_again_when_the_readings_are_sent_again(gateway: Any) -> None:
    """The hours of a series are evaluated once: an evaluation whose warnings could not be recorded sets them (and
    the rule timers) back, so the same readings sent again raise the same warning, recorded; a third time, none."""
    client, records, keys = gateway
    values = [90.0] * 165 + [170.0, 175.0, 180.0]  # three hours over 150: pm25-heavy-3h
    points = [{"t": f"2026-11-{20 + h // 24:02d}T{h % 24:02d}:00:00", "value": v} for h, v in enumerate(values)]
    body = {"series": [{"indicator": "pm25", "area": "云山镇", "points": points}]}

    def rules(answer: Any) -> list[str]:
        return [w["explanation"]["rule"]["rule"] for w in answer.json()["results"][0]["warnings"]]

    with store_down(records):
        failed = client.post("/v1/indicators/evaluate", json=body, headers=keys["consumer"])
    assert failed.status_code == 503, failed.text
    again = client.post("/v1/indicators/evaluate", json=body, headers=keys["consumer"])
    assert again.status_code == 200 and "pm25-heavy-3h" in rules(again), again.text
    [warning] = [
        w for w in again.json()["results"][0]["warnings"] if w["explanation"]["rule"]["rule"] == "pm25-heavy-3h"
    ]
    assert client.get(f"/v1/events/{warning['event_id']}", headers=keys["consumer"]).status_code == 200
    third = client.post("/v1/indicators/evaluate", json=body, headers=keys["consumer"])
    assert third.status_code == 200 and rules(third) == []  # those hours were evaluated: nothing new
