"""ONNX Runtime sessions for request paths: one thread, CPU, created once per model version."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from models.text._export import CLASSES_METADATA, PREPROCESS_METADATA
from models.text.cleaning import PREPROCESSORS


def make_session(path: str | Path | bytes, threads: int = 1) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    source = path if isinstance(path, bytes) else str(path)
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


class OnnxTextClassifier:
    """An exported ``EventClassifier`` served from ONNX: cleaning in Python, the model in onnxruntime."""

    def __init__(self, session: Any) -> None:
        self.session = session
        meta = session.get_modelmeta().custom_metadata_map
        self.classes: list[str] = json.loads(meta[CLASSES_METADATA])
        name, _, limit = meta.get(PREPROCESS_METADATA, "clean_text:max_chars=2000").partition(":max_chars=")
        self.preprocess = PREPROCESSORS[name]
        self.max_chars = int(limit or 2000)

    @classmethod
    def from_path(cls, path: str | Path) -> OnnxTextClassifier:
        return cls(make_session(path))

    @staticmethod
    def accepts(session: Any) -> bool:
        """True for sessions exported by ``EventClassifier.to_onnx`` (they carry the class names)."""
        return CLASSES_METADATA in session.get_modelmeta().custom_metadata_map

    def clean(self, texts: np.ndarray) -> np.ndarray:
        """The preprocessing the model was exported with (its ONNX metadata names it), any shape."""
        flat = [self.preprocess(t, self.max_chars) for t in texts.reshape(-1).tolist()]
        return np.asarray(flat, dtype=object).reshape(texts.shape)

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Probabilities for cleaned texts, one batch through the session (parity is checked batched too)."""
        if not texts:
            return np.zeros((0, len(self.classes)))
        feed = self.clean(np.asarray(texts, dtype=object).reshape(-1, 1))
        return np.asarray(self.session.run(["probabilities"], {"text": feed})[0], dtype=np.float64)
