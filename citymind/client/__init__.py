"""A client of the citymind gateway, sync (:class:`Client`) and async (:class:`AsyncClient`), on httpx.

    from citymind.client import Client

    with Client() as city:                      # CITYMIND_URL (default http://127.0.0.1:8000), CITYMIND_API_KEY
        answer = city.triage({"text": "南村镇小区门口路灯坏了"})
        print(answer.event_id, answer.category, answer.department.lead)

Every operation of the gateway is a method (``citymind.client.operations`` lists them) that returns the answer's
model from :mod:`citymind.api`. A failed answer raises a :class:`GatewayError` subclass (``NotFound``,
``Unprocessable``, ...) with the gateway's message. Calls that are safe to send twice are retried with backoff on a
refused or dropped connection, 429, 502–504 and a bodiless 500 (a replica restart); any call is retried when the
gateway was never reached."""

from __future__ import annotations

import asyncio
import inspect
import os
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, Concatenate, ParamSpec, TypeVar

import httpx
import numpy as np

from citymind.client import _tensors, operations
from citymind.client._calls import Call
from citymind.client._retry import (
    BadRequest,
    Conflict,
    Forbidden,
    GatewayError,
    NotFound,
    RateLimited,
    Retries,
    Unauthorized,
    Unavailable,
    Unprocessable,
    again,
    error,
)

__all__ = ["AsyncClient", "BadRequest", "Client", "Conflict", "Forbidden", "GatewayError", "NotFound", "RateLimited",
           "Retries", "Unauthorized", "Unavailable", "Unprocessable"]  # fmt: skip

P = ParamSpec("P")
T = TypeVar("T")
M = TypeVar("M", bound=Callable[..., Any])
DEFAULT_URL = "http://127.0.0.1:8000"


def _settings(url: str | None, api_key: str | None) -> tuple[str, dict[str, str]]:
    url = url or os.environ.get("CITYMIND_URL") or DEFAULT_URL
    key = api_key if api_key is not None else os.environ.get("CITYMIND_API_KEY")
    headers = {"user-agent": "citymind-client"} | ({"x-api-key": key} if key else {})
    return url.rstrip("/"), headers


def _request(call: Call[Any]) -> dict[str, Any]:
    return {"params": call.params, "json": call.json, "data": call.data, "files": call.files,
            "content": call.content, "headers": call.headers or None}  # fmt: skip


def _answer(call: Call[T], response: httpx.Response) -> T:
    if response.status_code >= 400 and response.status_code not in call.accept:
        raise error(response)
    if call.answer is httpx.Response:  # the caller reads the body itself (binary tensors)
        return response  # type: ignore[return-value]
    return call.read(response.json())


def _wait(
    call: Call[Any], retries: Retries, attempt: int, response: httpx.Response | None, failure: Exception | None
) -> float | None:
    """Seconds to wait before sending ``call`` again, or None: this attempt is the last."""
    if attempt + 1 < retries.attempts and again(call, response, failure):
        return retries.wait(attempt, response)
    return None


def _outcome(call: Call[T], response: httpx.Response | None, failure: Exception | None) -> T:
    if failure is not None:
        raise failure
    assert response is not None
    return _answer(call, response)


def _sync(build: Callable[P, Call[T]]) -> Callable[Concatenate[Client, P], T]:
    def method(self: Client, *args: P.args, **kwargs: P.kwargs) -> T:
        return self.send(build(*args, **kwargs))

    return _like(method, build)


def _async(build: Callable[P, Call[T]]) -> Callable[Concatenate[AsyncClient, P], Coroutine[Any, Any, T]]:
    async def method(self: AsyncClient, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self.send(build(*args, **kwargs))

    return _like(method, build)


def _like(method: M, build: Callable[..., Any]) -> M:
    """``method`` named and documented as the operation it sends, with its parameters and answer type, so that
    ``help(Client.classify)`` and an editor show ``(self, text, *, top_k=3, ...) -> ClassifyAnswer``."""
    signature = inspect.signature(build)
    answer = str(signature.return_annotation).removeprefix("Call[").removesuffix("]")
    self = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    method.__name__, method.__doc__ = build.__name__, build.__doc__
    method.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[self, *signature.parameters.values()], return_annotation=answer
    )
    return method


