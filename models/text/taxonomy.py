"""Knowledge features for text classifiers: how much of each category's catalogue vocabulary a report uses.

A taxonomy is ``{category: [terms]}`` — a category's own name, its sub-categories' names and their alternative
labels, e.g. from the knowledge graph's event categories. Per category, two features: the mean share of each
term's character bigrams found in the text, and the share of its terms found whole. Both are linear in the
presence of fixed character n-grams, so a linear model over them folds into one layer over a binary n-gram
count: the ONNX graph stays the stock CountVectorizer + linear conversion, exact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def clean_taxonomy(taxonomy: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Categories in name order, each with its distinct non-blank terms (lowercased, as the n-grams are).

    >>> clean_taxonomy({"环境保护": ["噪音", " 噪音", "", "Air"]})
    {'环境保护': ['air', '噪音']}
    """
    cleaned = {str(name): sorted({str(t).strip().lower() for t in terms} - {""}) for name, terms in taxonomy.items()}
    return {name: terms for name, terms in sorted(cleaned.items()) if terms}


def _bigrams(term: str) -> list[str]:
    return sorted({term[i : i + 2] for i in range(len(term) - 1)})


def feature_map(taxonomy: Mapping[str, Sequence[str]]) -> tuple[list[str], np.ndarray]:
    """The n-grams the features read (every term and every term's bigrams) and the matrix ``M`` (n-grams × 2
    features per category) such that ``features = presence @ M``: column ``2k`` is category k's mean bigram
    overlap, ``2k + 1`` its share of terms present.

    >>> grams, M = feature_map({"路灯": ["路灯不亮"]})
    >>> grams
    ['不亮', '灯不', '路灯', '路灯不亮']
    >>> M.round(3).tolist()
    [[0.333, 0.0], [0.333, 0.0], [0.333, 0.0], [0.0, 1.0]]
    """
    categories = clean_taxonomy(taxonomy)
    grams = sorted({g for terms in categories.values() for t in terms for g in (t, *_bigrams(t))})
    index = {g: i for i, g in enumerate(grams)}
    matrix = np.zeros((len(grams), 2 * len(categories)))
    for k, terms in enumerate(categories.values()):
        for term in terms:
            pairs = _bigrams(term)
            for pair in pairs:
                matrix[index[pair], 2 * k] += 1.0 / (len(pairs) * len(terms))
            matrix[index[term], 2 * k + 1] += 1.0 / len(terms)
    return grams, matrix


def presence_vectorizer(grams: Sequence[str]) -> Any:
    """A binary character n-gram counter over exactly ``grams`` (lowercased, as the TF-IDF features are)."""
    from sklearn.feature_extraction.text import CountVectorizer

    lengths = [len(g) for g in grams]
    return CountVectorizer(
        analyzer="char",
        ngram_range=(min(lengths), max(lengths)),
        vocabulary=list(grams),
        binary=True,
        dtype=np.float32,
    )


def fold_standardised(coef: np.ndarray, intercept: np.ndarray, matrix: np.ndarray, mean: np.ndarray,
                      scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Weights over the features ``(presence @ matrix - mean) * scale`` as weights over ``presence`` itself.

    >>> w, b = fold_standardised(np.array([[2.0]]), np.array([1.0]), np.array([[0.5], [1.0]]), np.array([0.25]),
    ...                          np.array([4.0]))
    >>> w.tolist(), b.tolist()
    ([[4.0, 8.0]], [-1.0])
    """
    scaled = coef * scale
    return scaled @ matrix.T, intercept - scaled @ mean
