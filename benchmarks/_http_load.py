"""Latency and throughput of an HTTP endpoint on 127.0.0.1: sequential and with concurrent clients."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx


def measure(
    url: str | Sequence[str],
    body: Any,
    *,
    requests: int = 600,
    warmup: int = 100,
    clients: int = 8,
    bodies: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """p50/p99 in ms and requests/s, keep-alive clients, sequential then ``clients`` concurrent. ``url`` may list
    several (the requests go round them: ingress replicas' own ports); ``bodies``, when given, are sent in turn
    instead of ``body`` (each concurrent client starts at its own place in them)."""
    urls, pool = [url] if isinstance(url, str) else list(url), list(bodies) if bodies else [body]

    def pick(i: int) -> tuple[str, Any]:
        return urls[i % len(urls)], pool[i % len(pool)]

    with httpx.Client(timeout=30) as http:
        _run(http, pick, 0, warmup)
        sequential = _run(http, pick, warmup, requests)
    results: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    share = requests // clients

    def worker(i: int) -> None:
        with httpx.Client(timeout=30) as http:
            try:
                results[i] = _run(http, pick, warmup + requests + i * share, share)
            except httpx.HTTPError:
                errors[i] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    concurrent = [x for r in results for x in r]
    return {
        "sequential": _summary(sequential, sum(sequential) / 1000),
        f"concurrent_{clients}": {**_summary(concurrent, elapsed), "errors": sum(errors)},
    }


def _run(http: httpx.Client, pick: Callable[[int], tuple[str, Any]], first: int, n: int) -> list[float]:
    out = []
    for i in range(first, first + n):
        url, body = pick(i)
        start = time.perf_counter()
        http.post(url, json=body).raise_for_status()
        out.append((time.perf_counter() - start) * 1000)
    return out


def _summary(latencies: list[float], seconds: float) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "p50_ms": round(statistics.median(ordered), 3),
        "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))], 3),
        "rps": round(len(ordered) / seconds, 1),
        "n": len(ordered),
    }
