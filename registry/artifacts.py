"""Turn what a user hands to ``register`` into an MLflow model directory, validating it first.

| artifact                                  | format    | MLflow flavour           | signature from        |
|-------------------------------------------|-----------|--------------------------|-----------------------|
| ``.onnx`` path or ``onnx.ModelProto``     | ``onnx``  | onnx                     | the graph             |
| scikit-learn estimator                    | ``sklearn``| sklearn                 | ``input_example``     |
| ``torch.nn.Module``                       | ``pytorch``| pytorch, ``pt2`` (no pickle) | ``input_example`` (required) |
| ``mlflow.pyfunc.PythonModel``             | ``pyfunc``| python_function          | ``input_example``     |
| ``.yaml``/``.yml``/``.json`` file, folder | ``files`` | python_function (loader) | none (no inputs)      |
| ``dict`` / ``list`` (JSON-able)           | ``files`` | python_function (loader) | none (no inputs)      |

An explicit ``signature`` always wins over the inferred one.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from citymind.errors import InvalidAsset
from registry import _files_loader

ONNX_PIP = ["onnx", "onnxruntime"]
#: file assets ship their loader as code, so a plain MLflow (``mlflow models serve``) needs only mlflow
FILES_LOADER_MODULE = "citymind_file_asset"


@dataclass(frozen=True)
class SaveSpec:
    """The asset an artifact becomes, and what describes its inputs (for the MLflow signature)."""

    kind: str
    name: str
    signature: Any = None
    input_example: Any = None

    def invalid(self, message: str) -> InvalidAsset:
        return InvalidAsset(f"Cannot register {self.kind} {self.name!r}: {message}", kind=self.kind, name=self.name)


def save_artifact(artifact: Any, dest: Path, spec: SaveSpec) -> str:
    """Validate ``artifact`` and save it as an MLflow model at ``dest``; return its citymind format."""
    for accepts, save in _WRITERS:
        if accepts(artifact):
            try:
                return save(artifact, dest, spec)
            except InvalidAsset:
                raise
            except Exception as exc:  # flavours raise MlflowException, TypeError, torch export errors...
                raise spec.invalid(
                    f"MLflow could not save this {type(artifact).__name__} ({type(exc).__name__}: {exc}). "
                    "Check the artifact and its input_example/signature."
                ) from exc
    raise spec.invalid(
        f"an artifact of type {type(artifact).__name__} is not supported. Pass a path to an .onnx, .yaml, "
        ".yml or .json file or a folder, an onnx.ModelProto, a scikit-learn estimator, a torch.nn.Module, "
        "an mlflow.pyfunc.PythonModel or a JSON-able dict."
    )


def _module_of(obj: Any) -> str:
    return type(obj).__module__.split(".")[0]


def _as_path(obj: Any) -> Path | None:
    return Path(obj) if isinstance(obj, str | Path) else None


def _is_onnx(obj: Any) -> bool:
    path = _as_path(obj)
    return (path is not None and path.suffix == ".onnx") or type(obj).__name__ == "ModelProto"


def _save_onnx(obj: Any, dest: Path, spec: SaveSpec) -> str:
    import mlflow.onnx
    import onnx

    path = _as_path(obj)
    if path is not None and not path.is_file():
        raise spec.invalid(f"{path} does not exist. Pass the path of the .onnx file to register.")
    try:
        model = onnx.load(str(obj)) if path is not None else obj
        onnx.checker.check_model(model, full_check=False)
    except Exception as exc:  # onnx raises OSError, DecodeError, ValidationError... no common base
        raise spec.invalid(
            f"{_describe(obj)} is not a valid ONNX model ({type(exc).__name__}: {exc}). "
            "Export it again, e.g. with torch.onnx.export or skl2onnx."
        ) from exc
    mlflow.onnx.save_model(
        model,
        str(dest),
        signature=spec.signature or onnx_signature(model),
        input_example=spec.input_example,
        pip_requirements=ONNX_PIP,
        save_as_external_data=False,
    )
    return "onnx"


def _describe(obj: Any) -> str:
    return str(obj) if _as_path(obj) is not None else f"the {type(obj).__name__}"


def onnx_signature(model: Any) -> Any:
    """An MLflow tensor signature read from the ONNX graph's inputs and outputs."""
    import numpy as np
    from mlflow.models import ModelSignature
    from mlflow.types import Schema, TensorSpec
    from onnx import helper

    def specs(values: Any) -> Schema:
        out: list[Any] = []
        for value in values:
            tensor = value.type.tensor_type
            if not value.type.HasField("tensor_type"):
                continue  # sequences/maps (e.g. skl2onnx ZipMap) have no tensor spec
            dtype = np.dtype(helper.tensor_dtype_to_np_dtype(tensor.elem_type))
            if dtype == np.dtype(object):
                dtype = np.dtype(str)
            shape = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in tensor.shape.dim)
            out.append(TensorSpec(dtype, shape, value.name))
        return Schema(out)

    return ModelSignature(inputs=specs(model.graph.input), outputs=specs(model.graph.output))


def onnx_inputs(path: str | Path) -> dict[str, str]:
    """Each input of an ONNX file as ``name: "dtype [shape]"`` (-1: any size): what its callers must send."""
    import onnx

    inputs = onnx_signature(onnx.load(str(path), load_external_data=False)).inputs.inputs
    return {spec.name: f"{spec.type} {list(spec.shape)}" for spec in inputs}


def _is_sklearn(obj: Any) -> bool:
    return _module_of(obj) == "sklearn" or (hasattr(obj, "get_params") and hasattr(obj, "fit"))


