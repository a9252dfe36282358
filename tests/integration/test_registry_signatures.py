"""Model versions carry MLflow signatures; saved models load in a plain MLflow (both stores)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pytest
import yaml
from mlflow.models import Model, ModelSignature
from mlflow.pyfunc import PythonModel
from mlflow.types import Schema, TensorSpec

from registry import MlflowRegistry
from tests.integration._assets import linear_sklearn, linear_torch, make_artifact, tiny_onnx


def doubler() -> PythonModel:
    """A pyfunc model without type hints (MLflow would take the signature from them, not the example); MLflow
    warns about that when the class is made."""
    with pytest.warns(UserWarning, match="type hints"):

        class Doubler(PythonModel):
            def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
                return np.asarray(model_input) * 2

    return Doubler()


def artifact(family: str, tmp_path: Path) -> Any:
    return {
        "onnx": lambda: tiny_onnx(tmp_path / "m.onnx"),
        "torch": linear_torch,
        "sklearn": lambda: linear_sklearn()[0],
        "pyfunc": doubler,
    }[family]()


@pytest.mark.parametrize(
    ("family", "example", "inputs", "outputs"),
    [
        ("onnx", None, [("float32", (-1, 4))], [("float32", (-1, 2))]),
        ("torch", np.ones((1, 3), np.float32), [("float32", (-1, 3))], [("float32", (-1, 1))]),
        ("sklearn", np.ones((2, 3)), [("float64", (-1, 3))], [("float64", (-1,))]),
        ("pyfunc", np.ones((2, 3)), [("float64", (-1, 3))], [("float64", (-1, 3))]),
    ],
)
def test_models_get_a_signature_from_their_graph_or_input_example(
    registry: MlflowRegistry, tmp_path: Path, unique: str, family: str, example: Any, inputs: Any, outputs: Any
) -> None:
    name = f"sig-{family}-{unique}"
    registry.register("model", name, artifact(family, tmp_path), input_example=example)
    signature = Model.load(str(registry.download(name))).signature

    def specs(schema: Schema) -> list[tuple[str, tuple[int, ...]]]:
        return [(str(spec.type), tuple(spec.shape)) for spec in schema.inputs]

    assert (specs(signature.inputs), specs(signature.outputs)) == (inputs, outputs)


def test_an_explicit_signature_wins_over_the_example(registry: MlflowRegistry, unique: str) -> None:
    given = ModelSignature(Schema([TensorSpec(np.dtype("float64"), (-1, 3), "features")]))
    name = f"sig-given-{unique}"
    registry.register("model", name, linear_sklearn()[0], signature=given, input_example=np.ones((2, 3)))
    assert Model.load(str(registry.download(name))).signature.inputs == given.inputs


def test_torch_is_saved_without_pickle_and_serves_any_batch(registry: MlflowRegistry, unique: str) -> None:
    name = f"torch-pt2-{unique}"
    registry.register("model", name, linear_torch(), input_example=np.ones((1, 3), np.float32))
    folder = registry.download(name)
    flavour = yaml.safe_load((folder / "MLmodel").read_text())["flavors"]["pytorch"]
    files = sorted(p.name for p in (folder / flavour["model_data"]).iterdir())
    assert files == ["model.pt2"]  # torch.export archive; a pickled model would be model.pth
    batch = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]], dtype=np.float32)
    predicted = mlflow.pyfunc.load_model(str(folder)).predict(batch)
    assert np.asarray(predicted).ravel().tolist() == [1.5, 2.5, 3.5, 6.5]


def test_file_assets_load_in_plain_mlflow_without_citymind(
    registry: MlflowRegistry, tmp_path: Path, unique: str
) -> None:
    name = f"plain-{unique}"
    registry.register("rule", name, make_artifact("rule", tmp_path, 1))
    folder = registry.download(name)
    assert (folder / "requirements.txt").read_text().split() == [f"mlflow=={mlflow.__version__}"]
    script = (
        "import sys; sys.modules['registry'] = None  # as if citymind were not installed\n"
        "import mlflow.pyfunc\n"
        f"print(mlflow.pyfunc.load_model({str(folder)!r}).predict(None))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "['rules1.yaml']"