def _arrays_call(
    name: str, inputs: dict[str, np.ndarray], version: int | None, outputs: list[str] | None
) -> Call[httpx.Response]:
    body, headers = _tensors.encode_request(inputs, outputs, binary_outputs=True)
    return Call("POST", operations.infer_path(name, version), httpx.Response, content=body, headers=headers)


def _arrays(raw: httpx.Response) -> dict[str, np.ndarray]:
    length = raw.headers.get("inference-header-content-length")
    return _tensors.decode_answer(raw.content, int(length) if length else None)[1]


class Client:
    """``url`` (default ``CITYMIND_URL``, else http://127.0.0.1:8000), ``api_key`` (default ``CITYMIND_API_KEY``),
    ``timeout`` seconds per attempt, ``retries`` (:class:`Retries`), or an ``http`` client of your own."""

    def __init__(
        self,
        url: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float = 30.0,
        retries: Retries = Retries(),
        http: httpx.Client | None = None,
    ) -> None:
        base, headers = _settings(url, api_key)
        self.retries = retries
        self.http = http or httpx.Client(base_url=base, headers=headers, timeout=timeout)

    def send(self, call: Call[T]) -> T:
        """Send ``call`` (retrying as its ``retry`` allows) and read its answer."""
        attempt = 0
        while True:
            response, failure = None, None
            try:
                response = self.http.request(call.method, call.path, **_request(call))
            except httpx.TransportError as exc:
                failure = exc
            wait = _wait(call, self.retries, attempt, response, failure)
            if wait is None:
                return _outcome(call, response, failure)
            time.sleep(wait)
            attempt += 1

    def infer_arrays(
        self, name: str, inputs: dict[str, np.ndarray], *, version: int | None = None, outputs: list[str] | None = None
    ) -> dict[str, np.ndarray]:
        """OIP inference with NumPy arrays sent and received as binary tensors (no JSON lists of numbers)."""
        return _arrays(self.send(_arrays_call(name, inputs, version, outputs)))

    def iter_events(self, **filters: Any) -> Iterator[Any]:
        """Every recorded event the filters select, newest first, page after page."""
        cursor = None
        while True:
            page = self.events(**filters, cursor=cursor)
            yield from page.events
            if not page.next:
                return
            cursor = page.next

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    live = _sync(operations.live)
    ready = _sync(operations.ready)
    health = _sync(operations.health)
    server_metadata = _sync(operations.server_metadata)
    model_metadata = _sync(operations.model_metadata)
    model_ready = _sync(operations.model_ready)
    infer = _sync(operations.infer)
    refresh_models = _sync(operations.refresh_models)
    classify = _sync(operations.classify)
    triage = _sync(operations.triage)
    forecast = _sync(operations.forecast)
    evaluate_indicators = _sync(operations.evaluate_indicators)
    components = _sync(operations.components)
    run_component = _sync(operations.run_component)
    run_pipeline = _sync(operations.run_pipeline)
    events = _sync(operations.events)
    event = _sync(operations.event)
    add_outcome = _sync(operations.add_outcome)
    evaluation = _sync(operations.evaluation)
    demand = _sync(operations.demand)
    drift = _sync(operations.drift)
    drift_now = _sync(operations.drift_now)
    open311_services = _sync(operations.open311_services)
    open311_create = _sync(operations.open311_create)
    open311_request = _sync(operations.open311_request)
    registry_assets = _sync(operations.registry_assets)
    registry_asset = _sync(operations.registry_asset)
    analyze_video = _sync(operations.analyze_video)
    video_events = _sync(operations.video_events)
    whoami = _sync(operations.whoami)
    overview = _sync(operations.overview)
    rules_schema = _sync(operations.rules_schema)
    rule_source = _sync(operations.rule_source)
    check_rules = _sync(operations.check_rules)
    test_rules = _sync(operations.test_rules)
    backtest_rules = _sync(operations.backtest_rules)
    publish_rules = _sync(operations.publish_rules)
    registry_versions = _sync(operations.registry_versions)
    move_alias = _sync(operations.move_alias)
    roll_back_alias = _sync(operations.roll_back_alias)
    lineage = _sync(operations.lineage)
    knowledge_dispatch = _sync(operations.knowledge_dispatch)
    knowledge_lookup = _sync(operations.knowledge_lookup)
    knowledge_neighbourhood = _sync(operations.knowledge_neighbourhood)
    knowledge_search = _sync(operations.knowledge_search)


