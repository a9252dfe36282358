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
    process that runs threads can deadlock), each with one BLAS/OpenMP thread (``one_thread_each``). ``function``
    must be importable (module level) and its parts picklable. The first part that raises ends the map: its error
    comes out, and the parts not yet started never run."""
    parts = list(parts)
    workers = worker_count(jobs, len(parts))
    if workers <= 1:
        yield from map(function, parts)
        return
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=one_thread_each) as pool:
        yield from pool.map(function, parts)  # map's iterator cancels the parts not started when one raises


#: the thread pools of numerical libraries (NumPy's and SciPy's BLAS, OpenMP in scikit-learn and LightGBM)
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


def one_thread_each() -> None:
    """A worker's numerical libraries run one thread: the workers are already one per core, and each library's
    own pool of one thread per core would put 2 threads on each core (a 4× slower logistic regression, measured).
    Libraries loaded later read the variables; those already loaded are limited by threadpoolctl."""
    from threadpoolctl import threadpool_limits

    os.environ.update(dict.fromkeys(THREAD_VARIABLES, "1"))
    threadpool_limits(1)
