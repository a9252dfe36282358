"""Bulk work in worker processes: results in the parts' order, the same as in one process (e5 passages too)."""

from __future__ import annotations

import math

import numpy as np

from registry.parallel import ordered_map, worker_count


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
