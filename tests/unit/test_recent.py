"""/v1/lineage answers from one walk of the registry per interval (serving.routes_registry.Recent): a flood of
requests walks it once, concurrent callers wait for that walk instead of starting their own."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from serving.routes_registry import Recent


def test_one_computation_serves_every_caller_within_the_interval() -> None:
    calls = []
    recent = Recent(lambda: {"walk": len(calls.append(1) or calls)}, ttl=60)
    assert [recent.get() for _ in range(5)] == [{"walk": 1}] * 5


def test_an_expired_value_is_computed_again() -> None:
    calls = []
    recent = Recent(lambda: {"walk": len(calls.append(1) or calls)}, ttl=0.05)
    first = recent.get()
    time.sleep(0.1)
    assert (first, recent.get()) == ({"walk": 1}, {"walk": 2})


def test_concurrent_callers_share_one_slow_computation() -> None:
    running, calls = threading.Lock(), []

    def slow() -> dict[str, object]:
        assert running.acquire(blocking=False), "two computations at once"
        calls.append(1)
        time.sleep(0.2)
        running.release()
        return {"walk": len(calls)}

    recent = Recent(slow, ttl=60)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: recent.get(), range(8)))
    assert answers == [{"walk": 1}] * 8 and calls == [1]
