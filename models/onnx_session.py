"""ONNX Runtime sessions for request paths: one thread, CPU, created once per model version."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from models.text.cleaning import clean_text
from models.text.event_classifier import CLASSES_METADATA, PREPROCESS_METADATA


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
        self.max_chars = int(meta.get(PREPROCESS_METADATA, "max_chars=2000").rsplit("=", 1)[-1])

    @classmethod
    def from_path(cls, path: str | Path) -> OnnxTextClassifier:
        return cls(make_session(path))

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Row by row: skl2onnx pads batched strings, which can shift n-grams; one row costs ~40 µs."""
        rows = [self.session.run(["probabilities"], {"text": np.array([[clean_text(t, self.max_chars)]],
                                                                       dtype=object)})[0][0] for t in texts]
        return np.asarray(rows, dtype=np.float64).reshape(len(texts), len(self.classes))
