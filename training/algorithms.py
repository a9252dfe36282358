"""Algorithm cards (算法库): each algorithm is registered once as kind ``algorithm`` with its defaults and docs."""

from __future__ import annotations

from typing import Any

from registry import AssetNotFound, AssetVersion, MlflowRegistry


def algorithm_cards() -> dict[str, dict[str, Any]]:
    from models.text.event_classifier import EventClassifier

    return {
        "char-ngram-linear": {
            "title": "Character/word n-gram TF-IDF + linear classifier for Chinese short text",
            "family": "models.text.event_classifier.EventClassifier",
            "task": "classification",
            "defaults": EventClassifier().get_params(),
            "onnx_exportable": True,
            "docs": "Text is cleaned (NFKC, whitespace collapsed) in Python, then a skl2onnx graph computes "
            "TF-IDF over character n-grams and a logistic regression. Parity with scikit-learn is checked "
            "(max |Δprob| ≤ 1e-4) before a version is registered.",
        },
    }


def ensure_algorithm(registry: MlflowRegistry, name: str) -> AssetVersion:
    """The registered card of ``name`` (registered with alias ``production`` the first time)."""
    try:
        return registry.resolve(f"{name}@production")
    except AssetNotFound:
        card = algorithm_cards()[name]
        version = registry.register(
            "algorithm", name, card, description=card["title"], tags={"task": card["task"], "family": card["family"]}
        )
        return registry.set_alias(name, "production", version.version)
