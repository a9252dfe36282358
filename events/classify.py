"""Event classification (事件分类) with the champion/challenger split: which model version answers each report,
and the answers tagged with that version and its arm."""

from __future__ import annotations

from typing import TypedDict

from events.canary import Canary
from models.served import CategoryScore, ServedModel


class ModelArm(TypedDict):
    """The model version that answered and its canary arm (``champion``/``challenger``)."""

    name: str
    version: int
    arm: str


class RoutedClassification(TypedDict):
    """A report's category, confidence and top-k, and under ``model`` the version and arm that decided."""

    category: str
    confidence: float
    top_k: list[CategoryScore]
    model: ModelArm


def canary_answers(
    canary: Canary, model: ServedModel, texts: list[str], key: str | None, top_k: int
) -> dict[str, object] | None:
    """None without a canary on the model (the usual path); else the answers, each with its version and arm.
    ``key`` (the caller's request key, else each text) keeps a caller on one arm."""
    split = canary.split(model.name)
    if not split.weight and not split.shadow:
        return None
    answers = canary.answer(model.name, [key or t for t in texts], texts, lambda m, b: m.classify(b, top_k))
    return {"model": model.name, **answers[0]} if len(texts) == 1 else {"results": answers}


def classify_routed(
    canary: Canary, model: str, texts: list[str], keys: list[str], top_k: int
) -> list[RoutedClassification]:
    """Each text by the model version its key is routed to (champion, or challenger for a canary share), the
    version and arm under ``model``."""
    # copies: the canary's shadow comparison may still read these answers in another thread
    return [
        {
            "category": a["category"],
            "confidence": a["confidence"],
            "top_k": a["top_k"],
            "model": {"name": model, "version": a["version"], "arm": a["arm"]},
        }
        for a in canary.answer(model, keys, texts, lambda m, b: m.classify(b, top_k))
    ]
