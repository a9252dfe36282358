"""Triage requests/s with and without recording, in one run (``bench_event_store.py``): two in-process
``EventEngine``s on the same bootstrapped registry and model hub, one recording every answer in the event store
before returning it, one recording nothing; each driven by the same number of threads (the gateway answers triage
in 4 model threads) with real citizen messages. The two alternate in rounds (with first in every other round), so a
change in the machine's load falls on both; the ratio is total requests over total seconds, recording over not
(and, beside it, the median of the pairs' own ratios)."""

from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path
from typing import Any

from events.records import EventRecords
from events.triage import EventEngine, TriageConfig


def measure(
    home: Path, records: EventRecords, texts: list[str], *, threads: int, rounds: int, seconds: float
) -> dict[str, Any]:
    from benchmarks.bench_components import registry
    from serving.model_hub import ModelHub

    hub = ModelHub(registry(home))
    config = TriageConfig(refresh_interval=60.0)
    engines = {
        "without_recording": EventEngine(hub, config),
        "with_recording": EventEngine(hub, config, records=records),
    }
    try:
        for engine in engines.values():  # warm-up: knowledge and rules loaded (in this thread), models run
            engine.triage({"text": texts[0]})
            drive(engine, texts, threads, 2.0, seed=0)
        pairs = [run_pair(engines, texts, threads, seconds, n) for n in range(rounds)]
    finally:
        for engine in engines.values():
            engine.close()
    return summary(pairs, threads, seconds)


def run_pair(engines: dict[str, EventEngine], texts: list[str], threads: int, seconds: float, n: int) -> dict:
    """Both engines for ``seconds`` each, back to back (with recording first in every other pair)."""
    order = list(engines) if n % 2 == 0 else list(reversed(engines))
    return {name: drive(engines[name], texts, threads, seconds, seed=n + 1) for name in order}


def summary(pairs: list[dict[str, tuple[int, float]]], threads: int, seconds: float) -> dict[str, Any]:
    """Requests/s of each over the whole run, and the ratio: over the whole run (the figure) and the median of the
    pairs' own (what a load spike of the machine's other work leaves of it)."""
    names = ("without_recording", "with_recording")
    rps = {k: round(sum(p[k][0] for p in pairs) / sum(p[k][1] for p in pairs), 1) for k in names}
    ratios = sorted((p[names[1]][0] / p[names[1]][1]) / (p[names[0]][0] / p[names[0]][1]) for p in pairs)
    return {
        "threads": threads,
        "pairs": len(pairs),
        "seconds_each": seconds,
        "requests": {k: sum(p[k][0] for p in pairs) for k in names},
        "requests_per_s": rps,
        "ratio_with_to_without": round(rps[names[1]] / rps[names[0]], 3),
        "pair_ratios": {
            "median": round(statistics.median(ratios), 3),
            "min": round(ratios[0], 3),
            "max": round(ratios[-1], 3),
        },
    }


def drive(engine: EventEngine, texts: list[str], threads: int, seconds: float, seed: int) -> tuple[int, float]:
    """``threads`` callers triaging for ``seconds``: (answers, seconds taken)."""
    stop = threading.Event()
    counts = [0] * threads
    errors: list[BaseException] = []

    def caller(i: int) -> None:
        k = seed * 7919 + i * 104729
        try:
            while not stop.is_set():
                text = texts[k % len(texts)]
                engine.triage({"text": text, "reporter": {"id": f"caller-{k % 5000}"}, "channel": "12345"})
                counts[i] += 1
                k += threads
        except BaseException as exc:  # reported after the round: a benchmark that hides errors measures nothing
            errors.append(exc)

    workers = [threading.Thread(target=caller, args=(i,)) for i in range(threads)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    time.sleep(seconds)
    stop.set()
    for w in workers:
        w.join()
    took = time.perf_counter() - start
    if errors:
        raise errors[0]
    return sum(counts), took
