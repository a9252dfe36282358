"""Bulk work over independent parts in fresh worker processes, results in order: what the long batch jobs share
(a SARIMAX baseline over blocks of origins, e5 embeddings over chunks of passages). Request paths never use it."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any


def worker_count(jobs: int, parts: int) -> int:
    """``jobs`` processes (0: one per core this process may run on), no more than there are parts; 1 inside a
    daemonic process, which may not start children."""
    if multiprocessing.current_process().daemon:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(parts, jobs or cores))


def ordered_map(function: Callable[[Any], Any], parts: Iterable[Any], jobs: int = 0) -> Iterator[Any]:
    """``function(part)`` for each part, in order: here, or in ``worker_count(jobs)`` spawned processes (forking a
    process that runs threads can deadlock). ``function`` must be importable (module level) and its parts
    picklable."""
    parts = list(parts)
    workers = worker_count(jobs, len(parts))
    if workers <= 1:
        yield from map(function, parts)
        return
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield from pool.map(function, parts)
