"""How a training reports its steps (the CLI prints them): ``progress(label, done, total)``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
Progress = Callable[[str, int, int], None]


def silent(label: str, done: int, total: int) -> None:
    """Reports nothing (the default)."""


def timed(step: Progress, label: str, total: int, work: Callable[[Callable[[int], None]], T]) -> T:
    """Run ``work(tick)`` between a 0/total and a total/total report; ``tick(i)`` reports i done in between."""
    step(label, 0, total)
    result = work(lambda done: step(label, done, total))
    step(label, total, total)
    return result


def one_step(step: Progress, label: str, work: Callable[[], T]) -> T:
    """``work()`` reported as one step: 0/1, then 1/1."""
    return timed(step, label, 1, lambda tick: work())
