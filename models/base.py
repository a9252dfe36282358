"""The model protocol every citymind model family follows (event classification, forecasting, video).

Like a scikit-learn estimator: the constructor is the parameter list (stored unchanged, no work in
``__init__``), learned state ends in ``_``, an unfitted model raises ``NotFittedError``. On top of that a
citymind model says what it can do (``ModelTags``), exports itself to ONNX and declares its signature.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from registry import CitymindError


class NotFittedError(CitymindError, ValueError, AttributeError):
    """The model was used before ``fit``."""


@dataclass(frozen=True)
class TensorDecl:
    """One named input or output: ``dtype`` is a numpy dtype name or ``"str"``; -1 is a free dimension."""

    name: str
    dtype: str
    shape: tuple[int, ...]


@dataclass(frozen=True)
class Signature:
    inputs: tuple[TensorDecl, ...]
    outputs: tuple[TensorDecl, ...]

    def to_mlflow(self) -> Any:
        import numpy as np
        from mlflow.models import ModelSignature
        from mlflow.types import Schema, TensorSpec

        def schema(decls: tuple[TensorDecl, ...]) -> Schema:
            return Schema([TensorSpec(np.dtype(d.dtype), d.shape, d.name) for d in decls])

        return ModelSignature(inputs=schema(self.inputs), outputs=schema(self.outputs))


@dataclass(frozen=True)
class ModelTags:
    """Capabilities as data, read by training and serving instead of ``isinstance`` chains."""

    task: str = "classification"
    onnx_exportable: bool = True
    batchable: bool = True
    latency_critical: bool = False
    input_kind: str = "text"
    extra: dict[str, str] = field(default_factory=dict)

    def to_mlflow_tags(self) -> dict[str, str]:
        out = {f"citymind.model.{k}": str(v).lower() for k, v in self.__dict__.items() if k != "extra"}
        return out | {f"citymind.model.{k}": v for k, v in self.extra.items()}


class CityModel(ABC):
    """Base of every model family: ``fit`` is the one method a family must write besides its I/O."""

    tags = ModelTags()

    @abstractmethod
    def fit(self, X: Any, y: Any = None) -> CityModel: ...

    @abstractmethod
    def predict(self, X: Any) -> Any: ...

    def predict_proba(self, X: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not predict probabilities.")

    @abstractmethod
    def to_onnx(self) -> Any:
        """The fitted model as an ``onnx.ModelProto``."""

    @abstractmethod
    def signature(self) -> Signature: ...

    def get_params(self) -> dict[str, Any]:
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names}

    def check_fitted(self, attribute: str) -> None:
        if not hasattr(self, attribute):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet. Call 'fit' with training data "
                "before using it, or load a registered version."
            )

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"
