"""Bulk work in worker processes: results in the parts' order, the same as in one process (e5 passages too)."""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import numpy as np
import pytest

from registry.parallel import THREAD_VARIABLES, ordered_map, worker_count


def test_parts_come_back_in_order_from_workers_and_here() -> None:
    parts = [4.0, 9.0, 16.0, 25.0, 36.0]
    assert list(ordered_map(math.sqrt, parts, jobs=2)) == [2.0, 3.0, 4.0, 5.0, 6.0]
    assert list(ordered_map(math.sqrt, parts, jobs=1)) == [2.0, 3.0, 4.0, 5.0, 6.0]
    assert list(ordered_map(math.sqrt, [], jobs=0)) == []
    assert worker_count(0, 1) == 1 and worker_count(3, 2) == 2 and worker_count(2, 10) == 2


def test_e5_passages_in_workers_equal_one_process() -> None:
    from knowledge_graph.embedders import PER_WORKER, e5_passages

    texts = [f"南村镇第{i}社区反映小区门口垃圾堆放{i % 7}天无人清理" for i in range(2 * PER_WORKER + 5)]
    alone, pooled = e5_passages(texts, jobs=1), e5_passages(texts, jobs=2)
    assert alone.shape == (len(texts), 384) and pooled.dtype == np.float32
    np.testing.assert_allclose(pooled, alone, rtol=0, atol=1e-6)
    assert not np.allclose(alone[0], alone[1])  # rows are the texts' own, in order


def _thread_pools(_: int) -> tuple[list[str | None], list[int]]:
    import scipy.linalg  # noqa: F401  (SciPy's own BLAS, loaded after the worker started)
    from threadpoolctl import threadpool_info

    return [os.environ.get(v) for v in THREAD_VARIABLES], [pool["num_threads"] for pool in threadpool_info()]


def test_each_worker_runs_one_numerical_thread() -> None:
    for variables, pools in ordered_map(_thread_pools, [0, 1], jobs=2):
        assert variables == ["1"] * len(THREAD_VARIABLES)
        assert pools and set(pools) == {1}


def _mark_then_fail_first(part: tuple[Path, int]) -> int:
    folder, number = part
    (folder / str(number)).touch()
    if number == 0:
        raise ValueError("part 0 is bad")
    time.sleep(0.3)
    return number


def test_the_first_failing_part_ends_the_map_and_the_rest_never_run(tmp_path: Path) -> None:
    parts = [(tmp_path, n) for n in range(12)]
    with pytest.raises(ValueError, match="part 0 is bad"):
        list(ordered_map(_mark_then_fail_first, parts, jobs=2))
    started = {int(p.name) for p in tmp_path.iterdir()}
    assert 0 in started and len(started) < len(parts)  # the queued few ran; the others were dropped
