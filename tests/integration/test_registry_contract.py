"""One contract suite: every registry operation, for all five kinds, on the embedded store and a real server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from registry import AliasError, AssetNotFound, InvalidAsset, Kind, LineageRef, MlflowRegistry

KINDS = [k.value for k in Kind]


def make_artifact(kind: str, tmp_path: Path, variant: int) -> Any:
    """A realistic artifact of each kind: an ONNX model, a JSON algorithm card, YAML rules, a folder."""
    if kind == "model":
        return tiny_onnx(tmp_path / f"m{variant}.onnx", scale=float(variant))
    if kind == "algorithm":
        return {"family": "char-ngram-linear", "defaults": {"C": 1.0 + variant}}
    if kind == "rule":
        path = tmp_path / f"rules{variant}.yaml"
        path.write_text(
            f"groups:\n  - name: g\n    rules:\n      - id: r{variant}\n        when: x > {variant}\n",
            encoding="utf-8",
        )
        return path
    if kind == "knowledge":
        folder = tmp_path / f"kg{variant}"
        folder.mkdir()
        (folder / "graph.json").write_text(
            json.dumps(
                {"nodes": [{"id": "area:nancun", "label": "南村镇"}], "edges": [], "v": variant},
                ensure_ascii=False,
            )
        )
        return folder
    path = tmp_path / f"component{variant}.yaml"
    path.write_text(f"name: text.normalize\nversion: {variant}\n", encoding="utf-8")
    return path


def tiny_onnx(path: Path, scale: float = 1.0) -> Path:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.full((4, 2), scale, dtype=np.float32), "W")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["y"])],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2])],
        [weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize("kind", KINDS)
def test_register_version_alias_resolve_load_rollback(
    registry: MlflowRegistry, kind: str, tmp_path: Path, unique: str
) -> None:
    name = f"{kind}-{unique}"
    v1 = registry.register(kind, name, make_artifact(kind, tmp_path, 1), description="first", tags={"city": "pingdu"})
    v2 = registry.register(kind, name, make_artifact(kind, tmp_path, 2), tags={"city": "pingdu"})
    assert (v1.version, v2.version) == (1, 2)
    assert v1.kind == Kind(kind) and v1.tags["city"] == "pingdu"
    assert [v.version for v in registry.versions(name)] == [1, 2]

    asset = registry.get(name, kind=kind)
    assert asset.kind == Kind(kind) and asset.latest_version == 2 and asset.description == "first"
    assert name in [a.name for a in registry.list(kind)]
    assert name in [a.name for a in registry.search(kind=kind, tags={"citymind.kind": kind})]
    assert name not in [a.name for a in registry.list("model" if kind != "model" else "rule")]

    assert registry.set_alias(name, "champion", 1).aliases == ("champion",)
    assert registry.set_alias(name, "champion", 2).aliases == ("champion",)
    assert registry.resolve(f"models:/{name}@champion").version == 2
    assert registry.resolve(f"{name}/1").version == 1 and registry.resolve(name).version == 2

    loaded = registry.load(f"models:/{name}@champion")
    assert_loaded(kind, loaded, variant=2)

    assert registry.rollback(name, "champion").version == 1
    assert registry.resolve(f"{name}@champion").version == 1
    assert_loaded(kind, registry.load(f"{name}@champion"), variant=1)
    registry.delete_alias(name, "champion")
    assert "champion" not in registry.get(name).aliases


def assert_loaded(kind: str, loaded: Any, variant: int) -> None:
    if kind == "model":
        import numpy as np
        import onnxruntime as ort

        session = ort.InferenceSession(str(loaded), providers=["CPUExecutionProvider"])
        out = session.run(None, {"x": np.ones((1, 4), dtype=np.float32)})[0]
        assert out.tolist() == [[4.0 * variant, 4.0 * variant]]
    elif kind == "algorithm":
        assert json.loads((loaded / "asset.json").read_text())["defaults"]["C"] == 1.0 + variant
    elif kind == "rule":
        assert f"r{variant}" in (loaded / f"rules{variant}.yaml").read_text()
    elif kind == "knowledge":
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
    with pytest.raises(AliasError, match="versions are \\[1\\]"):
        registry.set_alias(name, "champion", 7)
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"this is not a protobuf")
    with pytest.raises(InvalidAsset, match="not a valid ONNX model"):
        registry.register("model", name, garbage)
    broken = tmp_path / "broken.yaml"
    broken.write_text("groups: [unclosed\n", encoding="utf-8")
    with pytest.raises(InvalidAsset, match="does not parse as YAML"):
        registry.register("rule", f"rules-{unique}", broken)
    with pytest.raises(InvalidAsset, match="already registered as a model"):
        registry.register("rule", name, make_artifact("rule", tmp_path, 1))
    with pytest.raises(InvalidAsset, match="Cannot register"):
        registry.register("model", f"obj-{unique}", object())
    with pytest.raises(AliasError, match="no earlier version"):
        registry.rollback(name, "champion")

    assert [v.version for v in registry.versions(name)] == [1]
    assert registry.resolve(f"{name}@champion").version == 1
    assert [a.name for a in registry.list()] == before


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