def _save_sklearn(obj: Any, dest: Path, spec: SaveSpec) -> str:
    import mlflow.sklearn

    mlflow.sklearn.save_model(
        obj,
        str(dest),
        signature=spec.signature,
        input_example=spec.input_example,
        pip_requirements=["scikit-learn"],
        serialization_format="cloudpickle",
    )
    return "sklearn"


def _is_torch(obj: Any) -> bool:
    return _module_of(obj) == "torch" or any(c.__module__.startswith("torch.nn") for c in type(obj).__mro__)


def _save_torch(obj: Any, dest: Path, spec: SaveSpec) -> str:
    """Save as a ``torch.export`` program (``pt2``): loading it runs no pickle, unlike ``torch.save``."""
    import mlflow.pytorch

    if spec.input_example is None:
        raise spec.invalid(
            "a torch.nn.Module needs input_example=, one batch of its input as a numpy array or tensor "
            "(e.g. np.zeros((2, 3), np.float32)). It is traced into a pickle-free torch.export program "
            "and gives the version its signature."
        )
    was_training = obj.training
    obj.eval()  # a registered model is for inference: trace dropout/batch-norm in eval mode
    try:
        mlflow.pytorch.save_model(
            obj,
            str(dest),
            signature=spec.signature,
            input_example=_batch_of_two(spec.input_example),
            serialization_format="pt2",
            pip_requirements=["torch==2.13.0"],
        )
    finally:
        obj.train(was_training)
    return "pytorch"


def _batch_of_two(example: Any) -> Any:
    """torch.export fixes a batch dimension of size 1 as a constant: repeat a one-row example so the
    exported program (and the signature's ``-1``) accept any batch size."""
    import numpy as np

    if isinstance(example, tuple | list):
        return [_batch_of_two(part) for part in example]
    array = example.detach().cpu().numpy() if hasattr(example, "detach") else np.asarray(example)
    if array.ndim >= 1 and array.shape[0] == 1:
        array = np.concatenate([array, array])
    return array


def _is_python_model(obj: Any) -> bool:
    return any(c.__name__ == "PythonModel" and c.__module__.startswith("mlflow") for c in type(obj).__mro__)


def _save_python_model(obj: Any, dest: Path, spec: SaveSpec) -> str:
    import mlflow.pyfunc

    mlflow.pyfunc.save_model(
        str(dest),
        python_model=obj,
        signature=spec.signature,
        input_example=spec.input_example,
        pip_requirements=["mlflow"],
    )
    return "pyfunc"


def _is_files(obj: Any) -> bool:
    return _as_path(obj) is not None


def _save_files(obj: Any, dest: Path, spec: SaveSpec) -> str:
    src = Path(obj)
    if not src.exists():
        raise spec.invalid(f"{src} does not exist. Pass the path of the file or folder to register.")
    if spec.kind == "model":  # files are what rules, knowledge, algorithm cards and components are made of
        raise spec.invalid(
            f"{src} is not a model: register an .onnx file (export it with skl2onnx or torch.onnx), or from Python "
            "a scikit-learn estimator, a torch.nn.Module or an mlflow.pyfunc.PythonModel."
        )
    files = sorted(p for p in src.rglob("*") if p.is_file()) if src.is_dir() else [src]
    if not files:
        raise spec.invalid(f"{src} is an empty folder: there is nothing to register.")
    for path in files:
        _check_parses(path, spec)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "files"
        if src.is_dir():
            shutil.copytree(src, data)
        else:
            data.mkdir()
            shutil.copy2(src, data / src.name)
        _save_loader_model(data, dest, spec)
    return "files"


def _check_parses(path: Path, spec: SaveSpec) -> None:
    import yaml

    try:
        text = path.read_text(encoding="utf-8") if path.suffix in {".yaml", ".yml", ".json"} else None
        if text is not None and path.suffix == ".json":
            json.loads(text)
        elif text is not None:
            yaml.safe_load(text)
    except (UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        raise spec.invalid(f"{path} does not parse as {path.suffix[1:].upper()}: {exc}") from exc


def _is_jsonable(obj: Any) -> bool:
    return isinstance(obj, dict | list)


def _save_json(obj: Any, dest: Path, spec: SaveSpec) -> str:
    try:
        text = json.dumps(obj, ensure_ascii=False, indent=1)
    except (TypeError, ValueError) as exc:
        raise spec.invalid(f"the asset is not JSON-serialisable: {exc}") from exc
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "files"
        data.mkdir()
        (data / "asset.json").write_text(text, encoding="utf-8")
        _save_loader_model(data, dest, spec)
    return "files"


def _save_loader_model(data: Path, dest: Path, spec: SaveSpec) -> None:
    """A pyfunc whose loader travels with it (``code/``), so nothing is pickled and nothing but mlflow
    needs installing to load it."""
    import mlflow.pyfunc

    if spec.input_example is not None:
        raise spec.invalid("file assets take no inputs, so input_example does not apply. Drop it.")
    with tempfile.TemporaryDirectory() as tmp:
        loader = Path(tmp) / f"{FILES_LOADER_MODULE}.py"
        shutil.copy2(str(_files_loader.__file__), loader)
        mlflow.pyfunc.save_model(
            str(dest),
            loader_module=FILES_LOADER_MODULE,
            data_path=str(data),
            code_paths=[str(loader)],
            signature=spec.signature,
            pip_requirements=[],  # mlflow adds itself
        )


_WRITERS: list[tuple[Callable[[Any], bool], Callable[[Any, Path, SaveSpec], str]]] = [
    (_is_onnx, _save_onnx),
    (_is_files, _save_files),
    (_is_jsonable, _save_json),
    (_is_python_model, _save_python_model),
    (_is_torch, _save_torch),
    (_is_sklearn, _save_sklearn),
]
