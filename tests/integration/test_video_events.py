"""``POST /v1/video/events``: a camera's frames → video analytics → video rules → an event with the category of the
rule, the departments the graph names for it and a priority; repeats within the rule's interval are merged."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import numpy as np
from fastapi.testclient import TestClient

from events.records import EventRecords
from events.triage import TriageConfig
from events.video import VideoAnalyzer, VideoConfig
from registry import MlflowRegistry
from rules.service import register_ruleset
from serving.app import create_app
from serving.model_hub import ModelHub
from serving.routes_video import InProcessVideo
from tests.integration._event_records import store_down
from tests.unit.test_video import moving_box_frames, png

RULES = """groups:
  - name: road
    kind: video
    rules:
      - id: vehicle-on-road
        title: 路口有车辆滞留
        when: label == 'vehicle' and count >= 1
        group_by: [camera, zone]
        interval: 10m
        labels: {category: 道路交通}
        annotations: {summary: "{camera} {zone}: {count} vehicle(s)"}
        then: {priority: P3, sla: 2h}
"""


def road_camera(
    bootstrapped: MlflowRegistry, tmp_path: Path, rules_name: str, records: EventRecords | None = None
) -> tuple[Any, dict[str, Any]]:
    """An app whose video rules are ``RULES`` (registered as ``rules_name``) over camera ``cam-1``, and a body of 16
    frames: 8 still, then a box moving across the road."""
    rules = tmp_path / "road.yaml"
    rules.write_text(RULES, encoding="utf-8")
    register_ruleset(bootstrapped, rules_name, rules)
    cameras = tmp_path / "cameras.yaml"
    cameras.write_text(
        "cameras:\n  cam-1: {detector: motion, zones: {all: [[0, 0], [160, 0], [160, 120], [0, 120]]}}\n"
    )
    config = VideoConfig(cameras_file=str(cameras), max_frames=16, max_pixels=200 * 200)
    triage = TriageConfig(rules=f"{rules_name}@production")
    app = create_app(
        ModelHub(bootstrapped), video=InProcessVideo(VideoAnalyzer(config)), video_config=config, triage=triage,
        records=records,
    )  # fmt: skip
    frames = [np.full((120, 160, 3), 90, np.uint8)] * 8 + moving_box_frames(8)
    return app, {"camera": "cam-1", "frames": [base64.b64encode(png(f)).decode() for f in frames]}


def test_a_vehicle_on_the_road_becomes_one_dispatched_event(bootstrapped: MlflowRegistry, tmp_path: Path) -> None:
    from knowledge_graph.snapshot import KnowledgeSnapshot

    app, body = road_camera(bootstrapped, tmp_path, "video-test-rules")
    with TestClient(app) as http:
        response = http.post("/v1/video/events", params={"area": "南村镇"}, json=body)
        again = http.post("/v1/video/events", params={"area": "南村镇"}, json={**body, "frames": body["frames"][-2:]})
    assert response.status_code == 200, response.text
    out: dict[str, Any] = response.json()
    [event] = out["events"]  # the box is seen on several frames: one event, the rest merged by the interval
    graph = KnowledgeSnapshot.from_registry(bootstrapped, "pingdu-knowledge@production").graph
    assert (event["rule"], event["category"], event["camera"], event["zone"]) == (
        "vehicle-on-road",
        "道路交通",
        "cam-1",
        "all",
    )
    assert event["department"]["lead"] == graph.dispatch("道路交通", "南村镇").lead
    assert (event["priority"], event["sla"]) == ("P3", "2h") and event["summary"].startswith("cam-1 all: 1 vehicle")
    assert event["explanation"]["rule"]["version"] == "video-test-rules/1"
    assert len(out["frames"]) == 16 and out["frames"][-1]["counts"]["all"] == {"vehicle": 1}
    assert again.status_code == 200 and again.json()["events"] == []  # still within the interval: merged


def test_video_events_whose_record_failed_are_raised_again_when_sent_again(
    bootstrapped: MlflowRegistry, tmp_path: Path
) -> None:
    """An answer whose events could not be recorded (503) sets the rule timers back: the same frames sent again
    raise the event (recorded), where the failed attempt's firing would have merged it into nothing."""
    records = EventRecords(f"sqlite:///{tmp_path / 'events.db'}", reporter_key=b"r" * 32)
    app, body = road_camera(bootstrapped, tmp_path, "video-retry-rules", records)
    with TestClient(app) as http:
        with store_down(records):
            failed = http.post("/v1/video/events", params={"area": "南村镇"}, json=body)
        assert failed.status_code == 503, failed.text
        again = http.post("/v1/video/events", params={"area": "南村镇"}, json=body)
    assert again.status_code == 200, again.text
    [event] = again.json()["events"]
    assert event["rule"] == "vehicle-on-road" and records.get(event["event_id"])["id"] == event["event_id"]