class AsyncClient:
    """The same operations as :class:`Client`, awaited:
    ``async with AsyncClient() as city: await city.classify(...)``."""

    def __init__(
        self,
        url: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float = 30.0,
        retries: Retries = Retries(),
        http: httpx.AsyncClient | None = None,
    ) -> None:
        base, headers = _settings(url, api_key)
        self.retries = retries
        self.http = http or httpx.AsyncClient(base_url=base, headers=headers, timeout=timeout)

    async def send(self, call: Call[T]) -> T:
        attempt = 0
        while True:
            response, failure = None, None
            try:
                response = await self.http.request(call.method, call.path, **_request(call))
            except httpx.TransportError as exc:
                failure = exc
            wait = _wait(call, self.retries, attempt, response, failure)
            if wait is None:
                return _outcome(call, response, failure)
            await asyncio.sleep(wait)
            attempt += 1

    async def infer_arrays(
        self, name: str, inputs: dict[str, np.ndarray], *, version: int | None = None, outputs: list[str] | None = None
    ) -> dict[str, np.ndarray]:
        """OIP inference with NumPy arrays sent and received as binary tensors (no JSON lists of numbers)."""
        return _arrays(await self.send(_arrays_call(name, inputs, version, outputs)))

    async def iter_events(self, **filters: Any) -> AsyncIterator[Any]:
        """Every recorded event the filters select, newest first, page after page (``async for``)."""
        cursor = None
        while True:
            page = await self.events(**filters, cursor=cursor)
            for event in page.events:
                yield event
            if not page.next:
                return
            cursor = page.next

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    live = _async(operations.live)
    ready = _async(operations.ready)
    health = _async(operations.health)
    server_metadata = _async(operations.server_metadata)
    model_metadata = _async(operations.model_metadata)
    model_ready = _async(operations.model_ready)
    infer = _async(operations.infer)
    refresh_models = _async(operations.refresh_models)
    classify = _async(operations.classify)
    triage = _async(operations.triage)
    forecast = _async(operations.forecast)
    evaluate_indicators = _async(operations.evaluate_indicators)
    components = _async(operations.components)
    run_component = _async(operations.run_component)
    run_pipeline = _async(operations.run_pipeline)
    events = _async(operations.events)
    event = _async(operations.event)
    add_outcome = _async(operations.add_outcome)
    evaluation = _async(operations.evaluation)
    demand = _async(operations.demand)
    drift = _async(operations.drift)
    drift_now = _async(operations.drift_now)
    open311_services = _async(operations.open311_services)
    open311_create = _async(operations.open311_create)
    open311_request = _async(operations.open311_request)
    registry_assets = _async(operations.registry_assets)
    registry_asset = _async(operations.registry_asset)
    analyze_video = _async(operations.analyze_video)
    video_events = _async(operations.video_events)
    whoami = _async(operations.whoami)
    overview = _async(operations.overview)
    rules_schema = _async(operations.rules_schema)
    rule_source = _async(operations.rule_source)
    check_rules = _async(operations.check_rules)
    test_rules = _async(operations.test_rules)
    backtest_rules = _async(operations.backtest_rules)
    publish_rules = _async(operations.publish_rules)
    registry_versions = _async(operations.registry_versions)
    move_alias = _async(operations.move_alias)
    roll_back_alias = _async(operations.roll_back_alias)
    lineage = _async(operations.lineage)
    knowledge_dispatch = _async(operations.knowledge_dispatch)
    knowledge_lookup = _async(operations.knowledge_lookup)
    knowledge_neighbourhood = _async(operations.knowledge_neighbourhood)
    knowledge_search = _async(operations.knowledge_search)
