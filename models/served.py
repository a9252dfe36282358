"""A model version as a gateway serves it: its ONNX Runtime session loaded from the registry, its tensors and,
for text classifiers, the class names and ``classify``. The event engine, pipelines and the gateway's routes all
answer with these; following an alias to the newest one is the model hub's job (``serving.model_hub``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypedDict

import numpy as np

from citymind.errors import InvalidAsset, ValidationError
from models.onnx_session import OnnxTextClassifier, bounded_run, make_session
from registry import AssetRegistry, AssetVersion

#: the longest text a request may send to a text classifier (it reads the first 2,000 after cleaning)
MAX_TEXT_CHARS = 5000
#: what a tag on the registered model says when a model may leave the ingress process (``"false"``)
LATENCY_TAG = "citymind.model.latency_critical"


class CategoryScore(TypedDict):
    category: str
    score: float


class Classification(TypedDict):
    """What ``ServedModel.classify`` answers for one text: the category, its confidence and the ``top_k``."""

    category: str
    confidence: float
    top_k: list[CategoryScore]


@dataclass(frozen=True)
class ServedModel:
    """One loaded version: its session, declared tensors and, for text classifiers, the class names."""

    name: str
    version: int
    session: Any  # onnxruntime.InferenceSession (imported lazily: the heavy import stays off start-up)
    tags: dict[str, str] = field(default_factory=dict)
    classes: tuple[str, ...] = ()
    text_classifier: OnnxTextClassifier | None = None
    run_timeout_s: float | None = None  # a run longer than this is stopped (ModelTimeout)

    def run(self, outputs: list[str] | None, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        """One bounded run of the session (``run_timeout_s``)."""
        return bounded_run(self.session, outputs, feed, self.run_timeout_s, f"model {self.name} v{self.version}")

    @property
    def latency_critical(self) -> bool:
        """Runs in the ingress process (the fast path) unless its tags say it may go to the batching runner."""
        return self.tags.get(LATENCY_TAG, "true") == "true"

    def classify(self, texts: list[str], top_k: int) -> list[Classification]:
        """Category, confidence and the ``top_k`` categories of each text (one batch through the session)."""
        if self.text_classifier is None:
            raise ValidationError(f"model {self.name} is not a text classifier; call /v2/models/{self.name}/infer.")
        proba = self.text_classifier.predict_proba(texts, self.run_timeout_s)
        out: list[Classification] = []
        for row in proba:
            order = np.argsort(-row)[:top_k]
            out.append(
                {
                    "category": self.classes[order[0]],
                    "confidence": round(float(row[order[0]]), 6),
                    "top_k": [{"category": self.classes[i], "score": round(float(row[i]), 6)} for i in order],
                }
            )
        return out


def check_text_lengths(name: str, texts: np.ndarray) -> np.ndarray:
    """The same per-text limit as ``/v1/events/classify``: a text classifier reads at most its first 2,000
    cleaned characters, and longer inputs only cost time."""
    too_long = [i for i, t in enumerate(texts.reshape(-1).tolist()) if len(t) > MAX_TEXT_CHARS]
    if too_long:
        raise ValidationError(
            f"elements {too_long[:5]} exceed {MAX_TEXT_CHARS} characters; send at most {MAX_TEXT_CHARS} "
            "characters per text (the model reads the first 2000 after cleaning).",
            location=f"inputs[{name}]",
        )
    return texts


def load_served_model(
    registry: AssetRegistry,
    version: AssetVersion,
    *,
    run_timeout_s: float | None = None,
    max_bytes: int | None = None,
) -> ServedModel:
    """The ONNX session of a registered version; ``InvalidAsset`` (the old version keeps serving) if it is not
    ONNX, is larger than ``max_bytes`` or onnxruntime cannot load it. Its runs are bounded by ``run_timeout_s``."""
    if version.format != "onnx":
        raise InvalidAsset(
            f"{version.name} v{version.version} is a {version.format} asset; the gateway serves "
            "ONNX models over OIP. Export it with to_onnx() and register the .onnx.",
            name=version.name,
            version=str(version.version),
        )
    path = registry.load(version.uri)
    size = Path(path).stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise InvalidAsset(
            f"{version.name} v{version.version} is {size:,} bytes; this gateway serves models up to {max_bytes:,} "
            "bytes (CITYMIND_MAX_MODEL_MB).",
            name=version.name,
            version=str(version.version),
        )
    try:
        session = make_session(Path(path))
    except Exception as exc:
        raise InvalidAsset(
            f"{version.name} v{version.version}: onnxruntime cannot load it ({exc}).",
            name=version.name,
            version=str(version.version),
        ) from exc
    maps = [f"{o.name} ({o.type})" for o in session.get_outputs() if not o.type.startswith("tensor(")]
    if maps:
        raise InvalidAsset(
            f"{version.name} v{version.version}: outputs {maps} are not tensors, which the Open Inference "
            "Protocol cannot answer. skl2onnx wraps a classifier's probabilities in a ZipMap unless told not to: "
            "export with to_onnx(model, X, options={'zipmap': False}) and register it again.",
            name=version.name,
            version=str(version.version),
        )
    text = OnnxTextClassifier(session) if OnnxTextClassifier.accepts(session) else None
    classes = tuple(text.classes) if text else ()
    return ServedModel(version.name, version.version, session, dict(version.tags), classes, text, run_timeout_s)


class ModelSource(Protocol):
    """Served models by name: the version the serving alias points at now, or an explicit version
    (``serving.model_hub.ModelHub`` is one)."""

    registry: AssetRegistry
    alias: str

    def get(self, name: str, version: int | None = None) -> ServedModel: ...

    def served(self) -> dict[str, ServedModel]: ...
