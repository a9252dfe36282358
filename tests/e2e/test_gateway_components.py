"""The component library through the real gateway (Ray Serve on 127.0.0.1): the registered default pipeline
returns what its steps give when run directly."""

from __future__ import annotations

from typing import Any

import httpx

from models.components.base import available_components
from models.components.pipeline import ModelStep
from tests.unit.test_component_contract import same


def test_the_registered_pipeline_through_the_gateway_equals_its_steps(
    client: httpx.Client, gateway_registry: Any
) -> None:
    names = ["text.normalize", "privacy.mask", "geo.resolve_area"]
    steps = [available_components()[n]() for n in names]
    model = ModelStep("event-classifier@champion")
    model.setup(gateway_registry)
    reports = [
        {"text": "李園街道杭州路小區門口垃圾堆放，聯系電話13812345678", "channel": "12345"},
        {"text": "南村镇工地拖欠农民工工资，身份证11010519491231002X"},
    ]
    direct = []
    for report in reports:
        record = dict(report)
        for step in [*steps, model]:
            record = step(record)
        direct.append(record)
    served = client.post("/v1/pipelines/report-intake", json={"records": reports})
    assert served.status_code == 200, served.text
    assert same(served.json()["records"], direct)
    assert served.json()["records"][0]["area"]["label"] == "李园街道"
    assert "138****5678" in served.json()["records"][0]["text"]


def test_components_are_discoverable_and_bad_records_get_a_422(client: httpx.Client) -> None:
    listed = client.get("/v1/components").json()
    assert {"privacy.mask", "geo.resolve_area"} <= {c["name"] for c in listed["components"]}
    assert "report-intake" in [p["name"] for p in listed["pipelines"]]
    bad = client.post("/v1/components/geo.resolve_area", json={"record": {"text": 42}})
    assert bad.status_code == 422 and "geo.resolve_area: record field text" in bad.json()["error"]
