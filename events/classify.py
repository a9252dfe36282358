"""Event classification (事件分类) with the champion/challenger split: which model version answers each report,
and the answers tagged with that version and its arm."""

from __future__ import annotations

from typing import Any

from events.canary import Canary
from models.served import ServedModel


def canary_answers(
    canary: Canary, model: ServedModel, texts: list[str], key: str | None, top_k: int
) -> dict[str, Any] | None:
    """None without a canary on the model (the usual path); else the answers, each with its version and arm.
    ``key`` (the caller's request key, else each text) keeps a caller on one arm."""
    split = canary.split(model.name)
    if not split.weight and not split.shadow:
        return None
    answers = canary.answer(model.name, [key or t for t in texts], texts, lambda m, b: m.classify(b, top_k))
    return {"model": model.name, **answers[0]} if len(texts) == 1 else {"results": answers}


def classify_routed(canary: Canary, model: str, texts: list[str], keys: list[str], top_k: int) -> list[dict[str, Any]]:
    """Each text by the model version its key is routed to (champion, or challenger for a canary share), the
    version and arm under ``model``."""
    # copies: the canary's shadow comparison may still read these answers in another thread
    return [
        {k: v for k, v in a.items() if k not in ("version", "arm")}
        | {"model": {"name": model, "version": a["version"], "arm": a["arm"]}}
        for a in canary.answer(model, keys, texts, lambda m, b: m.classify(b, top_k))
    ]
