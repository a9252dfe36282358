"""Task endpoints of the event engine: ``POST /v1/events/classify``."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
from fastapi import APIRouter, Header
from pydantic import BaseModel, Field, model_validator

from registry import ValidationError
from serving.limits import MAX_TEXT_CHARS, MAX_TEXTS
from serving.model_hub import ModelHub, ServedModel


class ClassifyRequest(BaseModel):
    """One report (``text``) or a batch (``texts``); ``model`` defaults to the event classifier."""

    text: str | None = Field(default=None, max_length=MAX_TEXT_CHARS)
    texts: list[str] | None = Field(default=None, min_length=1, max_length=MAX_TEXTS)
    top_k: int = Field(default=3, ge=1, le=50)
    model: str = Field(default="event-classifier", max_length=100)
    version: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def one_of_text_or_texts(self) -> ClassifyRequest:
        if (self.text is None) == (self.texts is None):
            raise ValueError("give exactly one of 'text' (a report) or 'texts' (a list of reports)")
        if self.text is not None and not self.text.strip():
            raise ValueError("'text' is empty or only whitespace; send the report's words")
        too_long = [i for i, t in enumerate(self.texts or []) if len(t) > MAX_TEXT_CHARS]
        if too_long:
            raise ValueError(f"texts {too_long[:5]} exceed {MAX_TEXT_CHARS} characters")
        blank = [i for i, t in enumerate(self.texts or []) if not t.strip()]
        if blank:
            raise ValueError(f"texts {blank[:5]} are empty or only whitespace; drop them or send the reports' words")
        return self


def events_router(hub: ModelHub, runner: Any = None) -> APIRouter:
    router = APIRouter(tags=["Event engine"])

    @router.post("/v1/events/classify")
    async def classify(body: ClassifyRequest, x_request_key: str | None = Header(default=None)) -> dict[str, Any]:
        """Category, confidence and top-k of citizen reports, with the model name and version that decided.

        Latency-critical models run here, in the ingress process (the fast path); others go to the batching
        runner deployment. With a canary split on the model, ``X-Request-Key`` (else the text) picks the arm."""
        model = hub.get(body.model, body.version)
        texts = [body.text] if body.text is not None else list(body.texts or [])
        if body.version is None:
            split = canary_split(hub, model, texts, x_request_key, body.top_k)
            if split is not None:
                return {"model": model.name, "version": model.version, **split} if body.texts else split
        if runner is not None and body.version is None and not is_latency_critical(model):
            results = list(await asyncio.gather(*[runner.classify.remote(model.name, t, body.top_k) for t in texts]))
            version = results[0].pop("version") if results else model.version
            for result in results[1:]:
                result.pop("version", None)
        else:
            results, version = classify_texts(model, texts, body.top_k), model.version
        head = {"model": model.name, "version": version}
        return {**head, **results[0]} if body.text is not None else {**head, "results": results}

    @router.post("/v1/models/refresh", tags=["Registry"])
    def refresh() -> dict[str, Any]:
        """Re-read the serving aliases now instead of waiting for the watcher."""
        return {"changes": hub.refresh(), "errors": hub.errors}

    return router


def canary_split(hub: ModelHub, model: ServedModel, texts: list[str], key: str | None, top_k: int) -> Any:
    """None without a canary on the model (the usual path); else the answers, each with its version and arm."""
    from events.canary import shared_canary

    canary = shared_canary(hub)
    split = canary.split(model.name)
    if not split.weight and not split.shadow:
        return None
    answers = canary.answer(model.name, [key or t for t in texts], texts, lambda m, b: classify_texts(m, b, top_k))
    return {"model": model.name, **answers[0]} if len(texts) == 1 else {"results": answers}


def is_latency_critical(model: ServedModel) -> bool:
    return model.tags.get("citymind.model.latency_critical", "true") == "true"


def classify_texts(model: ServedModel, texts: list[str], top_k: int) -> list[dict[str, Any]]:
    if model.text_classifier is None:
        raise ValidationError(f"model {model.name} is not a text classifier; call /v2/models/{model.name}/infer.")
    proba = model.text_classifier.predict_proba(texts)
    classes = model.classes
    out = []
    for row in proba:
        order = np.argsort(-row)[:top_k]
        out.append(
            {
                "category": classes[order[0]],
                "confidence": round(float(row[order[0]]), 6),
                "top_k": [{"category": classes[i], "score": round(float(row[i]), 6)} for i in order],
            }
        )
    return out
