"""Components and pipelines in a real registry: the round trip of every component, the default pipeline against
its steps run by hand, lineage, and a pipeline whose steps do not connect refused before anything is written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from models.components.base import available_components, register_component
from models.components.pipeline import ModelStep, load_registered, register_pipeline
from registry import MlflowRegistry, ValidationError
from tests.unit.test_component_contract import same

DEFAULT_PIPELINE = Path(__file__).resolve().parents[2] / "models" / "components" / "defaults" / "report_intake.yaml"


@pytest.fixture
def reg(bootstrapped: MlflowRegistry) -> MlflowRegistry:
    return bootstrapped


@pytest.mark.parametrize("name", sorted(available_components()))
def test_every_component_round_trips_through_the_registry(reg: MlflowRegistry, name: str) -> None:
    component = available_components()[name]()
    version = register_component(reg, component)
    assert register_component(reg, component).version == version.version  # same spec: no new version
    again = load_registered(reg, f"{name}@production")
    assert type(again) is type(component) and again.get_params() == component.get_params()
    for example in component.examples:
        assert same(again(example), component(example))


def test_the_default_pipeline_equals_its_steps_run_by_hand(reg: MlflowRegistry) -> None:
    pipeline = load_registered(reg, "report-intake@production")
    pipeline.setup(reg)
    names = [s.name for s in pipeline.spec.steps]  # type: ignore[attr-defined]
    assert names == ["text.normalize", "privacy.mask", "geo.resolve_area", "model"]
    steps = [available_components()[n]() for n in names[:3]]
    model = ModelStep("event-classifier@champion")
    model.setup(reg)
    reports = [
        {"text": "東閣街辦門口垃圾堆了一周，電話13812345678", "channel": "app"},
        {"text": "南村镇政府附近路灯不亮，身份证11010519491231002X"},
        {"text": "不知道找谁"},
    ]
    by_hand: list[Any] = []
    for report in reports:
        record = dict(report)
        for step in [*steps, model]:
            record = step(record)
        by_hand.append(record)
    assert same(pipeline.batch(reports), by_hand)
    assert same([pipeline(r) for r in reports], by_hand)
    first = by_hand[0]
    assert first["text"].startswith("东阁街办") and "138****5678" in first["text"] and first["channel"] == "app"
    assert first["area"]["label"] == "东阁街道" and first["model"] == {"name": "event-classifier", "version": 1}


def test_the_contract_holds_for_the_registered_pipeline(reg: MlflowRegistry) -> None:
    from tests.unit import test_component_contract as contract

    pipeline = load_registered(reg, "report-intake@production")
    pipeline.setup(reg)
    assert pipeline.examples
    contract.test_examples_satisfy_both_schemas(pipeline)
    contract.test_batch_equals_the_map_of_single_calls(pipeline)
    contract.test_the_input_is_never_changed(pipeline)
    contract.test_bad_input_is_refused_naming_the_component(pipeline)


def test_pipeline_lineage_names_every_component_and_the_model_version(reg: MlflowRegistry) -> None:
    ups = {(r.kind, r.name, r.version) for r in reg.lineage("report-intake", 1)}
    assert ups == {
        ("component", "text.normalize", "1"),
        ("component", "privacy.mask", "1"),
        ("component", "geo.resolve_area", "1"),
        ("model", "event-classifier", "1"),
    }
    assert reg.get("report-intake").kind == "component"


def test_a_pipeline_that_does_not_connect_is_refused_with_its_place(reg: MlflowRegistry, tmp_path: Path) -> None:
    bad = tmp_path / "frames.yaml"
    bad.write_text(
        "pipeline: frames\nsteps:\n  - component: privacy.mask\n  - component: image.decode\n"
        "  - model: event-classifier@champion\n",
        encoding="utf-8",
    )
    with pytest.raises(ValidationError, match=rf"^{bad}:4:5: step 2 \(image\.decode\) needs field 'image'"):
        register_pipeline(reg, bad)
    with pytest.raises(KeyError):
        reg.get("frames")


@pytest.fixture(scope="module")
def http(bootstrapped: MlflowRegistry) -> Any:
    from fastapi.testclient import TestClient

    from serving.app import create_app
    from serving.model_hub import ModelHub

    with TestClient(create_app(ModelHub(bootstrapped))) as client:
        yield client


def test_components_over_http(http: Any) -> None:
    listed = http.get("/v1/components").json()
    assert {c["name"] for c in listed["components"]} >= {"text.normalize", "privacy.mask", "geo.resolve_area"}
    assert [p["name"] for p in listed["pipelines"]] == ["report-intake"]
    masked = http.post("/v1/components/privacy.mask", json={"record": {"text": "电话13812345678"}})
    assert masked.status_code == 200 and masked.json()["record"]["text"] == "电话138****5678"
    image = available_components()["image.decode"].examples[0]
    decoded = http.post("/v1/components/image.decode", json={"records": [image, image]}).json()["records"]
    assert decoded[0]["pixels"] == {"shape": [3, 4, 3], "dtype": "uint8"} and len(decoded) == 2


def test_pipeline_over_http_equals_the_pipeline_in_process(http: Any, reg: MlflowRegistry) -> None:
    pipeline = load_registered(reg, "report-intake@production")
    pipeline.setup(reg)
    report = {"text": "古岘镇有人焚烧秸秆，烟很大，我的电话是13912345678"}
    served = http.post("/v1/pipelines/report-intake", json={"record": report})
    assert served.status_code == 200, served.text
    assert same(served.json()["record"], pipeline(report))


@pytest.mark.parametrize(
    ("path", "body", "status", "says"),
    [
        ("/v1/components/privacy.mask", {"record": {"txt": "x"}}, 422, "privacy.mask: record field"),
        ("/v1/components/privacy.mask", {"record": {"text": "x"}, "records": [{"text": "y"}]}, 400, "exactly one of"),
        ("/v1/components/no.such", {"record": {"text": "x"}}, 404, "no component 'no.such'"),
        ("/v1/pipelines/no-such", {"record": {"text": "x"}}, 404, "no pipeline 'no-such'"),
        ("/v1/pipelines/privacy.mask", {"record": {"text": "x"}}, 404, "is served at /v1/components/privacy.mask"),
        ("/v1/components/image.decode", {"record": {"image": "bm90IGFuIGltYWdl"}}, 400, "not JPEG or PNG"),
    ],
)
def test_bad_component_requests_get_a_clear_4xx(http: Any, path: str, body: dict, status: int, says: str) -> None:
    response = http.post(path, json=body)
    assert response.status_code == status and says in response.json()["error"], response.text


def test_a_broken_pipeline_version_never_replaces_the_served_one(reg: MlflowRegistry, tmp_path: Path) -> None:
    from models.components.shelf import ComponentShelf
    from serving.model_hub import ModelHub

    shelf = ComponentShelf(ModelHub(reg), refresh_interval=0)
    good = tmp_path / "masking.yaml"
    good.write_text("pipeline: masking\nsteps:\n  - component: text.normalize\n  - component: privacy.mask\n", "utf-8")
    register_pipeline(reg, good)
    assert shelf.get("masking", pipeline=True)({"text": "電話13812345678"})["text"] == "电话138****5678"
    broken = tmp_path / "broken" / "masking.yaml"
    broken.parent.mkdir()
    broken.write_text("pipeline: masking\nsteps:\n  - component: privacy.mask\n  - component: image.decode\n", "utf-8")
    bad = reg.register("component", "masking", broken, tags={"component.type": "pipeline"})  # past the checks
    reg.set_alias("masking", "production", bad.version)
    assert shelf.get("masking", pipeline=True)({"text": "電話13812345678"})["text"] == "电话138****5678"
    reg.set_alias("masking", "production", 1)
