"""Event classification of citizen reports (12345-style Chinese free text) into dispatch categories."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from models.base import CityModel, ModelTags, Signature
from models.text._export import check_labels, check_texts, export_text_pipeline, text_signature
from models.text.cleaning import clean_text
from models.text.taxonomy import clean_taxonomy, feature_map, fold_standardised, presence_vectorizer


class EventClassifier(CityModel):
    """Character n-gram TF-IDF + logistic regression; converts to ONNX exactly (see docs/models.md).

    ``taxonomy`` (``{category: [terms]}``, e.g. the knowledge graph's event categories with their sub-categories
    and alternative labels) adds two features per category — how much of its vocabulary the text uses
    (``models.text.taxonomy``) — standardised and weighted by ``taxonomy_weight``. They are folded into the
    linear layer after fitting, so the fitted pipeline (and its ONNX graph) reads TF-IDF and binary n-grams only.

    >>> clf = EventClassifier(min_df=1).fit(["路灯不亮", "路面塌陷", "噪音扰民", "夜间施工噪音"],
    ...                                     ["市容环境", "道路交通", "生态环境", "生态环境"])
    >>> clf.predict(["施工噪音太大"]).tolist()
    ['生态环境']
    """

    tags = ModelTags(
        task="classification",
        onnx_exportable=True,
        batchable=True,
        latency_critical=True,
        input_kind="text",
        extra={"preprocess": "models.text.cleaning.clean_text"},
    )

    def __init__(
        self,
        ngram_range: tuple[int, int] = (1, 2),
        min_df: int = 2,
        C: float = 20.0,
        class_weight: str | None = "balanced",
        max_features: int | None = 300_000,
        max_chars: int = 2000,
        max_iter: int = 3000,
        taxonomy: Mapping[str, Sequence[str]] | None = None,
        taxonomy_weight: float = 0.1,
    ) -> None:
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.C = C
        self.class_weight = class_weight
        self.max_features = max_features
        self.max_chars = max_chars
        self.max_iter = max_iter
        self.taxonomy = taxonomy
        self.taxonomy_weight = taxonomy_weight

    def fit(self, X: Sequence[str], y: Sequence[str] | None = None) -> EventClassifier:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline

        texts = self._clean(X)
        labels = check_labels("EventClassifier", X, y)
        vectorizer = TfidfVectorizer(
            analyzer="char",
            ngram_range=tuple(self.ngram_range),
            min_df=self.min_df,
            max_features=self.max_features,
            dtype=np.float32,
        )
        linear = LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=self.max_iter)
        if self.taxonomy and clean_taxonomy(self.taxonomy):  # categories with at least one term
            self.pipeline_ = self._fit_with_taxonomy(vectorizer, linear, texts, labels)
        else:
            self.pipeline_ = Pipeline([("tfidf", vectorizer), ("linear", linear)]).fit(texts, labels)
        self.classes_ = [str(c) for c in self.pipeline_.classes_]
        return self

    def _fit_with_taxonomy(self, vectorizer: Any, linear: Any, texts: np.ndarray, labels: np.ndarray) -> Any:
        """Fit on [TF-IDF, standardised category features]; return TF-IDF ∪ n-gram presence → the folded layer."""
        from scipy import sparse
        from sklearn.pipeline import FeatureUnion, Pipeline

        assert self.taxonomy is not None
        grams, matrix = feature_map(self.taxonomy)
        presence = presence_vectorizer(grams)
        features = np.asarray(presence.fit_transform(texts) @ matrix)
        mean, std = features.mean(axis=0), features.std(axis=0)
        scale = self.taxonomy_weight / np.where(std > 0, std, 1.0)
        tfidf = vectorizer.fit_transform(texts)
        linear.fit(sparse.hstack([tfidf, (features - mean) * scale], format="csr"), labels)
        width = tfidf.shape[1]
        weights, linear.intercept_ = fold_standardised(linear.coef_[:, width:], linear.intercept_, matrix, mean, scale)
        linear.coef_ = np.hstack([linear.coef_[:, :width], weights])
        linear.n_features_in_ = linear.coef_.shape[1]
        union = FeatureUnion([("tfidf", vectorizer), ("taxonomy", presence)])
        return Pipeline([("features", union), ("linear", linear)])

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        self.check_fitted("pipeline_")
        return np.asarray(self.pipeline_.predict_proba(self._clean(X)), dtype=np.float64)

    def predict(self, X: Sequence[str]) -> np.ndarray:
        proba = self.predict_proba(X)
        return np.asarray(self.classes_, dtype=object)[proba.argmax(axis=1)]

    def to_onnx(self) -> Any:
        self.check_fitted("pipeline_")
        return export_text_pipeline(self.pipeline_, "event-classifier", self)

    def signature(self) -> Signature:
        return text_signature(getattr(self, "classes_", []))

    def _clean(self, X: Sequence[str]) -> np.ndarray:
        check_texts(X)
        return np.asarray([clean_text(x, self.max_chars) for x in X], dtype=object)
