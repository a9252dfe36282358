"""citymind.client against the real Ray Serve gateway: every operation of the gateway's OpenAPI is called through it
(the test fails when the spec has an operation the client does not call), answers read into citymind.api models;
the async client as well, and the binary tensor path."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest

from citymind.api import ClassifyBatchAnswer, TriageAnswer
from citymind.client import AsyncClient, Client, NotFound, Unprocessable
from serving.routes_forecast import WEEK

REPORT = {"text": "南村镇小区门口路灯坏了，晚上一片漆黑，电话13812345678", "channel": "hotline"}


@pytest.fixture
def city(gateway: str) -> Iterator[tuple[Client, list[tuple[str, str]]]]:
    sent: list[tuple[str, str]] = []
    http = httpx.Client(
        base_url=gateway, timeout=60, event_hooks={"request": [lambda r: sent.append((r.method, r.url.path))]}
    )
    with Client(http=http) as client:
        yield client, sent


def png(value: int) -> bytes:
    return bytes(cv2.imencode(".png", np.full((48, 64, 3), value, np.uint8))[1])


def test_every_operation_through_the_client(
    city: tuple[Client, list[tuple[str, str]]], gateway: str, knowledge_cases: int
) -> None:
    client, sent = city
    assert client.live()["live"] is True and client.ready()["ready"] is True
    assert client.health().parts
    assert client.server_metadata().name
    assert client.model_metadata("event-classifier").name == "event-classifier"
    assert client.model_metadata("event-classifier", version=1).versions
    assert client.model_ready("event-classifier").ready and client.model_ready("event-classifier", 1).ready
    tensor = {"name": "text", "shape": [1, 1], "datatype": "BYTES", "data": ["路灯坏了"]}
    assert client.infer("event-classifier", [tensor]).outputs
    assert client.infer("event-classifier", [tensor], version=1).model_version == "1"
    assert client.refresh_models().errors == {}

    one = client.classify("路口红绿灯坏了，车辆乱停堵路", top_k=2)
    batch = client.classify(["路灯坏了", "单位拖欠工资三个月"])
    assert one.category and len(one.top_k) == 2 and isinstance(batch, ClassifyBatchAnswer) and len(batch.results) == 2
    triaged = client.triage(REPORT)
    assert isinstance(triaged, TriageAnswer) and "13812345678" not in triaged.text and triaged.event_id
    assert len(client.triage([{"text": "凤台街道夜里工地施工噪音扰民"}]).results) == 1

    forecast = client.forecast(WEEK, "2026-11-27T08:00:00")
    assert len(forecast.forecast) == 24 and forecast.model == "pm25-forecaster"
    points = [{"t": f"2026-11-{20 + h // 24:02d}T{h % 24:02d}:00:00", "value": v} for h, v in enumerate(WEEK)]
    assert client.evaluate_indicators([{"indicator": "pm25", "points": points}]).results[0].indicator == "pm25"

    assert "privacy.mask" in {c["name"] for c in client.components().components}
    masked = client.run_component("privacy.mask", {"text": "电话13812345678"})
    assert "13812345678" not in str(masked.record)
    assert len(client.run_pipeline("report-intake", [{"text": "路灯坏了"}, {"text": "噪音扰民"}]).records or []) == 2

    page = client.events(limit=5)
    assert page.events and client.event(triaged.event_id).id == triaged.event_id
    assert any(e.id == triaged.event_id for e in client.iter_events(kind="report"))
    outcome = client.add_outcome(triaged.event_id, "client-accept-1", "accepted")
    assert outcome.applied and not client.add_outcome(triaged.event_id, "client-accept-1", "accepted").applied
    with pytest.raises(Unprocessable, match="not in"):
        client.add_outcome(triaged.event_id, "client-fix-1", "category_corrected", category="不存在的类别")
    with pytest.raises(NotFound):
        client.event("no-such-event")
    assert client.evaluation("department").overall.volume >= 2
    assert (
        client.demand(days=7).indicator
        and client.drift().days == 7
        and client.drift_now(min_events=1).versions is not None
    )

    services = client.open311_services()
    receipt = client.open311_create("凤台街道小区门口垃圾堆积没人清理", account_id="app-user-1")[0]
    assert (
        services
        and client.open311_request(receipt.service_request_id)[0].service_request_id == receipt.service_request_id
    )
    assert "pingdu-rules" in {a.name for a in client.registry_assets("rule").assets}
    assert client.registry_asset("rule", "pingdu-rules").name == "pingdu-rules"

    assert client.whoami().role == "admin" and client.overview().health["ready"] is True  # no keys yet: admin
    assert "confidence" in client.rules_schema()["fields"]["dispatch"]
    rules = client.rule_source("pingdu-rules").text
    assert client.check_rules(rules).ok and client.test_rules(rules).ok
    assert client.backtest_rules(rules, kind="dispatch", csv="category,hour\n噪音扰民,23\n").rows == 1
    first = client.publish_rules("pingdu-rules", rules, alias="staging")  # production is left as it is
    second = client.publish_rules("pingdu-rules", rules, alias="staging")
    assert client.registry_versions("rule", "pingdu-rules", limit=1).next == second.version
    assert client.roll_back_alias("rule", "pingdu-rules", "staging").version == first.version
    assert client.move_alias("model", "event-classifier", "champion", 1).version == 1
    assert "service:event engine" in {node.id for node in client.lineage().nodes}
    assert client.knowledge_dispatch("噪音扰民", "南村镇").lead
    with pytest.raises(NotFound, match=r"404 .* no EventCategory named '噪音扰'. Did you mean 噪声污染"):
        client.knowledge_dispatch("噪音扰", "南村镇")
    assert client.knowledge_lookup("南村镇") and client.knowledge_neighbourhood("南村镇").center == "area:nancun"
    found = client.knowledge_search("小区门口路灯坏了", k=2, of="cases")
    assert found.knowledge == f"pingdu-knowledge/{knowledge_cases}" and found.hits[0].title == "东阁街道路灯不亮"
    assert found.hits[0].reply.startswith("市城市管理局") and len(client.knowledge_search("拖欠工资").hits) >= 1

    frames = [png(90), png(90)]
    assert len(client.analyze_video("overpass", frames).frames) == 2
    assert client.video_events("overpass", frames, area="南村镇").camera == "overpass"

    spec = httpx.get(f"{gateway}/openapi.json").json()
    templates = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    called = {(m, p) for m, p in templates if any(m == sm and re.fullmatch(_regex(p), sp) for sm, sp in sent)}
    assert called == templates, sorted(templates - called)


def _regex(template: str) -> str:
    return re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))


def test_binary_tensors_through_the_client(city: tuple[Client, list[tuple[str, str]]]) -> None:
    client, _ = city
    texts = np.array([["路口红绿灯坏了，车辆乱停堵路"], ["单位拖欠工资三个月"]], dtype=object)
    arrays = client.infer_arrays("event-classifier", {"text": texts})
    probabilities = arrays["probabilities"]
    assert probabilities.shape[0] == 2 and np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)
    as_json = client.infer("event-classifier", [{"name": "text", "shape": [2, 1], "datatype": "BYTES",
                                                 "data": texts.reshape(-1).tolist()}])  # fmt: skip
    by_name = {t.name: t for t in as_json.outputs}
    assert np.allclose(np.asarray(by_name["probabilities"].data).reshape(probabilities.shape), probabilities, atol=1e-6)


def test_the_async_client_against_the_gateway(gateway: str) -> None:
    texts = np.array([["路口红绿灯坏了，车辆乱停堵路"], ["单位拖欠工资三个月"]], dtype=object)

    async def run() -> tuple[list[Any], Any, list[str], dict[str, np.ndarray]]:
        async with AsyncClient(gateway) as city:
            answers = await asyncio.gather(*(city.classify(t) for t in ["路灯坏了", "噪音扰民", "拖欠工资"]))
            triaged = await city.triage({"text": "凤台街道夜里工地施工噪音扰民"})
            ids = [e.id async for e in city.iter_events(kind="report")]
            return answers, triaged, ids, await city.infer_arrays("event-classifier", {"text": texts})

    answers, triaged, ids, arrays = asyncio.run(run())
    assert len(answers) == 3 and all(a.category for a in answers)
    assert triaged.event_id in ids
    with Client(gateway) as city:
        expected = city.infer_arrays("event-classifier", {"text": texts})["probabilities"]
    assert np.allclose(arrays["probabilities"], expected, atol=1e-6)


def test_the_readme_python_example_runs(gateway: str) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    example = next(b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if "citymind.client" in b)
    code = example.replace("http://127.0.0.1:8000", gateway)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    event_line, rate_line = run.stdout.strip().splitlines()
    assert len(event_line.split()) == 4 and float(rate_line) >= 0.0
