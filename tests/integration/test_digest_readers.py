"""The integrity digest refuses changed artifacts, but not what readers add: a plain MLflow client loading a
version by ``models:/`` writes ``registered_model_meta`` into a local store, Python leaves ``__pycache__``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from registry import MlflowRegistry


def test_a_plain_mlflow_read_does_not_break_serving(
    bootstrapped: MlflowRegistry, tmp_path: Path, point_mlflow: Any
) -> None:
    import mlflow

    from serving.model_hub import ModelHub

    point_mlflow(bootstrapped.tracking_uri)
    loaded: Any = mlflow.pyfunc.load_model("models:/event-classifier/1")  # what a data scientist might do
    assert loaded is not None
    fresh = MlflowRegistry(
        bootstrapped.tracking_uri, artifact_location=bootstrapped.artifact_location, cache_dir=tmp_path / "cache"
    )
    served = ModelHub(fresh).get("event-classifier")
    assert served.version == 1 and served.classes
