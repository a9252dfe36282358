"""citymind.client's logic around the network: what is retried, what an error becomes, the key from the
environment, binary tensors. The gateway is stood in for by httpx.MockTransport here; tests/e2e/test_client.py calls
every operation on the real one."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import httpx
import numpy as np
import pytest

from citymind.client import AsyncClient, Client, NotFound, RateLimited, Retries, Unavailable, Unprocessable, _tensors

FAST = Retries(attempts=3, backoff_s=0.001)
CLASSIFIED = {"category": "市容环境", "confidence": 0.9, "top_k": [], "model": "event-classifier", "version": 1}


def scripted(*answers: httpx.Response | type[Exception]) -> tuple[Callable[[httpx.Request], httpx.Response], list]:
    """A transport that gives ``answers`` in turn (an exception class is raised), recording the requests."""
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = answers[min(len(seen), len(answers)) - 1]
        if isinstance(answer, type):
            raise answer("scripted", request=request)
        return answer

    return handle, seen


def client(handler: Callable[[httpx.Request], httpx.Response], **kwargs: object) -> Client:
    http = httpx.Client(base_url="http://gateway", transport=httpx.MockTransport(handler))
    return Client(http=http, retries=FAST, **kwargs)  # type: ignore[arg-type]


def test_a_refused_connection_is_retried_even_for_a_call_that_records() -> None:
    handler, seen = scripted(httpx.ConnectError, httpx.Response(200, json=[{"service_request_id": "e1"}]))
    receipts = client(handler).open311_create("路灯坏了")
    assert receipts[0].service_request_id == "e1" and len(seen) == 2


def test_a_dropped_connection_is_retried_only_when_the_call_is_safe_twice() -> None:
    handler, seen = scripted(httpx.RemoteProtocolError, httpx.Response(200, json=CLASSIFIED))
    assert client(handler).classify("路灯坏了").category == "市容环境" and len(seen) == 2
    handler, seen = scripted(httpx.RemoteProtocolError, httpx.Response(200, json={}))
    with pytest.raises(httpx.RemoteProtocolError):
        client(handler).triage({"text": "路灯坏了"})  # recorded: a second send could record it twice
    assert len(seen) == 1
    handler, seen = scripted(httpx.RemoteProtocolError, httpx.Response(404, json={"error": "no model"}))
    with pytest.raises(NotFound):  # the channel's id: sent again, the gateway answers the same event
        client(handler).triage({"text": "路灯坏了", "id": "hotline-1"})
    assert len(seen) == 2


def test_a_bodiless_500_is_a_replica_restart_and_a_json_500_is_not() -> None:
    handler, seen = scripted(httpx.Response(500, text="Internal Server Error"), httpx.Response(200, json=CLASSIFIED))
    assert client(handler).classify("路灯坏了").confidence == 0.9 and len(seen) == 2
    handler, seen = scripted(httpx.Response(500, json={"error": "a bug"}))
    with pytest.raises(Unavailable, match="a bug"):
        client(handler).classify("路灯坏了")
    assert len(seen) == 1


def test_429_waits_as_told_and_gives_up_after_the_attempts() -> None:
    handler, seen = scripted(httpx.Response(429, headers={"retry-after": "0"}, json={"error": "quota"}))
    with pytest.raises(RateLimited, match=r"429 .*quota"):
        client(handler).components()
    assert len(seen) == 3


def test_errors_carry_the_gateways_message_and_status() -> None:
    handler, _ = scripted(httpx.Response(422, json={"error": "category '交通' is not in the taxonomy; did you mean"}))
    with pytest.raises(Unprocessable) as raised:
        client(handler).add_outcome("e1", "o1", "category_corrected", category="交通")
    assert raised.value.status == 422 and raised.value.message.startswith("category '交通'")
    handler, seen = scripted(httpx.Response(404, json={"error": "no event 'e9'"}))
    with pytest.raises(NotFound, match="no event"):
        client(handler).event("e9")
    assert len(seen) == 1  # a 4xx is an answer, not a failure: never sent again


def test_the_key_and_url_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYMIND_API_KEY", "cm_test_secret")
    monkeypatch.setenv("CITYMIND_URL", "http://city.example:9000/")
    with Client() as city:
        assert (
            city.http.headers["x-api-key"] == "cm_test_secret" and str(city.http.base_url) == "http://city.example:9000"
        )
    monkeypatch.delenv("CITYMIND_API_KEY")
    assert "x-api-key" not in Client().http.headers


def test_queries_leave_out_what_is_not_given_and_send_times_as_iso() -> None:
    from datetime import datetime

    handler, seen = scripted(httpx.Response(200, json={"events": [], "next": None}))
    client(handler).events(area="南村镇", since=datetime(2026, 11, 30, 8))
    assert dict(seen[0].url.params) == {"area": "南村镇", "since": "2026-11-30T08:00:00", "limit": "50"}


def test_an_id_with_a_slash_or_a_question_mark_stays_one_path_segment() -> None:
    handler, seen = scripted(httpx.Response(404, json={"error": "no event 'a/b?c' is recorded"}))
    with pytest.raises(NotFound, match=r"no event 'a/b\?c'"):
        client(handler).event("a/b?c")
    assert seen[0].url.raw_path == b"/v1/events/a%2Fb%3Fc" and seen[0].url.query == b""
    handler, seen = scripted(httpx.Response(404, json={"error": "no node"}))
    with pytest.raises(NotFound):
        client(handler).knowledge_neighbourhood("市城市管理局 #2")
    assert seen[0].url.path == "/v1/knowledge/nodes/市城市管理局 #2" and seen[0].url.params["radius"] == "1"


def test_a_knowledge_search_sends_its_text_count_and_scope() -> None:
    hit = {"id": "pd-001", "title": "东阁街道路灯不亮", "reply": "已更换路灯线路。", "score": 0.8}
    body = {"q": "路灯坏了", "of": "cases", "knowledge": "pingdu-knowledge/2", "hits": [hit]}
    handler, seen = scripted(httpx.Response(200, json=body))
    found = client(handler).knowledge_search("路灯坏了", k=2, of="cases")
    assert found.hits[0].reply == "已更换路灯线路。" and found.knowledge == "pingdu-knowledge/2"
    assert seen[0].url.path == "/v1/knowledge/search"
    assert dict(seen[0].url.params) == {"q": "路灯坏了", "k": "2", "of": "cases"}


def test_binary_tensors_round_trip() -> None:
    inputs = {"text": np.array([["路灯坏了"], ["噪音扰民"]], dtype=object), "x": np.arange(6, dtype=np.float32)}
    body, headers = _tensors.encode_request(inputs, ["probabilities"], binary_outputs=True)
    split = int(headers["Inference-Header-Content-Length"])
    header = json.loads(body[:split])
    assert [t["datatype"] for t in header["inputs"]] == ["BYTES", "FP32"]
    outputs = [{**t, "name": n} for n, t in zip(inputs, header["inputs"], strict=True)]
    answer_header = {"outputs": outputs}
    head = json.dumps(answer_header).encode()
    _, arrays = _tensors.decode_answer(head + body[split:], len(head))
    assert arrays["text"].tolist() == [["路灯坏了"], ["噪音扰民"]]
    assert arrays["x"].dtype == np.float32 and arrays["x"].tolist() == list(range(6))


def test_the_async_client_retries_the_same_way() -> None:
    handler, seen = scripted(httpx.ConnectError, httpx.Response(200, json=CLASSIFIED))

    async def run() -> str:
        http = httpx.AsyncClient(base_url="http://gateway", transport=httpx.MockTransport(handler))
        async with AsyncClient(http=http, retries=FAST) as city:
            return (await city.classify("路灯坏了")).category

    assert asyncio.run(run()) == "市容环境" and len(seen) == 2


def test_a_method_shows_the_parameters_and_answer_of_its_operation() -> None:
    import inspect

    for cls in (Client, AsyncClient):
        shown = inspect.signature(cls.classify)
        assert list(shown.parameters) == ["self", "text", "top_k", "model", "version"], cls
        assert (
            shown.parameters["top_k"].default == 3 and shown.return_annotation == "ClassifyAnswer | ClassifyBatchAnswer"
        )
    assert str(inspect.signature(Client(url="http://gateway").event)) == "(event_id: 'str') -> 'EventRecord'"
