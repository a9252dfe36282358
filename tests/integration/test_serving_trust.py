"""What a serving process loads from the registry (issue 20, item 9): data formats only per kind, never a pickle or
an artifact's code; paths an ``MLmodel`` names stay inside its folder; a cached copy is checked like a download."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from registry import InvalidAsset, MlflowRegistry
from registry.loading import SERVING_FORMATS, onnx_file

MARKER_ENV = "CITYMIND_TEST_MARKER"


class Marker:  # a pyfunc whose loading runs code: it writes the file its environment names
    def load_context(self, context: Any) -> None:
        import os

        Path(os.environ[MARKER_ENV]).write_text("ran", encoding="utf-8")

    def predict(self, context: Any, model_input: Any) -> Any:
        return model_input


def test_a_serving_registry_never_runs_a_versions_code(
    reg: MlflowRegistry, tmp_path: Path, unique: str, monkeypatch: pytest.MonkeyPatch, point_mlflow: Any
) -> None:
    import mlflow
    import mlflow.pyfunc

    marker = tmp_path / "ran.txt"
    monkeypatch.setenv(MARKER_ENV, str(marker))
    name = f"foreign-{unique}"
    point_mlflow(reg.tracking_uri)
    with mlflow.start_run(experiment_id=reg.experiment_id()):
        mlflow.pyfunc.log_model(
            name="model", python_model=_marker_model(), registered_model_name=name, pip_requirements=["mlflow"]
        )
    serving = MlflowRegistry(reg.tracking_uri, artifact_location=reg.artifact_location, formats=SERVING_FORMATS)
    with pytest.raises(InvalidAsset, match=r"stored as 'unknown'; a serving process loads models stored as \['onnx'\]"):
        serving.load(f"{name}/1")
    assert not marker.exists()  # refused before any download or unpickling
    reg.load(f"{name}/1")  # the same version through a registry that loads anything: its code runs
    assert marker.read_text(encoding="utf-8") == "ran"


def _marker_model() -> Any:
    import mlflow.pyfunc

    class MarkerModel(Marker, mlflow.pyfunc.PythonModel):
        pass

    return MarkerModel()


def test_an_mlmodel_naming_a_path_outside_its_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "MLmodel").write_text("flavors:\n  onnx:\n    data: ../../../etc/passwd\n", encoding="utf-8")
    with pytest.raises(InvalidAsset, match="outside its folder"):
        onnx_file(folder)
    (folder / "MLmodel").write_text("flavors:\n  onnx:\n    data: model.onnx\n", encoding="utf-8")
    assert onnx_file(folder) == (folder / "model.onnx").resolve()


def test_a_cached_copy_that_changed_is_downloaded_again(reg: MlflowRegistry, tmp_path: Path, unique: str) -> None:
    spec = {"format": "citymind.component/1", "component": "text.normalize", "params": {}}
    source = tmp_path / "asset.json"
    source.write_text(json.dumps(spec), encoding="utf-8")
    name = f"cached-{unique}"
    reg.register("component", name, source)
    first = Path(reg.load(f"{name}/1"))
    stored = next(p for p in ([first] if first.is_file() else first.rglob("asset.json")))
    stored.write_text('{"format": "citymind.component/1", "component": "privacy.mask"}', encoding="utf-8")
    again = Path(reg.load(f"{name}/1"))
    found = next(p for p in ([again] if again.is_file() else again.rglob("asset.json")))
    assert json.loads(found.read_text(encoding="utf-8")) == spec
