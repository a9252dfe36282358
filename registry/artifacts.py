"""Turn what a user hands to ``register`` into an MLflow model directory, validating it first.

| artifact                                   | format     | MLflow flavour            |
|--------------------------------------------|------------|---------------------------|
| ``.onnx`` path or ``onnx.ModelProto``      | ``onnx``   | onnx                      |
| scikit-learn estimator                     | ``sklearn``| sklearn                   |
| ``torch.nn.Module``                        | ``pytorch``| pytorch                   |
| ``mlflow.pyfunc.PythonModel``              | ``pyfunc`` | python_function           |
| ``.yaml``/``.yml``/``.json`` file, folder  | ``files``  | python_function (loader)  |
| ``dict`` / ``list`` (JSON-able)            | ``files``  | python_function (loader)  |
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from registry._exceptions import InvalidAsset

ONNX_PIP = ["onnx", "onnxruntime"]


def save_artifact(artifact: Any, dest: Path, signature: Any = None) -> str:
    """Validate ``artifact`` and save it as an MLflow model at ``dest``; return its citymind format."""
    for accepts, save in _WRITERS:
        if accepts(artifact):
            return save(artifact, dest, signature)
    raise InvalidAsset(
        f"Cannot register an artifact of type {type(artifact).__name__}. Pass a path to an .onnx, .yaml, "
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


def _save_onnx(obj: Any, dest: Path, signature: Any) -> str:
    import mlflow.onnx
    import onnx

    try:
        model = onnx.load(str(obj)) if _as_path(obj) is not None else obj
        onnx.checker.check_model(model, full_check=False)
    except Exception as exc:  # onnx raises OSError, DecodeError, ValidationError... no common base
        raise InvalidAsset(
            f"{obj} is not a valid ONNX model ({type(exc).__name__}: {exc}). "
            "Export it again, e.g. with torch.onnx.export or skl2onnx."
        ) from exc
    mlflow.onnx.save_model(
        model,
        str(dest),
        signature=signature or onnx_signature(model),
        pip_requirements=ONNX_PIP,
        save_as_external_data=False,
    )
    return "onnx"


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


def _is_sklearn(obj: Any) -> bool:
    return _module_of(obj) == "sklearn" or (hasattr(obj, "get_params") and hasattr(obj, "fit"))


def _save_sklearn(obj: Any, dest: Path, signature: Any) -> str:
    import mlflow.sklearn

    mlflow.sklearn.save_model(
        obj,
        str(dest),
        signature=signature,
        pip_requirements=["scikit-learn"],
        serialization_format="cloudpickle",
    )
    return "sklearn"


def _is_torch(obj: Any) -> bool:
    return _module_of(obj) == "torch" or any(c.__module__.startswith("torch.nn") for c in type(obj).__mro__)


def _save_torch(obj: Any, dest: Path, signature: Any) -> str:
    import mlflow.pytorch

    mlflow.pytorch.save_model(obj, str(dest), signature=signature, pip_requirements=["torch==2.13.0"])
    return "pytorch"


def _is_python_model(obj: Any) -> bool:
    return any(c.__name__ == "PythonModel" and c.__module__.startswith("mlflow") for c in type(obj).__mro__)


def _save_python_model(obj: Any, dest: Path, signature: Any) -> str:
    import mlflow.pyfunc

    mlflow.pyfunc.save_model(str(dest), python_model=obj, signature=signature, pip_requirements=["mlflow"])
    return "pyfunc"


def _is_files(obj: Any) -> bool:
    return _as_path(obj) is not None


def _save_files(obj: Any, dest: Path, signature: Any) -> str:
    src = Path(obj)
    if not src.exists():
        raise InvalidAsset(f"{src} does not exist. Pass the path of the file or folder to register.")
    files = sorted(p for p in src.rglob("*") if p.is_file()) if src.is_dir() else [src]
    if not files:
        raise InvalidAsset(f"{src} is an empty folder: there is nothing to register.")
    for path in files:
        _check_parses(path)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "files"
        if src.is_dir():
            shutil.copytree(src, data)
        else:
            data.mkdir()
            shutil.copy2(src, data / src.name)
        _save_loader_model(data, dest, signature)
    return "files"


def _check_parses(path: Path) -> None:
    import yaml

    try:
        text = path.read_text(encoding="utf-8") if path.suffix in {".yaml", ".yml", ".json"} else None
        if text is not None and path.suffix == ".json":
            json.loads(text)
        elif text is not None:
            yaml.safe_load(text)
    except (UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        raise InvalidAsset(f"{path} does not parse as {path.suffix[1:].upper()}: {exc}") from exc


def _is_jsonable(obj: Any) -> bool:
    return isinstance(obj, dict | list)


def _save_json(obj: Any, dest: Path, signature: Any) -> str:
    try:
        text = json.dumps(obj, ensure_ascii=False, indent=1)
    except (TypeError, ValueError) as exc:
        raise InvalidAsset(f"The asset is not JSON-serialisable: {exc}") from exc
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "files"
        data.mkdir()
        (data / "asset.json").write_text(text, encoding="utf-8")
        _save_loader_model(data, dest, signature)
    return "files"


def _save_loader_model(data: Path, dest: Path, signature: Any) -> None:
    import mlflow.pyfunc

    mlflow.pyfunc.save_model(
        str(dest),
        loader_module="registry._files_loader",
        data_path=str(data),
        signature=signature,
        pip_requirements=["citymind"],
    )


_WRITERS: list[tuple[Callable[[Any], bool], Callable[[Any, Path, Any], str]]] = [
    (_is_onnx, _save_onnx),
    (_is_files, _save_files),
    (_is_jsonable, _save_json),
    (_is_python_model, _save_python_model),
    (_is_torch, _save_torch),
    (_is_sklearn, _save_sklearn),
]
