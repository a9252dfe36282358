"""ONNX Runtime sessions for request paths: one thread, CPU, created once per model version."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from citymind.errors import ModelTimeout
from models.text._export import CLASSES_METADATA, PREPROCESS_METADATA
from models.text.cleaning import PREPROCESSORS


class _Watchdog:
    """One thread for every bounded run of a process: it sets ``terminate`` on the run options of a run past its
    deadline (onnxruntime checks the flag between kernels and stops the run). A run costs a list append, not a
    timer thread of its own."""

    def __init__(self, tick_s: float = 0.02) -> None:
        self.tick_s = tick_s
        self._runs: dict[int, tuple[float, Any]] = {}
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def watch(self, options: Any, timeout_s: float) -> Iterator[None]:
        key = id(options)
        with self._cond:
            if not self._runs:
                self._cond.notify()  # the watchdog sleeps while nothing is watched
            self._runs[key] = (time.monotonic() + timeout_s, options)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="citymind-run-watchdog", daemon=True)
                self._thread.start()
        try:
            yield
        finally:
            with self._cond:
                self._runs.pop(key, None)

    def _loop(self) -> None:
        with self._cond:
            while True:
                if not self._runs:
                    self._cond.wait()
                    continue
                self._cond.wait(self.tick_s)
                now = time.monotonic()
                for deadline, options in self._runs.values():
                    if now > deadline:
                        options.terminate = True


_WATCHDOG = _Watchdog()


def bounded_run(
    session: Any, outputs: list[str] | None, feed: dict[str, Any], timeout_s: float | None, name: str = "the model"
) -> list[Any]:
    """``session.run``, stopped after ``timeout_s`` seconds (None: unbounded) with :class:`ModelTimeout`: one slow
    model never holds a replica's threads for good."""
    if timeout_s is None:
        return list(session.run(outputs, feed))
    import onnxruntime as ort

    options = ort.RunOptions()
    with _WATCHDOG.watch(options, timeout_s):
        try:
            return list(session.run(outputs, feed, options))
        except Exception:
            if options.terminate:
                raise ModelTimeout(
                    f"{name} ran longer than {timeout_s:g} s and was stopped; send a smaller input, or ask the "
                    "operator to raise CITYMIND_MODEL_RUN_TIMEOUT_S for this model"
                ) from None
            raise


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
        self.preprocess("路灯不亮", self.max_chars)  # loads rjieba's / e5's tokenizer now, not on the first request

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

    def predict_proba(self, texts: list[str], timeout_s: float | None = None) -> np.ndarray:
        """Probabilities for cleaned texts, one batch through the session (parity is checked batched too); a run
        longer than ``timeout_s`` is stopped (:class:`ModelTimeout`)."""
        if not texts:
            return np.zeros((0, len(self.classes)))
        feed = self.clean(np.asarray(texts, dtype=object).reshape(-1, 1))
        [proba] = bounded_run(self.session, ["probabilities"], {"text": feed}, timeout_s, "the text classifier")
        return np.asarray(proba, dtype=np.float64)
