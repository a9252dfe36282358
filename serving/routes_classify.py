"""``POST /v1/events/classify``: category, confidence and top-k of citizen reports (the fast path)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping, Sequence
from typing import Annotated, Protocol

from fastapi import APIRouter, Header
from pydantic import ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from citymind.api import ClassifyAnswer, ClassifyBatchAnswer
from events.classify import canary_answers
from models.served import ServedModel
from serving.openapi import errors
from serving.replica import Replica
from serving.requests import MAX_VERSION, AssetName, Batch, RequestBody, Words, check_one_of, one_of


class RemoteClassify(Protocol):
    """``ModelRunner.classify`` through its handle: a classification and the ``version`` that made it."""

    def remote(self, model: str, text: str, top_k: int) -> Awaitable[dict[str, object]]: ...


class ModelRunnerHandle(Protocol):
    """The batching runner deployment's handle (``serving.deployments.ModelRunner``)."""

    classify: RemoteClassify


class ClassifyRequest(RequestBody):
    """One report (``text``) or a batch (``texts``); ``model`` defaults to the event classifier."""

    model_config = ConfigDict(
        json_schema_extra=one_of(
            "text",
            "texts",
            {"text": "南村镇小区门口路灯坏了，晚上一片漆黑"},
            {"texts": ["路口红绿灯坏了，车辆乱停堵路", "单位拖欠工资三个月"], "top_k": 2},
        )
    )

    text: Words | SkipJsonSchema[None] = Field(default=None, examples=["南村镇小区门口路灯坏了，晚上一片漆黑"])
    texts: Batch[Words] | SkipJsonSchema[None] = None
    top_k: int = Field(default=3, ge=1, le=50)
    model: AssetName = "event-classifier"
    version: int | None = Field(default=None, ge=1, le=MAX_VERSION)

    @model_validator(mode="after")
    def one_of_text_or_texts(self) -> ClassifyRequest:
        check_one_of(self, "text", "texts", "'text' (a report) or 'texts' (a list of reports)")
        return self


def classify_router(replica: Replica, runner: ModelRunnerHandle | None = None) -> APIRouter:
    router = APIRouter(tags=["Event engine"])
    hub, canary = replica.hub, replica.canary

    def answer_here(body: ClassifyRequest, key: str | None) -> tuple[ServedModel, dict[str, object] | None]:
        """The model (a load happens here, off the event loop), and the answer when it is made in this process:
        a canary split, a pinned version, no runner, or a latency-critical model (the fast path)."""
        model = hub.get(body.model, body.version)
        texts = texts_of(body)
        if body.version is None:
            split = canary_answers(canary, model, texts, key, body.top_k)
            if split is not None:
                return model, ({"model": model.name, "version": model.version, **split} if body.texts else split)
        if runner is not None and body.version is None and not model.latency_critical:
            return model, None
        results = model.classify(texts, body.top_k)
        head = {"model": model.name, "version": model.version}
        return model, {**head, **results[0]} if body.text is not None else {**head, "results": results}

    @router.post(
        "/v1/events/classify",
        response_model=ClassifyAnswer | ClassifyBatchAnswer,
        responses=errors(404, 503),
    )
    async def classify(
        body: ClassifyRequest, x_request_key: Annotated[str | None, Header(max_length=200)] = None
    ) -> dict[str, object]:
        """Category, confidence and top-k of citizen reports, with the model name and version that decided.

        Latency-critical models run here, in the ingress process (the fast path); others go to the batching
        runner deployment. With a canary split on the model, ``X-Request-Key`` (else the text) picks the arm."""
        model, here = await replica.off_loop(answer_here, body, x_request_key)
        if here is not None:
            return here
        assert runner is not None  # answer_here answers every request a runner does not take
        answers = list(
            await asyncio.gather(*[runner.classify.remote(model.name, t, body.top_k) for t in texts_of(body)])
        )
        version = answers[0].pop("version") if answers else model.version
        for answer in answers[1:]:
            answer.pop("version", None)
        results: Sequence[Mapping[str, object]] = answers
        head = {"model": model.name, "version": version}
        return {**head, **results[0]} if body.text is not None else {**head, "results": results}

    return router


def texts_of(body: ClassifyRequest) -> list[str]:
    return [body.text] if body.text is not None else list(body.texts or [])
