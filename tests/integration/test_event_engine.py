"""The event engine's endpoints on a bootstrapped registry (the FastAPI app in process; the Ray gateway is in e2e):
triage consistent with the libraries called directly, 并单, repeat callers, the registry read API and Open311."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from registry import MlflowRegistry
from serving.app import create_app
from serving.model_hub import ModelHub


@pytest.fixture(scope="module")
def hub(bootstrapped: MlflowRegistry) -> ModelHub:
    return ModelHub(bootstrapped)


@pytest.fixture(scope="module")
def http(hub: ModelHub) -> Iterator[TestClient]:
    with TestClient(create_app(hub)) as client:
        yield client


def triage(http: TestClient, **report: Any) -> dict[str, Any]:
    response = http.post("/v1/events/triage", json={"report": report})
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_triage_agrees_with_each_library_called_directly(http: TestClient, hub: ModelHub, bootstrapped: Any) -> None:
    from knowledge_graph.snapshot import KnowledgeSnapshot
    from rules.service import load_registered

    out = triage(http, text="南村镇幸福小区楼道里有很浓的煤气味，电话13812345678", time="2026-11-26T21:30:00")
    assert out["text"] == "南村镇幸福小区楼道里有很浓的煤气味,电话138****5678" and out["pii"][0]["type"] == "mobile"
    direct = hub.get("event-classifier").classify([out["text"]], 3)[0]
    assert (out["category"], out["confidence"]) == (direct["category"], direct["confidence"])
    graph = KnowledgeSnapshot.from_registry(bootstrapped, "pingdu-knowledge@production").graph
    dispatch = graph.dispatch(out["category"], "南村镇")
    assert out["area"] == "南村镇" and out["department"]["lead"] == dispatch.lead
    assert out["explanation"]["graph_path"] == list(dispatch.path)
    fired = {f["rule"]: f for f in out["explanation"]["rules"]["fired"]}
    assert "gas-leak-p1" in fired and fired["gas-leak-p1"]["version"] == "pingdu-rules/1"
    rules = {r.id: r for r in load_registered(bootstrapped, "pingdu-rules@production").rules}
    for rule_id, firing in fired.items():
        assert rules[rule_id].condition(_nested(firing["values"])) is True
    assert (out["priority"], out["transfer"], out["sla"], out["escalate_after"]) == ("P1", "119", "30m", "15m")
    assert out["explanation"]["model"] == {"name": "event-classifier", "version": 1, "arm": "champion"}


def _nested(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, value in values.items():
        *parents, leaf = path.split(".")
        target = out
        for key in parents:
            target = target.setdefault(key, {})
        target[leaf] = value
    return out


def test_a_second_report_of_the_same_thing_is_merged(http: TestClient) -> None:
    text = "古岘镇政府西边的垃圾站垃圾堆放一周没人清理，臭味很大"
    first = triage(http, text=text, time="2026-11-26T08:00:00", id="gx-1")
    second = triage(http, text=text + "！", time="2026-11-26T09:00:00", id="gx-2")
    assert first["duplicates"] == [] and [d["id"] for d in second["duplicates"]] == ["gx-1"]
    assert "repeated-report-merge" in {f["rule"] for f in second["explanation"]["rules"]["fired"]}


def test_a_third_call_from_one_reporter_is_escalated(http: TestClient) -> None:
    texts = ["东阁街道夜里施工噪音扰民", "李园街道广场舞音响太吵", "凤台街道烧烤油烟呛人"]
    outs = [triage(http, text=t, reporter={"id": "caller-7"}, time="2026-11-26T22:00:00") for t in texts]
    assert [o["escalate_after"] for o in outs][-1] == "24h"
    assert "repeat-caller-escalate" not in {f["rule"] for f in outs[0]["explanation"]["rules"]["fired"]}


def test_batch_triage_and_bad_reports(http: TestClient) -> None:
    batch = http.post(
        "/v1/events/triage", json={"reports": [{"text": "路灯不亮"}, {"text": "工地拖欠工资", "area": "南村镇"}]}
    )
    assert batch.status_code == 200 and len(batch.json()["results"]) == 2
    assert all(r["priority"] and r["department"]["lead"] for r in batch.json()["results"])
    for body, says in [
        ({"report": {"text": "   "}}, "report.text: must have words in it"),
        ({"report": {"text": "x"}, "reports": [{"text": "y"}]}, "exactly one of"),
        ({"report": {"text": "x", "time": "yesterday"}}, "report.time: give an ISO 8601 date"),
        ({"report": {"text": "x" * 6000}}, "at most 5000 characters"),
        ({"reports": []}, "at least 1 item"),
    ]:
        response = http.post("/v1/events/triage", json=body)
        assert response.status_code == 400 and says in response.json()["error"], response.text


def test_registry_read_api_and_open311(http: TestClient) -> None:
    rules = http.get("/v1/registry/rule").json()
    assert "pingdu-rules" in [a["name"] for a in rules["assets"]]
    model = http.get("/v1/registry/model/event-classifier").json()
    assert model["aliases"]["champion"] == 1 and model["versions"][0]["lineage"]
    assert http.get("/v1/registry/models").status_code == 400
    assert http.get("/v1/registry/model/nope").status_code == 404
    services = http.get("/open311/v2/services.json").json()
    assert {"service_code", "service_name", "group", "keywords"} <= set(services[0]) and len(services) >= 40


def test_metrics_count_requests_predictions_and_rule_firings(http: TestClient) -> None:
    triage(http, text="李园街道有人闻到天然气味", time="2026-11-26T10:00:00")
    text = http.get("/metrics").text
    samples = dict(line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert float(samples['citymind_requests_total{route="/v1/events/triage",status="200"}']) >= 1
    assert float(samples['citymind_rule_firings_total{rule="gas-leak-p1",ruleset="pingdu-rules/1"}']) >= 1
    assert samples['citymind_model_version_served{model="event-classifier"}'] == "1.0"
    assert float(samples['citymind_predictions_total{arm="champion",model="event-classifier",version="1"}']) >= 1


def test_health_names_every_part_and_its_version(http: TestClient) -> None:
    health = http.get("/v1/health")
    assert health.status_code == 200, health.text
    parts = health.json()["parts"]
    assert parts["models"]["served"] == {"event-classifier": 1}
    assert (parts["rules"]["name"], parts["rules"]["version"], parts["rules"]["rules"]) == ("pingdu-rules", 1, 20)
    assert parts["knowledge"]["name"] == "pingdu-knowledge" and parts["knowledge"]["last_error"] is None
    state = parts["event_state"]  # this app keeps its own, in memory
    assert (state["shared"], state["file"]) == (False, None)
    triage(http, text="古岘镇路口红绿灯坏了三天")
    assert http.get("/v1/health").json()["parts"]["event_state"]["recent_reports"] == state["recent_reports"] + 1


def test_triage_follows_the_rule_sets_alias(bootstrapped: MlflowRegistry, tmp_path: Any) -> None:
    import time
    from pathlib import Path

    from events.triage import EventEngine, TriageConfig
    from rules.service import register_ruleset

    default = Path(__file__).resolve().parents[2] / "rules" / "defaults" / "pingdu.yaml"
    register_ruleset(bootstrapped, "followed-rules", default)
    engine = EventEngine(ModelHub(bootstrapped), TriageConfig(rules="followed-rules@production", refresh_interval=0.1))
    gas = {"text": "楼道里有很浓的煤气味", "area": "南村镇"}
    assert engine.triage(gas)["sla"] == "30m"
    faster = tmp_path / "pingdu.yaml"
    faster.write_text(
        default.read_text(encoding="utf-8").replace("sla: 30m, escalate_after", "sla: 10m, escalate_after")
    )
    (tmp_path / "pingdu.test.yaml").write_text(default.with_name("pingdu.test.yaml").read_text(encoding="utf-8"))
    register_ruleset(bootstrapped, "followed-rules", faster)
    deadline = time.monotonic() + 30
    while engine.rules.version != 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    out = engine.triage(gas)
    assert out["sla"] == "10m" and out["explanation"]["rules"]["ruleset"]["version"] == 2
    engine.close()


def test_the_app_stops_the_engines_followers_when_it_shuts_down(bootstrapped: MlflowRegistry) -> None:
    """The knowledge and rule followers poll the registry from threads of their own: an app that shuts down
    (a plain uvicorn, a test client) ends them, or every app made in one process keeps polling for good."""
    import threading

    before = set(threading.enumerate())
    hub = ModelHub(bootstrapped)
    app = create_app(hub)
    with TestClient(app) as client:
        assert triage(client, text="南村镇路灯不亮")["category"]
        started = [t for t in set(threading.enumerate()) - before if t.name.startswith("follow-")]
        assert sorted(t.name for t in started) == ["follow-pingdu-knowledge", "follow-pingdu-rules"]
    for thread in started:
        thread.join(timeout=5)
    assert not any(t.is_alive() for t in started) and app.state.replica._engine is None
