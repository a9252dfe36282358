"""Small real artifacts of every kind for the registry tests: ONNX, JSON, YAML, folders, torch, sklearn."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


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


def linear_torch(weights: tuple[float, float, float] = (1.0, 2.0, 3.0), bias: float = 0.5) -> Any:
    """``y = x · weights + bias`` as a ``torch.nn.Linear(3, 1)``."""
    import torch

    module = torch.nn.Linear(3, 1)
    with torch.no_grad():
        module.weight.copy_(torch.tensor([list(weights)]))
        module.bias.fill_(bias)
    return module


def linear_sklearn(scale: float = 1.0) -> tuple[Any, np.ndarray]:
    """A ``LinearRegression`` fitted to ``y = scale · (x0 + x1 + x2)`` exactly, and its training inputs."""
    from sklearn.linear_model import LinearRegression

    x = np.array([[0, 0, 1], [1, 0, 0], [0, 1, 1], [1, 1, 0], [2, 0, 1], [0, 3, 1]], dtype=np.float64)
    return LinearRegression().fit(x, scale * x.sum(axis=1)), x


def artifact_case(case: str, tmp_path: Path, variant: int) -> tuple[Any, Any]:
    """(artifact, input_example) of a case, ``kind`` or ``model:family``. On a row of ones the torch and sklearn
    models output ``3 · variant``, the ONNX model ``4 · variant`` per output."""
    if case == "model:torch":
        return linear_torch((float(variant),) * 3, 0.0), np.ones((1, 3), dtype=np.float32)
    if case == "model:sklearn":
        model, x = linear_sklearn(float(variant))
        return model, x[:2]
    return make_artifact(case.split(":")[0], tmp_path, variant), None
