"""A case (a past report and its official reply, or a knowledge document) and the texts it is indexed by: what
the case index (``retrieval.py``) and its files on disk (``case_store.py``) both work with."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # heavy, imported where an index is built or read
    import faiss
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfVectorizer

_WS = re.compile(r"\s+")
#: Reply boilerplate that says nothing about the case (greetings, receipt, closing thanks, dates).
_BOILERPLATE = [
    re.compile(p)
    for p in (
        r'网友[“"]?[A-Za-z0-9_]*[”"]?[：:]?',
        r"市民同志",
        r"[您你]好[！!，,]?",
        r"(来信|留言|来电|情况)?已收悉[。，,！!]?",
        r"现(将|就)?[^。]{0,40}?(答复|回复)如下[：:]?",
        r"感谢您?对我们工作的[^。]*[。！!]?",
        r"\d{4}年\d{1,2}月\d{1,2}日",
    )
]
#: what a case is indexed by: the message (title + body) a citizen wrote, and the official reply to it
VIEWS = ("message", "reply")


def squeeze(text: object) -> str:
    return _WS.sub("", str(text or ""))


def clean_reply(text: object) -> str:
    out = squeeze(text)
    for pattern in _BOILERPLATE:
        out = pattern.sub("", out)
    return out


@dataclass(frozen=True)
class Case:
    """A knowledge document or a past case; ``reply`` is the official answer when there is one."""

    id: str
    title: str
    text: str = ""
    reply: str = ""


def view_text(case: Case, view: str) -> str:
    return squeeze(case.title + case.text) if view == "message" else clean_reply(case.reply)


def char_ngrams(vocabulary: dict[str, int] | None = None, max_df: float | int = 1.0) -> TfidfVectorizer:
    """The lexical side: sublinear TF-IDF over character 1–2-grams (Chinese needs no word segmentation); terms
    in more than ``max_df`` passages (a share, or a count when an int) are left out like stop words."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        analyzer="char", ngram_range=(1, 2), sublinear_tf=True, dtype=np.float32, vocabulary=vocabulary, max_df=max_df
    )


def query_terms(vectorizer: TfidfVectorizer, text: str) -> tuple[np.ndarray, np.ndarray]:
    """``vectorizer.transform([text])`` as (term columns, weights), without sklearn's per-call checks (3–4 ms of
    a query here): the same analyzer, sublinear tf × idf, unit length."""
    counts: dict[int, int] = {}
    vocabulary = vectorizer.vocabulary_
    for gram in vectorizer.build_analyzer()(text):
        if (column := vocabulary.get(gram)) is not None:
            counts[column] = counts.get(column, 0) + 1
    terms = np.fromiter(counts, dtype=np.int64, count=len(counts))
    weights = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))) * vectorizer.idf_[terms]
    norm = float(np.sqrt(weights @ weights))
    return terms, (weights / norm if norm > 0 else weights).astype(np.float32)


@dataclass
class View:
    """One view's rows: the case each row belongs to (each case once), its TF-IDF rows (column-major: a query
    reads its terms' columns) and its faiss index (None: lexical)."""

    rows: np.ndarray
    matrix: sp.csc_matrix
    dense: faiss.Index | None = field(default=None)

    def raise_to(self, best: np.ndarray, scores: np.ndarray) -> None:
        """``best[case] = max(best[case], score)`` over this view's rows. Rows are increasing (cases in order), so
        a view of every case is rows 0..n-1 and takes a slice rather than a gather and a scatter."""
        n = len(self.rows)
        if n and int(self.rows[-1]) == n - 1:
            np.maximum(best[:n], scores, out=best[:n])
        else:
            best[self.rows] = np.maximum(best[self.rows], scores)
