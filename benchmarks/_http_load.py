"""Latency and throughput of an HTTP endpoint on 127.0.0.1: sequential and with concurrent clients."""

from __future__ import annotations

import statistics
import threading
import time
from typing import Any

import httpx


def measure(url: str, body: Any, *, requests: int = 600, warmup: int = 100, clients: int = 8) -> dict[str, Any]:
    """p50/p99 in ms and requests/s, keep-alive clients, sequential then ``clients`` concurrent."""
    with httpx.Client(timeout=30) as http:
        for _ in range(warmup):
            http.post(url, json=body).raise_for_status()
        sequential = _run(http, url, body, requests)
    results: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients

    def worker(i: int) -> None:
        with httpx.Client(timeout=30) as http:
            try:
                results[i] = _run(http, url, body, requests // clients)
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


def _run(http: httpx.Client, url: str, body: Any, n: int) -> list[float]:
    out = []
    for _ in range(n):
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
