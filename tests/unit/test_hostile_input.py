"""Hostile input against the gateway's app, without Ray (issue: one key must not take a replica down): what a
request may cost is bounded before the work starts. The same shapes run against the real Ray Serve gateway in
tests/e2e/test_zzz_hostile.py."""

from __future__ import annotations

import base64
import logging
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from citymind.errors import ValidationError
from serving.app import create_app
from serving.limits import MAX_BODY_BYTES
from serving.model_hub import ModelHub
from serving.routes_components import MAX_NESTING, nesting
from tests.one_model_registry import OneModelRegistry
from tests.unit.test_gateway_app import onnx_path  # noqa: F401  (the fixture)


@pytest.fixture
def client(onnx_path: object) -> Iterator[TestClient]:  # noqa: F811
    with TestClient(create_app(ModelHub(OneModelRegistry(onnx_path))), raise_server_exceptions=False) as http:  # type: ignore[arg-type]
        yield http


def test_a_chunked_body_over_the_limit_is_413_before_it_is_parsed(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"texts": ["'
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b"a" * 65536
        yield b'"]}'

    response = client.post("/v1/events/classify", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413, response.text
    assert "exceeds the limit of 2097152 bytes" in response.json()["error"]


def test_a_chunked_body_within_the_limit_is_served(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield '{"text": "南村镇路灯'.encode()
        yield '不亮了"}'.encode()

    response = client.post("/v1/events/classify", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 200 and response.json()["category"], response.text


# --- the patterns that run on request text are linear -------------------------------------------------------------

ALPHABET = ["a", "1", ".", "@", " ", "\n", "-", "中", "鲁", "X", "+", "(", "（", "_", "\t", "\u3000"]


def adversarial(n: int) -> Iterator[str]:
    """Long runs of each character a pattern loops on, alone and in pairs, with and without a stray end."""
    for a in ALPHABET:
        yield a * n
        yield a * n + "!"
        for b in ALPHABET:
            yield (a + b) * (n // 2)


def _patterns() -> list[tuple[str, re.Pattern[str]]]:
    from models.components import text_normalize
    from models.components.privacy_mask import PATTERNS

    named = [(f"privacy.mask {kind}", pattern) for kind, pattern in PATTERNS]
    return named + [
        (f"text.normalize {n}", getattr(text_normalize, n)) for n in ("_CONTROL", "_SPACES", "_BLANK_LINES")
    ]


@pytest.mark.parametrize(("name", "pattern"), _patterns(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_pattern_on_request_text_is_linear_on_adversarial_input(name: str, pattern: re.Pattern[str]) -> None:
    """20,000 characters: a linear scan takes milliseconds, a quadratic one (a run rescanned from each position:
    the old e-mail pattern, ``\\s*\\n\\s*``) seconds. The bound is 40× what linear patterns take here."""
    worst = 0.0
    for text in adversarial(20_000):
        start = time.process_time()
        sum(1 for _ in pattern.finditer(text))
        worst = max(worst, time.process_time() - start)
    assert worst < 0.25, f"{name}: {worst:.2f} s of CPU on one adversarial input"


#: the patterns before they were made linear: the same matches on every text that is not adversarial
OLD_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
OLD_BLANK_LINES = re.compile(r"\s*\n\s*")
SHAPES = [
    "请回电0532-88886666或发邮件到 zhang.san@example.com，a.b@c 不算，x@y.cn 算",
    "邮箱:Li_Ming+12345@mail.qd.gov.cn;备用 li@x.org.",
    "a@b@c.com @@ x@.com x@y. .@a.bc",
    " 路灯  \n\n  不亮 \t\n",
    "第一行\r\n\r\n   第二行\n\u3000第三行  ",
    "\n\n\n",
    "no newline at all   ",
]


def test_the_linear_patterns_match_what_the_old_ones_matched() -> None:
    from models.components import text_normalize
    from models.components.privacy_mask import PATTERNS

    email = dict(PATTERNS)["email"]
    for text in SHAPES:
        assert [m.span() for m in email.finditer(text)] == [m.span() for m in OLD_EMAIL.finditer(text)], text
        for sep in ("\n", " "):
            assert text_normalize._BLANK_LINES.sub(sep, text) == OLD_BLANK_LINES.sub(sep, text), text


def test_a_component_record_with_a_text_over_the_limit_is_400(client: TestClient) -> None:
    response = client.post("/v1/components/privacy.mask", json={"record": {"text": "a" * 80_000}})
    assert response.status_code == 400 and "exceeds 5000 characters" in response.json()["error"], response.text


# --- what a decoded or resampled request may allocate is bounded before it is allocated ---------------------------


def _png(width: int, height: int) -> str:
    import cv2
    import numpy as np

    ok, data = cv2.imencode(".png", np.zeros((height, width, 3), np.uint8))
    assert ok
    return base64.b64encode(data.tobytes()).decode()


def test_image_decode_refuses_a_batch_over_its_pixels_before_decoding_any() -> None:
    from models.components.image_decode import ImageDecoder

    big = _png(4096, 4096)  # ~50 KB of zeros, 50 MB once decoded
    decoder = ImageDecoder()
    with pytest.raises(ValidationError, match="hold 83886080 pixels in all; the limit for one call is 67108864"):
        decoder.batch([{"image": big}] * 5)
    assert decoder.batch([{"image": _png(8, 4)}] * 2)[1]["width"] == 8


def test_series_resample_refuses_a_span_over_its_buckets_before_allocating_them() -> None:
    from models.components.series_resample import SeriesResampler

    start = time.process_time()
    with pytest.raises(ValidationError, match="2500001 buckets of 'h'; at most 100000"):
        SeriesResampler()({"series": [{"t": 0, "value": 1.0}, {"t": 9e9, "value": 2.0}]})
    assert time.process_time() - start < 1.0  # refused, not computed (the span costs ~18 s of hours)
    out = SeriesResampler(max_buckets=3)({"series": [{"t": 0, "value": 1.0}, {"t": 7200, "value": 3.0}]})
    assert [p["value"] for p in out["series"]] == [1.0, 2.0, 3.0]


# --- rules: every operator bounded, a failing rule skipped and counted --------------------------------------------

RULES = """groups:
  - name: hostile
    kind: alert
    rules:
      - id: huge
        when: value * 1000000000000000 * 1000000000000000 * 1000000000000000 / 3 > 1
      - id: fine
        when: value > 1
"""


def test_percent_formatting_is_refused_at_compile_time() -> None:
    from rules.expressions import ExpressionError, compile_expression

    with pytest.raises(ExpressionError, match="formatting text with % is not allowed"):
        compile_expression("'%4000000000d' % value == 'x'", ["value"])
    assert compile_expression("value % 7 == 3", ["value"])({"value": 10}) is True
    assert compile_expression("text % 2 == 0", ["text"])({"text": "%4000000000d"}) is None  # a field: no formatting


def test_an_overflowing_rule_never_fails_the_evaluation() -> None:
    from rules.engine import RuleEngine
    from rules.loader import parse_rules

    engine = RuleEngine(parse_rules(RULES))
    fired = engine.evaluate("alert", {"value": 10**15, "area": "古岘镇", "indicator": "pm25"})
    assert [f.rule for f in fired] == ["fine"]


def test_a_rule_whose_condition_raises_is_skipped_counted_and_reported(caplog: pytest.LogCaptureFixture) -> None:
    from rules.engine import RuleEngine
    from rules.loader import parse_rules

    engine = RuleEngine(parse_rules(RULES))
    huge = next(r for r in engine.ruleset.rules if r.id == "huge")

    def exhausted(event: object) -> object:
        raise MemoryError("out of memory")

    object.__setattr__(huge, "condition", exhausted)  # a fake condition: what any evaluation failure looks like
    with caplog.at_level(logging.WARNING, logger="citymind.rules"):
        for _ in range(2):
            assert [f.rule for f in engine.evaluate("alert", {"value": 5})] == ["fine"]
    assert engine.errors == {"huge": 2} and engine.last_error["huge"] == "MemoryError: out of memory"
    assert "rule huge skipped" in caplog.text


# --- API keys: never open because the file went wrong ---------------------------------------------------------------


def test_a_corrupt_or_empty_keys_file_stops_the_gateway_with_what_to_do(tmp_path: Path, onnx_path: Path) -> None:  # noqa: F811
    from citymind.access import KeysFileError, KeyStore

    hub = ModelHub(OneModelRegistry(onnx_path))  # type: ignore[arg-type]
    for text in ("{not json", "", '[{"id": 1}]'):
        path = tmp_path / "keys.json"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(KeysFileError, match=r"cannot be read .* `citymind keys create`"):
            create_app(hub, keys=KeyStore(path))


def test_keys_stay_asked_for_when_every_key_is_revoked_or_the_file_goes(tmp_path: Path, onnx_path: Path) -> None:  # noqa: F811
    from citymind.access import KeyStore

    store = KeyStore(tmp_path / "keys.json")
    record, secret = store.create("ops", "admin")
    with TestClient(create_app(ModelHub(OneModelRegistry(onnx_path)), keys=store)) as http:  # type: ignore[arg-type]
        body = {"text": "南村镇路灯不亮"}
        assert http.post("/v1/events/classify", json=body, headers={"x-api-key": secret}).status_code == 200
        store.revoke(record.id)
        assert http.post("/v1/events/classify", json=body).status_code == 401
        (tmp_path / "keys.json").write_text("", encoding="utf-8")  # truncated by a crash
        assert http.post("/v1/events/classify", json=body).status_code == 401
        (tmp_path / "keys.json").unlink()
        assert http.post("/v1/events/classify", json=body).status_code == 401
        assert http.get("/v2/health/live").status_code == 200


def test_a_keys_file_gone_bad_never_turns_health_with_a_key_into_a_500(tmp_path: Path, onnx_path: Path) -> None:  # noqa: F811
    """No keys at start, then a corrupt file: protected routes answer 503 naming the file, health still answers."""
    from citymind.access import KeyStore

    path = tmp_path / "keys.json"
    with TestClient(create_app(ModelHub(OneModelRegistry(onnx_path)), keys=KeyStore(path))) as http:  # type: ignore[arg-type]
        path.write_text("{not json", encoding="utf-8")
        refused = http.post("/v1/events/classify", json={"text": "路灯"})
        live = http.get("/v2/health/live", headers={"x-api-key": "cm_0000_secret"})
    assert refused.status_code == 503 and "keys.json cannot be read" in refused.json()["error"]
    assert live.status_code == 200


# --- durable files ----------------------------------------------------------------------------------------------------


def test_private_files_are_written_by_concurrent_writers_without_sharing_a_temp_file(tmp_path: Path) -> None:
    from citymind.files import write_private

    path = tmp_path / "state.json"
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            for j in range(50):
                write_private(path, f"{i}-{j}" * 1000)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and [p.name for p in tmp_path.iterdir()] == ["state.json"]
    assert (path.stat().st_mode & 0o777) == 0o600 and path.read_text().endswith("-49")


def test_the_event_state_saver_survives_any_error_and_reports_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from events.state import EventState

    state = EventState(tmp_path / "state.json", save_every_s=0.05)
    calls = []

    def flaky() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("disk said no")

    state.save = flaky  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING, logger="citymind.events"):
        deadline = time.monotonic() + 5
        while len(calls) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
    assert len(calls) >= 3  # the saver went on after the error
    assert "could not save the event state" in caplog.text and "disk said no" in caplog.text
    state._stop.set()


# --- a slow or large model never stalls a replica; quotas per key ---------------------------------------------------


@pytest.fixture(scope="module")
def slow_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model a caller cannot make fast: one number in, expanded to 1200×1200, then 60 matrix products (~10 s of
    CPU on one thread). What a bring-your-own model can cost."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    shape = numpy_helper.from_array(np.array([1200, 1200], dtype=np.int64), "shape")
    nodes = [helper.make_node("Expand", ["x", "shape"], ["m0"])]
    for i in range(60):
        nodes.append(helper.make_node("MatMul", [f"m{i}", "m0"], [f"m{i + 1}"]))
    nodes.append(helper.make_node("ReduceMean", ["m60"], ["y"], keepdims=0))
    graph = helper.make_graph(
        nodes,
        "slow",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [])],
        [shape],
    )
    path = tmp_path_factory.mktemp("slow") / "slow.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


SLOW_BODY = {"inputs": [{"name": "x", "shape": [1, 1], "datatype": "FP32", "data": [1e-3]}]}


def test_a_slow_model_run_is_stopped_and_health_answers_meanwhile(slow_onnx: Path) -> None:
    hub = ModelHub(OneModelRegistry(slow_onnx, "slow"), run_timeout_s=1.0)  # type: ignore[arg-type]
    with TestClient(create_app(hub)) as http:
        answers: list[object] = []
        runner = threading.Thread(target=lambda: answers.append(http.post("/v2/models/slow/infer", json=SLOW_BODY)))
        runner.start()
        time.sleep(0.3)  # the run has started
        live = http.get("/v2/health/live")
        in_flight = runner.is_alive()
        runner.join(timeout=30)
    assert live.status_code == 200 and in_flight  # the event loop answered while the model ran
    [response] = answers
    assert response.status_code == 503, response.text  # type: ignore[attr-defined]
    assert "ran longer than 1 s and was stopped" in response.json()["error"]  # type: ignore[attr-defined]


def test_a_model_over_the_size_limit_is_refused(onnx_path: Path) -> None:  # noqa: F811
    hub = ModelHub(OneModelRegistry(onnx_path), max_model_bytes=1024)  # type: ignore[arg-type]
    with TestClient(create_app(hub)) as http:
        response = http.post("/v1/events/classify", json={"text": "南村镇路灯不亮"})
    assert response.status_code == 409 and "this gateway serves models up to" in response.json()["error"]


def test_a_key_past_its_rate_gets_429_with_retry_after_and_other_keys_are_served(
    tmp_path: Path,
    onnx_path: Path,  # noqa: F811
) -> None:
    from citymind.access import KeyStore

    store = KeyStore(tmp_path / "keys.json")
    _, admin = store.create("ops", "admin")
    _, busy = store.create("intake", "consumer")
    _, other = store.create("hotline", "consumer")
    quotas = '{"consumer": {"rate": 0.5, "burst": 2}}'
    app = create_app(ModelHub(OneModelRegistry(onnx_path)), keys=store, quota_overrides=quotas)  # type: ignore[arg-type]
    body = {"text": "南村镇路灯不亮"}
    with TestClient(app) as http:
        http.post("/v1/events/classify", json=body, headers={"x-api-key": admin})  # the model loads here
        started = time.monotonic()
        codes = [http.post("/v1/events/classify", json=body, headers={"x-api-key": busy}) for _ in range(3)]
        spent = time.monotonic() - started
        served = http.post("/v1/events/classify", json=body, headers={"x-api-key": other})
    assert [r.status_code for r in codes] == [200, 200, 429] and served.status_code == 200
    # a token comes back 2 s after the burst began, less the time the three requests took (a busy machine: > 1 s)
    assert codes[2].headers["retry-after"] in ({"2"} if spent < 1 else {"1", "2"}), spent
    assert "rate of 0.5 requests a second" in codes[2].json()["error"]


def test_a_key_past_its_concurrency_gets_429(tmp_path: Path, slow_onnx: Path) -> None:
    from citymind.access import KeyStore

    store = KeyStore(tmp_path / "keys.json")
    _, secret = store.create("ops", "admin")
    hub = ModelHub(OneModelRegistry(slow_onnx, "slow"), run_timeout_s=1.0)  # type: ignore[arg-type]
    app = create_app(hub, keys=store, quota_overrides='{"admin": {"concurrent": 1}}')
    with TestClient(app) as http:
        first = threading.Thread(
            target=lambda: http.post("/v2/models/slow/infer", json=SLOW_BODY, headers={"x-api-key": secret})
        )
        first.start()
        time.sleep(0.3)
        second = http.post("/v2/models/slow/infer", json=SLOW_BODY, headers={"x-api-key": secret})
        first.join(timeout=30)
    assert second.status_code == 429 and "1 requests in flight" in second.json()["error"]


def test_the_cli_checks_the_kind_the_parser_will_use() -> None:
    """ef3d69f read the first ``--kind`` while the parser takes the last: ``--kind rule --kind model`` passed a
    rule author's check for a model."""
    from citymind.cli import _kind_of

    argv = ["registry", "register", "--kind", "rule", "x", "path", "--kind", "model"]
    assert _kind_of(argv, []) == "model"
    assert _kind_of(["registry", "register", "--kind=rule", "x", "--kind=knowledge"], []) == "knowledge"


def test_a_component_record_nested_past_the_limit_is_refused_and_one_at_the_limit_is_read(client: TestClient) -> None:
    def nested(depth: int) -> dict[str, object]:
        """A record ``depth`` containers deep: objects and lists in turn."""
        inner: object = {"n": 1}
        for level in range(depth - 2):
            inner = [inner, 2] if level % 2 == 0 else {"inner": inner}
        return {"text": "路灯坏了", "inner": inner}

    assert nesting({"a": [[{"b": 1}], 2], "c": {}}) == 4 and nesting(5) == 0 and nesting([]) == 1
    assert nesting(nested(MAX_NESTING)) == MAX_NESTING
    refused = client.post("/v1/components/text.normalize", json={"records": [nested(3), nested(MAX_NESTING + 1)]})
    assert refused.status_code == 400, refused.text
    assert f"records [1] nest deeper than {MAX_NESTING} levels" in refused.json()["error"]
    served = client.post("/v1/components/text.normalize", json={"record": nested(MAX_NESTING)})
    assert served.status_code == 200, served.text
