"""NB-SVM over character and word tokens: the classifier for short texts (titles, one-line reports)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from models.base import CityModel, ModelTags, Signature
from models.text._export import check_labels, check_texts, export_text_pipeline, text_signature
from models.text.cleaning import short_text_tokens


class ShortTextClassifier(CityModel):
    """Naive-Bayes-scaled linear SVMs (Wang & Manning 2012), one per class, over binary tokens from
    ``short_text_tokens``; the NB log-count ratios are also blended into the logits (``nb_weight``). The
    result is one linear model, exported as CountVectorizer + multinomial logistic regression.

    >>> texts, labels = ["股市大涨", "股票下跌", "球队夺冠", "联赛开赛"], ["股票", "股票", "体育", "体育"]
    >>> clf = ShortTextClassifier().fit(texts, labels)
    >>> clf.predict(["球队输了"]).tolist()
    ['体育']
    """

    tags = ModelTags(
        task="classification",
        onnx_exportable=True,
        batchable=True,
        latency_critical=True,
        input_kind="text",
        extra={"preprocess": "models.text.cleaning.short_text_tokens"},
    )
    onnx_name = "short-text-classifier"  #: the exported graph's name

    def __init__(
        self,
        C: float = 0.01,
        alpha: float = 0.25,
        nb_weight: float = 0.04,
        temperature: float = 3.0,
        max_chars: int = 2000,
    ) -> None:
        self.C = C
        self.alpha = alpha
        self.nb_weight = nb_weight
        self.temperature = temperature
        self.max_chars = max_chars

    def fit(self, X: Sequence[str], y: Sequence[str] | None = None) -> ShortTextClassifier:
        from sklearn.feature_extraction.text import CountVectorizer
        from sklearn.svm import LinearSVC

        labels = check_labels("ShortTextClassifier", X, y)
        self.classes_ = sorted(set(labels))
        tokens = r"\S+"  # tokens are pre-made by short_text_tokens and space-separated
        self.vectorizer_ = CountVectorizer(token_pattern=tokens, lowercase=False, binary=True, dtype=np.float64)
        counts = self.vectorizer_.fit_transform(self._tokens(X)).tocsr()
        weights = np.zeros((counts.shape[1], len(self.classes_)))
        bias = np.zeros(len(self.classes_))
        for k, label in enumerate(self.classes_):
            ratio = self._log_count_ratio(counts, labels == label)
            svm = LinearSVC(C=self.C, random_state=0).fit(counts.multiply(ratio).tocsr(), labels == label)
            weights[:, k] = self.temperature * ratio * svm.coef_.ravel() + self.nb_weight * ratio
            bias[k] = self.temperature * svm.intercept_[0]
        self.coef_, self.intercept_ = weights.T.copy(), bias
        return self

    def _log_count_ratio(self, counts: Any, positive: np.ndarray) -> np.ndarray:
        p = self.alpha + np.asarray(counts[positive].sum(axis=0)).ravel()
        q = self.alpha + np.asarray(counts[~positive].sum(axis=0)).ravel()
        return np.log(p / p.sum()) - np.log(q / q.sum())

    def decision_function(self, X: Sequence[str]) -> np.ndarray:
        self.check_fitted("coef_")
        counts = self.vectorizer_.transform(self._tokens(X))
        return np.asarray(counts @ self.coef_.T) + self.intercept_

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        logits = self.decision_function(X)
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)

    def predict(self, X: Sequence[str]) -> np.ndarray:
        return np.asarray(self.classes_, dtype=object)[self.decision_function(X).argmax(axis=1)]

    def to_onnx(self) -> Any:
        from sklearn.pipeline import Pipeline

        self.check_fitted("coef_")
        pipeline = Pipeline([("tokens", self.vectorizer_), ("linear", linear_layer(self))])
        return export_text_pipeline(pipeline, self.onnx_name, self)

    def signature(self) -> Signature:
        return text_signature(getattr(self, "classes_", []))

    def _tokens(self, X: Sequence[str]) -> list[str]:
        check_texts(X)
        return [short_text_tokens(x, self.max_chars) for x in X]


def linear_layer(model: Any) -> Any:
    """A fitted model's ``coef_``/``intercept_`` as a LogisticRegression: skl2onnx converts it to one linear
    layer + softmax."""
    from sklearn.linear_model import LogisticRegression

    linear = LogisticRegression()
    linear.coef_, linear.intercept_ = model.coef_, model.intercept_
    linear.classes_ = np.asarray(model.classes_, dtype=object)
    linear.n_features_in_ = model.coef_.shape[1]
    if len(model.classes_) == 2:  # a binary LogisticRegression holds the difference of the two logits
        linear.coef_ = (model.coef_[1] - model.coef_[0])[None, :]
        linear.intercept_ = np.asarray([model.intercept_[1] - model.intercept_[0]])
    return linear
