"""One contract suite: every registry operation, for all five kinds, on the embedded store and a real server."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from registry import AliasError, AssetNotFound, InvalidAsset, Kind, LineageRef, MlflowRegistry, ValidationError
from tests.integration._assets import artifact_case, linear_torch, make_artifact, tiny_onnx

KINDS = [k.value for k in Kind]
#: every kind (models as ONNX) plus the other model families
CASES = [*KINDS, "model:torch", "model:sklearn"]


@pytest.mark.parametrize("case", CASES)
def test_register_version_alias_resolve_load_rollback(
    registry: MlflowRegistry, case: str, tmp_path: Path, unique: str
) -> None:
    kind = case.split(":")[0]
    name = f"{case.replace(':', '-')}-{unique}"
    art1, example1 = artifact_case(case, tmp_path, 1)
    art2, example2 = artifact_case(case, tmp_path, 2)
    v1 = registry.register(kind, name, art1, description="first", tags={"city": "pingdu"}, input_example=example1)
    v2 = registry.register(kind, name, art2, tags={"city": "pingdu"}, input_example=example2)
    assert (v1.version, v2.version) == (1, 2)
    assert v1.kind == Kind(kind) and v1.tags["city"] == "pingdu"
    assert [v.version for v in registry.versions(name)] == [1, 2]

    asset = registry.get(name, kind=kind)
    assert asset.kind == Kind(kind) and asset.latest_version == 2 and asset.description == "first"
    assert [a.latest_version for a in registry.list(kind) if a.name == name] == [2]  # read with the search page
    assert name in [a.name for a in registry.search(kind=kind, tags={"citymind.kind": kind})]
    assert name not in [a.name for a in registry.list("model" if kind != "model" else "rule")]

    assert registry.set_alias(name, "champion", 1).aliases == ("champion",)
    assert registry.set_alias(name, "champion", 2).aliases == ("champion",)
    assert registry.resolve(f"models:/{name}@champion").version == 2
    assert registry.resolve(f"{name}/1").version == 1 and registry.resolve(name).version == 2

    loaded = registry.load(f"models:/{name}@champion")
    assert_loaded(case, loaded, variant=2)

    assert registry.rollback(name, "champion").version == 1
    assert registry.resolve(f"{name}@champion").version == 1
    assert_loaded(case, registry.load(f"{name}@champion"), variant=1)
    registry.delete_alias(name, "champion")
    assert "champion" not in registry.get(name).aliases


def assert_loaded(case: str, loaded: Any, variant: int) -> None:
    if case == "model":
        import onnxruntime as ort

        session = ort.InferenceSession(str(loaded), providers=["CPUExecutionProvider"])
        out = session.run(None, {"x": np.ones((1, 4), dtype=np.float32)})[0]
        assert out.tolist() == [[4.0 * variant, 4.0 * variant]]
    elif case == "model:torch":
        import torch

        assert loaded(torch.ones(5, 3)).detach().numpy().ravel().tolist() == [3.0 * variant] * 5
    elif case == "model:sklearn":
        assert loaded.predict(np.ones((2, 3))) == pytest.approx([3.0 * variant] * 2)
    elif case == "algorithm":
        assert json.loads((loaded / "asset.json").read_text())["defaults"]["C"] == 1.0 + variant
    elif case == "rule":
        assert f"r{variant}" in (loaded / f"rules{variant}.yaml").read_text()
    elif case == "knowledge":
        assert json.loads((loaded / "graph.json").read_text())["v"] == variant
    else:
        assert f"version: {variant}" in (loaded / f"component{variant}.yaml").read_text()


def test_lineage_is_traceable_up_and_down(registry: MlflowRegistry, tmp_path: Path, unique: str) -> None:
    algo = registry.register("algorithm", f"algo-{unique}", {"family": "linear"})
    comp = registry.register("component", f"comp-{unique}", make_artifact("component", tmp_path, 1))
    dataset = LineageRef("dataset", "tipdm2020", detail={"digest": "sha256:abc", "source": "file.csv"})
    model = registry.register(
        "model",
        f"clf-{unique}",
        tiny_onnx(tmp_path / "m.onnx"),
        lineage=[
            {"kind": "algorithm", "name": algo.name, "version": algo.version},
            {"kind": "component", "name": comp.name, "version": comp.version},
            dataset,
        ],
    )
    up = registry.lineage(model.name, model.version, "up")
    assert {str(r) for r in up} == {
        f"algorithm:{algo.name}/1",
        f"component:{comp.name}/1",
        "dataset:tipdm2020",
    }
    assert next(r for r in up if r.kind == "dataset").detail["digest"] == "sha256:abc"
    down = registry.lineage(algo.name, 1, "down")
    assert [(r.kind, r.name, r.version) for r in down] == [("model", model.name, "1")]
    assert registry.lineage(comp.name, 1, direction="down")[0].name == model.name
    assert registry.lineage(model.name, 1, "down") == []


def test_bad_input_raises_clear_errors_and_changes_nothing(
    registry: MlflowRegistry, tmp_path: Path, unique: str
) -> None:
    name = f"stable-{unique}"
    registry.register("model", name, tiny_onnx(tmp_path / "ok.onnx"))
    registry.set_alias(name, "champion", 1)
    before = [a.name for a in registry.list()]

    with pytest.raises(ValueError, match="must be one of"):
        registry.register("dataset", name, tiny_onnx(tmp_path / "ok.onnx"))
    with pytest.raises(AssetNotFound, match="Did you mean"):
        registry.get(name[:-1] + "x")
    with pytest.raises(AliasError, match=re.escape(f"Version 7 of model '{name}' does not exist")):
        registry.set_alias(name, "champion", 7)
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"this is not a protobuf")
    with pytest.raises(InvalidAsset, match=f"Cannot register model '{name}': .*not a valid ONNX model"):
        registry.register("model", name, garbage)
    with pytest.raises(InvalidAsset, match=f"{tmp_path / 'gone.onnx'} does not exist"):
        registry.register("model", name, tmp_path / "gone.onnx")
    script = tmp_path / "train.py"
    script.write_text("print('a model')\n", encoding="utf-8")
    with pytest.raises(InvalidAsset, match=f"Cannot register model '{name}': {script} is not a model: register an"):
        registry.register("model", name, script)
    broken = tmp_path / "broken.yaml"
    broken.write_text("groups: [unclosed\n", encoding="utf-8")
    with pytest.raises(InvalidAsset, match=f"Cannot register rule 'rules-{unique}': .*does not parse as YAML"):
        registry.register("rule", f"rules-{unique}", broken)
    with pytest.raises(InvalidAsset, match="already registered as a model"):
        registry.register("rule", name, make_artifact("rule", tmp_path, 1))
    with pytest.raises(InvalidAsset, match=f"Cannot register model 'obj-{unique}': an artifact of type object"):
        registry.register("model", f"obj-{unique}", object())
    with pytest.raises(AliasError, match=f"model '{name}'@champion is at version 1 and has no earlier version"):
        registry.rollback(name, "champion")
    with pytest.raises(AliasError, match=f"model '{name}' has no alias 'production' to roll back"):
        registry.rollback(name, "production")
    with pytest.raises(AliasError, match=f"model '{name}' has no alias 'production' to delete"):
        registry.delete_alias(name, "production")
    with pytest.raises(ValidationError, match=r"direction must be 'up' or 'down'\. Got 'sideways'"):
        registry.lineage(name, 1, "sideways")  # type: ignore[arg-type]

    with pytest.raises(AssetNotFound, match=re.escape(f"Did you mean {name}@champion?")):
        registry.resolve(f"{name}@champin")

    assert [v.version for v in registry.versions(name)] == [1]
    assert registry.resolve(f"{name}@champion").version == 1
    assert [a.name for a in registry.list()] == before


def test_model_families_reject_what_they_cannot_save(registry: MlflowRegistry, unique: str) -> None:
    name = f"torch-bad-{unique}"
    with pytest.raises(InvalidAsset, match=f"Cannot register model '{name}': a torch.nn.Module needs input_example"):
        registry.register("model", name, linear_torch())
    wrong_width = np.ones((2, 5), dtype=np.float32)  # Linear(3, 1) cannot run on 5 features
    with pytest.raises(InvalidAsset, match=f"Cannot register model '{name}': MLflow could not save this Linear"):
        registry.register("model", name, linear_torch(), input_example=wrong_width)
    with pytest.raises(InvalidAsset, match="file assets take no inputs"):
        registry.register("algorithm", f"card-{unique}", {"family": "linear"}, input_example=np.ones((1, 3)))
    assert registry.search(name_contains=unique) == []


def test_search_by_version_tags_kind_and_name(registry: MlflowRegistry, tmp_path: Path, unique: str) -> None:
    rules = registry.register("rule", f"Rules-{unique}", make_artifact("rule", tmp_path, 1), tags={"city": "pingdu"})
    registry.register("rule", rules.name, make_artifact("rule", tmp_path, 2), tags={"city": "qingdao"})
    kg = registry.register("knowledge", f"kg-{unique}", {"towns": ["南村镇"]}, tags={"city": "pingdu", "tier": "1"})
    registry.register("algorithm", f"algo-{unique}", {"family": "linear"}, tags={"city": "jimo"})

    def names(**query: Any) -> list[str]:
        return [a.name for a in registry.search(name_contains=unique, **query)]

    assert names(tags={"city": "pingdu"}) == [rules.name, kg.name]  # any version carries the tag
    assert names(tags={"city": "qingdao"}) == [rules.name]
    assert names(kind="knowledge", tags={"city": "pingdu"}) == [kg.name]
    assert names(tags={"city": "pingdu", "tier": "1"}) == [kg.name]  # all tags on one version
    assert names(tags={"city": "qingdao", "tier": "1"}) == []
    assert names(tags={"city": "hangzhou"}) == []
    assert names() == sorted([rules.name, kg.name, f"algo-{unique}"])
    assert [a.name for a in registry.search(name_contains=f"rules-{unique.upper()}")] == [rules.name]
    assert [a.name for a in registry.search(tags={"city": "pingdu"}, name_contains=f"kg-{unique}")] == [kg.name]


def test_lineage_must_name_registered_assets(registry: MlflowRegistry, tmp_path: Path, unique: str) -> None:
    algo = registry.register("algorithm", f"algo-{unique}", {"family": "linear"})
    name = f"clf-{unique}"

    def register(*refs: dict[str, Any]) -> Any:
        return registry.register("model", name, tiny_onnx(tmp_path / "m.onnx"), lineage=list(refs))

    with pytest.raises(AssetNotFound, match=f"Lineage of model '{name}' names algorithm:nope-{unique}, which is not"):
        register({"kind": "algorithm", "name": f"nope-{unique}"})
    with pytest.raises(AssetNotFound, match=re.escape(f"Version 4 of algorithm '{algo.name}' does not exist")):
        register({"kind": "algorithm", "name": algo.name, "version": 4})
    with pytest.raises(AssetNotFound, match=f"The component '{algo.name}' is not in the registry"):
        register({"kind": "component", "name": algo.name})  # registered, but as an algorithm
    with pytest.raises(InvalidAsset, match=r"kind must be one of \{model, algorithm, rule, knowledge, component, "):
        register({"kind": "paper", "name": "attention"})
    with pytest.raises(InvalidAsset, match="dicts with 'kind' and 'name'"):
        register({"name": algo.name})
    assert registry.search(name_contains=name) == []

    model = register(
        {"kind": "algorithms", "name": algo.name, "version": 1},
        {"kind": "dataset", "name": "tipdm2020", "digest": "sha256:abc"},
        {"kind": "run", "name": "0123abcd"},
    )
    assert [str(r) for r in model.lineage] == [f"algorithm:{algo.name}/1", "dataset:tipdm2020", "run:0123abcd"]
    assert registry.lineage(algo.name, 1, "down") == [LineageRef("model", name, "1")]


def test_plain_mlflow_client_sees_what_citymind_sees(registry: MlflowRegistry, tmp_path: Path, unique: str) -> None:
    from mlflow import MlflowClient

    name = f"visible-{unique}"
    registry.register("rule", name, make_artifact("rule", tmp_path, 1))
    registry.register("rule", name, make_artifact("rule", tmp_path, 2))
    registry.set_alias(name, "production", 2)

    client = MlflowClient(tracking_uri=registry.tracking_uri, registry_uri=registry.tracking_uri)
    rm = client.get_registered_model(name)
    assert rm.tags["citymind.kind"] == "rule"
    assert {a: int(v) for a, v in rm.aliases.items()} == {"production": 2}
    assert int(client.get_model_version_by_alias(name, "production").version) == 2
    versions = client.search_model_versions(f"name = '{name}'")
    assert sorted(int(v.version) for v in versions) == [1, 2]
    assert all(v.tags["citymind.kind"] == "rule" for v in versions)
    found = client.search_registered_models(filter_string="tags.`citymind.kind` = 'rule'")
    assert name in [m.name for m in found]


def test_an_alias_resolves_to_the_whole_version(registry: MlflowRegistry, tmp_path: Path, unique: str) -> None:
    from mlflow import MlflowClient

    name = f"resolved-{unique}"
    registry.register("rule", name, make_artifact("rule", tmp_path, 1), tags={"city": "pingdu"})
    registry.set_alias(name, "production", 1)
    registry.set_alias(name, "staging", 1)
    resolved = registry.resolve(f"{name}@production")
    assert resolved == registry.version(name, 1)
    assert resolved.aliases == ("production", "staging") and resolved.tags["city"] == "pingdu"

    # a version made by another MLflow client carries no citymind tags: it takes the asset's kind
    client = MlflowClient(tracking_uri=registry.tracking_uri, registry_uri=registry.tracking_uri)
    first = client.get_model_version(name, "1")
    foreign = client.create_model_version(name, first.source, run_id=first.run_id)
    client.set_registered_model_alias(name, "foreign", foreign.version)
    resolved = registry.resolve(f"{name}@foreign")
    assert (resolved.kind, resolved.version, resolved.aliases) == (Kind.RULE, 2, ("foreign",))


def test_a_version_made_from_a_run_is_that_run(registry: MlflowRegistry, tmp_path: Path, unique: str) -> None:
    """A training run registers its model into itself: the version's run is the run with its metrics; a second
    model into the same run, or a run the store does not have, is refused and registers nothing."""
    from registry.loading import SERVING_FORMATS

    client, name = registry.client, f"from-run-{unique}"
    run = client.create_run(registry.experiment_id(f"training-{unique}"), run_name=f"train-{name}")
    client.log_metric(run.info.run_id, "macro_f1", 0.8)
    version = registry.register("model", name, tiny_onnx(tmp_path / "m.onnx"), run_id=run.info.run_id)
    assert version.run_id == run.info.run_id and version.source == f"{run.info.artifact_uri}/model"
    assert client.get_run(version.run_id).data.metrics == {"macro_f1": 0.8}
    assert "model/MLmodel" in {a.path for a in client.list_artifacts(run.info.run_id, "model")}
    served = MlflowRegistry(registry.tracking_uri, cache_dir=tmp_path / "served", formats=SERVING_FORMATS)
    assert served.load(f"{name}/1").suffix == ".onnx"  # downloaded and checked against its digest

    with pytest.raises(InvalidAsset, match="already holds a registered model"):
        registry.register("model", name, tiny_onnx(tmp_path / "m2.onnx", 2.0), run_id=run.info.run_id)
    with pytest.raises(InvalidAsset, match="no such run on this store"):
        registry.register("model", name, tiny_onnx(tmp_path / "m3.onnx", 3.0), run_id="0" * 32)
    assert [v.version for v in registry.versions(name)] == [1]


def test_versions_come_a_page_at_a_time_newest_first(registry: MlflowRegistry, tmp_path: Path, unique: str) -> None:
    name = f"paged-{unique}"
    for i in range(5):
        registry.register("rule", name, make_artifact("rule", tmp_path, i))

    def numbers(limit: int, before: int | None = None) -> list[int]:
        return [v.version for v in registry.versions_page(name, limit, before)]

    assert numbers(2) == [5, 4]
    assert numbers(2, before=4) == [3, 2]
    assert numbers(10, before=2) == [1]
    assert numbers(10, before=1) == []
    assert [v.version for v in registry.versions(name)] == [1, 2, 3, 4, 5]  # the whole list, oldest first
