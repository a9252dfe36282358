"""The platform watching itself through the gateway's app (a real SQLite event store, the bootstrapped registry and
its default rules): a burst of triaged reports of one category in one area, over two weeks of ordinary counts,
raises one ``report-hotspot`` warning (recorded, dispatched to that category's department) and nothing for the
ordinary pairs; a category mix shifted away from the champion's training data raises ``model-drift``, a mix like
the training data does not."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from citymind.access import KeyStore
from events.records import EventFilter, EventRecords
from models.text.profile import read_profile
from registry import MlflowRegistry
from serving.app import create_app
from serving.model_hub import ModelHub
from tests.integration._event_records import T0, report

END = T0 + 28 * 86400  # the windows end here (an hour boundary)
DAY, HOUR = 86400, 3600
BURST = "南村镇幸福小区门口垃圾堆放没人清理，希望相关部门尽快处理"


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).isoformat(timespec="seconds")


@pytest.fixture(scope="module")
def gateway(bootstrapped: MlflowRegistry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    home = Path(tmp_path_factory.mktemp("selfwatch"))
    keys = KeyStore(home / "keys.json")
    headers = {"X-API-Key": keys.create("watcher", "consumer")[1]}
    records = EventRecords(f"sqlite:///{home / 'events.db'}", reporter_key=b"w" * 32)
    app = create_app(
        ModelHub(bootstrapped), keys=keys, records=records, overdue_interval_s=None, selfwatch_interval_s=None
    )
    with TestClient(app) as client:
        yield client, records, headers, bootstrapped


def ordinary_counts(records: EventRecords, area: str, category: str, prefix: str) -> None:
    """Two weeks of 0–2 reports an hour, the same each day (no model: they stay out of drift)."""
    rows = []
    for h in range(14 * 24):
        at = END - 14 * DAY + h * HOUR
        rows += [report(f"{prefix}-{h}-{i}", at + 60 * i, "日常诉求", category, area=area) for i in range(h % 3)]
    records.record(rows)


def test_a_burst_of_one_category_in_one_area_is_a_hotspot(gateway: Any) -> None:
    client, records, headers, _ = gateway
    burst = []
    for i in range(12):  # the last complete hour before END, through triage as a channel would send them
        body = {"report": {"text": BURST, "area": "南村镇", "time": iso(END - HOUR + 240 * i)}}
        answer = client.post("/v1/events/triage", json=body, headers=headers)
        assert answer.status_code == 200, answer.text
        burst.append(answer.json())
    category = burst[0]["category"]
    assert {a["category"] for a in burst} == {category}
    ordinary_counts(records, "南村镇", category, "n")
    ordinary_counts(records, "东阁街道", "道路交通", "d")

    params = {"days": 14, "until": iso(END)}
    found = client.post("/v1/indicators/demand", params=params, headers=headers)
    assert found.status_code == 200, found.text
    out = found.json()
    series = {(s["area"], s["labels"]["category"]): s for s in out["series"]}
    assert set(series) == {("南村镇", category), ("东阁街道", "道路交通")}
    hot = series[("南村镇", category)]["last"]
    assert hot["t"] == iso(END - HOUR) and hot["value"] == 12.0 + 2  # the burst and the hour's usual two
    assert hot["expected"]["mean"] == 2.0 and hot["expected"]["upper"] < 12
    [warning] = out["warnings"]  # no PM2.5 rule fires on report counts, nothing on the ordinary pair
    assert (warning["rule"], warning["indicator"], warning["area"], warning["category"], warning["value"]) == (
        "report-hotspot", "reports", "南村镇", category, 14.0,
    )  # fmt: skip
    assert warning["department"]["lead"] and "诉求激增" in warning["summary"]
    recorded = client.get(f"/v1/events/{warning['event_id']}", headers=headers).json()
    assert (recorded["kind"], recorded["category"], recorded["rules_fired"]) == (
        "warning",
        category,
        ["report-hotspot"],
    )

    again = client.post("/v1/indicators/demand", params=params, headers=headers).json()
    assert again["warnings"] == []  # the hours are evaluated once, whoever asks


def test_demand_refuses_unbounded_or_unreadable_requests(gateway: Any) -> None:
    client, _, headers, _ = gateway
    for params, status, where in (({"days": 57}, 400, "days"), ({"top": 0}, 400, "top"),
                                  ({"until": "soon"}, 400, "ISO 8601"), ({"area": "x" * 101}, 400, "area"),
                                  ({"until": "1000-01-01T00:00:00"}, 422, "outside 1970"),
                                  ({"until": "2199-01-01T00:00:00"}, 422, "not in the future")):  # fmt: skip
        refused = client.post("/v1/indicators/demand", params=params, headers=headers)
        assert refused.status_code == status and where in refused.text, refused.text
    quiet = client.post("/v1/indicators/demand", params={"until": iso(T0)}, headers=headers).json()
    assert quiet["series"] == [] and "needs 48" in quiet["note"]
    assert client.post("/v1/indicators/demand").status_code == 401
    assert client.get("/v1/evaluation/drift", params={"days": 0}, headers=headers).status_code == 400


def answers(prefix: str, start: float, categories: list[str], confidence: float) -> list[dict[str, object]]:
    """Reports the champion (event-classifier v1) answered, one an hour from ``start``, cycling ``categories``."""
    return [
        report(f"{prefix}-{h}", start + h * HOUR, "诉求", categories[h % len(categories)], confidence=confidence,
               model="event-classifier", model_version="1", model_arm="champion")
        for h in range(7 * 24)
    ]  # fmt: skip


def test_a_shifted_category_mix_raises_model_drift_and_a_training_like_mix_does_not(gateway: Any) -> None:
    client, records, headers, registry = gateway
    support = read_profile(registry.version("event-classifier", 1).tags).class_support
    assert support is not None and len(support) >= 3
    total = sum(support.values())  # a week of answers with each class as often as in training
    like_training = [c for c, n in support.items() for _ in range(round(168 * n / total))]
    records.record(answers("like", END - 14 * DAY, like_training, 0.8))
    records.record(answers("shifted", END - 7 * DAY, ["劳动社保"] * 9 + ["市容环境"], 0.35))

    calm = client.get("/v1/evaluation/drift", params={"until": iso(END - 7 * DAY)}, headers=headers).json()
    [version] = calm["versions"]
    assert (version["model"], version["version"], version["events"]) == ("event-classifier", "1", 168)
    assert version["category"] < 0.1 and version["confidence"] is not None

    shifted = client.get("/v1/evaluation/drift", params={"until": iso(END)}, headers=headers).json()
    [version] = shifted["versions"]
    assert version["events"] >= 168 and version["category"] > 0.25
    assert version["top_shifts"][0]["category"] == "劳动社保" and version["top_shifts"][0]["recent"] > 0.8

    raised = client.post("/v1/indicators/drift", params={"until": iso(END)}, headers=headers)
    assert raised.status_code == 200, raised.text
    rules = {(w["rule"], w["measure"]) for w in raised.json()["warnings"]}
    assert ("model-drift", "category") in rules and {r for r, _ in rules} == {"model-drift"}
    again = client.post("/v1/indicators/drift", params={"until": iso(END)}, headers=headers).json()
    assert again["warnings"] == []
    metrics = client.get("/metrics", headers=headers).text
    assert 'citymind_model_drift_psi{measure="category",model="event-classifier",version="1"}' in metrics
    few = client.get("/v1/evaluation/drift", params={"until": iso(END), "min_events": 10_000}, headers=headers)
    assert few.json()["versions"][0]["category"] is None and "at least 10000" in few.json()["versions"][0]["notes"][0]


def test_the_gateway_watches_itself_every_interval(bootstrapped: MlflowRegistry, tmp_path: Path) -> None:
    records = EventRecords(f"sqlite:///{tmp_path / 'events.db'}", reporter_key=b"w" * 32)
    if (left := HOUR - time.time() % HOUR) < 30:  # the watch must run in the hour the burst is the last one of
        time.sleep(left + 1)
    hour = time.time() // HOUR * HOUR  # the current hour: the watch counts the complete ones before it
    rows = [report(f"o-{h}", hour - h * HOUR, "日常诉求", "供暖", area="同和街道") for h in range(2, 4 * 24)]
    rows += [report(f"b-{i}", hour - HOUR + 60 * i, "暖气不热", "供暖", area="同和街道") for i in range(9)]
    records.record(rows)
    app = create_app(ModelHub(bootstrapped), auth="off", records=records, overdue_interval_s=None,
                     selfwatch_interval_s=0.3)  # fmt: skip
    with TestClient(app):
        deadline = time.monotonic() + 60
        while not (warnings := records.page(EventFilter(kind="warning"))["events"]) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert app.state.replica.selfwatch_error is None
    [warning] = warnings
    assert (warning["area"], warning["category"], warning["rules_fired"]) == ("同和街道", "供暖", ["report-hotspot"])
    assert warning["detail"]["value"] == 9.0 and warning["detail"]["indicator"] == "reports"
