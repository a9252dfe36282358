"""NB-SVM over short-text tokens plus static e5 vectors: e5's pretrained knowledge without a transformer pass."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from models.text._export import check_labels, check_texts
from models.text.cleaning import short_text_pieces
from models.text.short_text import ShortTextClassifier


class StaticE5ShortTextClassifier(ShortTextClassifier):
    """``ShortTextClassifier`` whose per-class SVMs also see each text's static e5 vector (the sum of its CJK
    pieces' rows in ``knowledge_graph.e5.pieces``, standardised, times ``static_weight``). A sum of rows then a
    linear layer is linear in the piece counts, so the fitted model folds into one linear layer over the tokens
    and the piece counts: the ONNX graph is the same CountVectorizer + linear layer + softmax as the NB-SVM's.

    >>> texts, labels = ["股市大涨", "股票下跌", "球队夺冠", "联赛开赛"], ["股票", "股票", "体育", "体育"]
    >>> clf = StaticE5ShortTextClassifier().fit(texts, labels)
    >>> clf.predict(["球队输了"]).tolist()
    ['体育']
    """

    tags = replace(ShortTextClassifier.tags, extra={"preprocess": "models.text.cleaning.short_text_pieces"})
    onnx_name = "static-e5-short-text-classifier"

    def __init__(
        self,
        C: float = 0.01,
        alpha: float = 0.25,
        nb_weight: float = 0.04,
        temperature: float = 3.0,
        static_weight: float = 0.3,
        max_chars: int = 2000,
    ) -> None:
        super().__init__(C=C, alpha=alpha, nb_weight=nb_weight, temperature=temperature, max_chars=max_chars)
        self.static_weight = static_weight

    def fit(self, X: Sequence[str], y: Sequence[str] | None = None) -> StaticE5ShortTextClassifier:
        import scipy.sparse as sp
        from sklearn.svm import LinearSVC

        labels = check_labels("StaticE5ShortTextClassifier", X, y)
        self.classes_ = sorted(set(labels))
        texts = self._tokens(X)
        rows = self._fit_vectorizer(texts)
        columns = self.vectorizer_.transform(texts).tocsr()
        n_tokens = columns.shape[1] - len(rows)
        tokens = columns[:, :n_tokens]
        sums = columns[:, n_tokens:] @ rows
        center, spread = sums.mean(axis=0), sums.std(axis=0) + 1e-9
        static = self.static_weight * (sums - center) / spread
        features, ones = _stack(tokens, static), np.ones(static.shape[1])
        weights, bias = np.zeros((columns.shape[1], len(self.classes_))), np.zeros(len(self.classes_))
        for k, label in enumerate(self.classes_):
            ratio = self._log_count_ratio(tokens, labels == label)
            scaled = features @ sp.diags(np.concatenate([ratio, ones]))  # NB-scaled tokens, static columns as are
            svm = LinearSVC(C=self.C, random_state=0).fit(scaled.tocsr(), labels == label)
            coef = svm.coef_.ravel()
            weights[:n_tokens, k] = self.temperature * ratio * coef[:n_tokens] + self.nb_weight * ratio
            per_dim = self.temperature * self.static_weight * coef[n_tokens:] / spread
            weights[n_tokens:, k] = rows @ per_dim  # folded: the standardised sum's weights onto each piece count
            bias[k] = self.temperature * svm.intercept_[0] - center @ per_dim
        self.coef_, self.intercept_ = weights.T.copy(), bias
        return self

    def _fit_vectorizer(self, texts: list[str]) -> np.ndarray:
        """Fit ``vectorizer_``: the training texts' tokens (binary: ``short_text_tokens`` are unique), then every
        table piece (counted); return the pieces' rows, centred."""
        from sklearn.feature_extraction.text import CountVectorizer

        from citymind.settings import get_settings
        from knowledge_graph.e5.pieces import static_piece_table

        ids, table = static_piece_table(get_settings().cache.expanduser() / "e5")
        words = {"token_pattern": r"\S+", "lowercase": False, "dtype": np.float64}
        tokens = CountVectorizer(**words).fit([t.partition(" p")[0] for t in texts])
        vocabulary = [*tokens.get_feature_names_out().tolist(), *(f"p{i}" for i in ids.tolist())]
        self.vectorizer_ = CountVectorizer(vocabulary=vocabulary, **words).fit(texts[:1])
        return table - table.mean(axis=0)

    def _tokens(self, X: Sequence[str]) -> list[str]:
        check_texts(X)
        return [short_text_pieces(x, self.max_chars) for x in X]


def _stack(counts: Any, static: np.ndarray) -> Any:
    import scipy.sparse as sp

    return sp.hstack([counts, sp.csr_matrix(static)]).tocsr()
