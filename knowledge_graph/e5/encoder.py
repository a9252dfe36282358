"""``OnnxE5``: e5 query and passage vectors from the cached int8 graph in onnxruntime, in batches of texts of
similar length (little padding), each text cut to ``max_tokens``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from knowledge_graph.e5.graph import cached_graph
from knowledge_graph.e5.tokenizer import E5Tokenizer
from knowledge_graph.e5.weights import E5Weights

if TYPE_CHECKING:  # heavy: imported where the session starts
    import onnxruntime as ort


class OnnxE5:
    """multilingual-e5-small in onnxruntime: ``query(texts)`` / ``passage(texts)`` → unit rows (n × 384).

    | parameter    | meaning                                                                  |
    |--------------|--------------------------------------------------------------------------|
    | cache        | folder the graph is built into once (keyed by the weights' digest)       |
    | max_tokens   | tokens a text keeps, ``<s>``/``</s>`` included (e5 reads at most 512)    |
    | batch_tokens | padded tokens per run: a batch is as many similar-length texts as fit    |
    | threads      | onnxruntime intra-op threads (1 on request paths, 2 to index here)       |
    | precision    | ``int8`` (default) or ``fp32`` (the dequantised weights, for checks)     |
    """

    def __init__(
        self,
        cache: Path,
        max_tokens: int = 512,
        batch_tokens: int = 8192,
        threads: int = 1,
        precision: str = "int8",
    ) -> None:
        if not 3 <= max_tokens <= 512:
            raise ValueError(f"max_tokens must be between 3 and 512 (e5 reads 512). Got {max_tokens} instead.")
        if precision not in ("int8", "fp32"):
            raise ValueError(f"precision must be one of {{'int8', 'fp32'}}. Got {precision!r} instead.")
        self.cache = cache
        self.max_tokens = max_tokens
        self.batch_tokens = batch_tokens
        self.threads = threads
        self.precision = precision
        self._session: ort.InferenceSession | None = None
        self._tokenizer: E5Tokenizer | None = None

    def setup(self) -> OnnxE5:
        """Read the weights, build (first time) and open the graph; idempotent."""
        if self._session is None:
            import onnxruntime as ort

            weights = E5Weights.read()
            options = ort.SessionOptions()
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
            path = cached_graph(self.cache, weights, precision=self.precision)
            self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            self._tokenizer = E5Tokenizer(weights.vocabulary)
        return self

    def query(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode([f"query: {t}" for t in texts])

    def passage(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode([f"passage: {t}" for t in texts])

    def _encode(self, texts: list[str]) -> np.ndarray:
        self.setup()
        assert self._session is not None and self._tokenizer is not None
        ids = self._tokenizer.ids(texts, self.max_tokens)
        out = np.empty((len(ids), 384), dtype=np.float32)
        order = np.argsort([len(i) for i in ids], kind="stable")
        start = 0
        while start < len(order):  # longest last: a batch is as many similar-length texts as fit in the budget
            stop = start + 1
            while stop < len(order) and (stop - start + 1) * len(ids[order[stop]]) <= self.batch_tokens:
                stop += 1
            rows = order[start:stop]
            width = len(ids[rows[-1]])
            batch = np.full((len(rows), width), self._tokenizer.vocabulary.pad, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                batch[r, : len(ids[i])] = ids[i]
                mask[r, : len(ids[i])] = 1
            out[rows] = self._session.run(None, {"input_ids": batch, "attention_mask": mask})[0]
            start = stop
        return out
