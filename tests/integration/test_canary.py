"""Champion/challenger in the event engine: a sticky share of request keys to the challenger, shadow answers
logged and counted, and moving the alias or the weights under load loses no request."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from events.canary import SHADOW_TAG, WEIGHT_TAG, bucket
from events.triage import EventEngine, TriageConfig
from registry import MlflowRegistry
from serving.model_hub import ModelHub

NAME = "canary-classifier"


@pytest.fixture(scope="module")
def reg(bootstrapped: MlflowRegistry) -> MlflowRegistry:
    """``canary-classifier``: v1 @champion and v2 @challenger, both the bootstrapped classifier's ONNX."""
    onnx = Path(bootstrapped.load("event-classifier@champion"))
    for _ in range(2):
        bootstrapped.register("model", NAME, onnx)
    bootstrapped.set_alias(NAME, "champion", 1)
    bootstrapped.set_alias(NAME, "challenger", 2)
    return bootstrapped


@pytest.fixture
def engine(reg: MlflowRegistry) -> Iterator[Callable[[], EventEngine]]:
    """Makes event engines over ``reg``; their followers stop after the test (they poll every 0.1 s)."""
    made: list[EventEngine] = []

    def make() -> EventEngine:
        made.append(EventEngine(ModelHub(reg, refresh_interval=0.2), TriageConfig(model=NAME, refresh_interval=0.1)))
        return made[-1]

    yield make
    for one in made:
        one.close()
        one.hub.stop()


def arms(engine: EventEngine, reporters: list[str]) -> list[tuple[int, str]]:
    reports = [{"text": "南村镇路灯不亮", "reporter": {"id": r}} for r in reporters]
    return [
        (o["explanation"]["model"]["version"], o["explanation"]["model"]["arm"]) for o in engine.triage_batch(reports)
    ]


def test_a_sticky_share_of_reporters_goes_to_the_challenger(reg: MlflowRegistry, engine: Any) -> None:
    reg.set_tag(NAME, WEIGHT_TAG, "0.5")
    try:
        service = engine()
        reporters = [f"r{i}" for i in range(60)]
        first = arms(service, reporters)
        expected = [(2, "challenger") if bucket(NAME, r) < 0.5 else (1, "champion") for r in reporters]
        assert first == expected and 15 <= sum(a == "challenger" for _, a in first) <= 45
        assert arms(service, reporters) == first  # the same reporter stays on the same version
    finally:
        reg.set_tag(NAME, WEIGHT_TAG, None)


def test_shadow_answers_are_logged_and_counted_while_the_champion_answers(
    reg: MlflowRegistry, engine: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from events.metrics import METRICS

    reg.set_tag(NAME, SHADOW_TAG, "true")
    try:
        service = engine()
        before = METRICS.get_sample_value("citymind_shadow_total", {"model": NAME, "version": "2", "outcome": "agree"})
        with caplog.at_level(logging.INFO, logger="citymind.canary"):
            assert set(arms(service, [f"s{i}" for i in range(8)])) == {(1, "champion")}
            service.canary.drain()
        logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith(f"shadow {NAME} v2")]
        assert len(logged) == 8 and "champion" in logged[0] and "challenger" in logged[0]
        after = METRICS.get_sample_value("citymind_shadow_total", {"model": NAME, "version": "2", "outcome": "agree"})
        assert after - (before or 0) == 8  # the same ONNX on both arms: every shadow answer agrees
    finally:
        reg.set_tag(NAME, SHADOW_TAG, None)


def test_moving_the_alias_and_weights_under_load_loses_no_request(reg: MlflowRegistry, engine: Any) -> None:
    service = engine()
    service.hub.watch()
    errors: list[BaseException] = []
    seen: set[tuple[int, str]] = set()
    stop = threading.Event()

    def load(worker: int) -> None:
        n = 0
        while not stop.is_set():
            try:
                seen.update(arms(service, [f"w{worker}-{n}", f"w{worker}-{n + 1}"]))
            except BaseException as exc:
                errors.append(exc)
            n += 2

    threads = [threading.Thread(target=load, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    try:
        for step in (
            lambda: reg.set_tag(NAME, WEIGHT_TAG, "0.3"),
            lambda: reg.set_alias(NAME, "champion", 2),
            lambda: reg.set_alias(NAME, "challenger", 1),
            lambda: reg.set_tag(NAME, WEIGHT_TAG, None),
        ):
            step()
            time.sleep(1.0)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        service.hub.stop()
        reg.set_alias(NAME, "champion", 1)
        reg.set_alias(NAME, "challenger", 2)
    assert errors == []
    assert {(1, "champion"), (2, "challenger"), (2, "champion")} <= seen


def test_the_canary_command_sets_the_split(reg: MlflowRegistry, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from citymind.cli import app
    from citymind.settings import get_settings

    monkeypatch.setenv("CITYMIND_TRACKING_URI", reg.tracking_uri)
    monkeypatch.setenv("CITYMIND_ARTIFACT_LOCATION", reg.artifact_location or "")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["canary", NAME, "--weight", "0.25", "--shadow"])
        assert result.exit_code == 0, result.output
        assert f"{NAME}: challenger weight 0.25, shadow true" in result.output
        tags: dict[str, Any] = reg.get(NAME).tags
        assert (tags[WEIGHT_TAG], tags[SHADOW_TAG]) == ("0.25", "true")
    finally:
        reg.set_tag(NAME, WEIGHT_TAG, None)
        reg.set_tag(NAME, SHADOW_TAG, None)
        get_settings.cache_clear()


def test_classify_routes_by_request_key_too(reg: MlflowRegistry) -> None:
    from fastapi.testclient import TestClient

    from serving.app import create_app

    reg.set_tag(NAME, WEIGHT_TAG, "0.5")
    try:
        with TestClient(create_app(ModelHub(reg))) as http:

            def arm(key: str) -> tuple[int, str]:
                body = {"text": "南村镇路灯不亮", "model": NAME}
                out = http.post("/v1/events/classify", json=body, headers={"X-Request-Key": key}).json()
                return out["version"], out.get("arm", "champion")

            keys = [f"k{i}" for i in range(30)]
            first = [arm(k) for k in keys]
            assert first == [(2, "challenger") if bucket(NAME, k) < 0.5 else (1, "champion") for k in keys]
            assert [arm(k) for k in keys] == first
    finally:
        reg.set_tag(NAME, WEIGHT_TAG, None)
