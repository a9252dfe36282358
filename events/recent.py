"""Recent open reports, for merging duplicates (并单) and counting repeat callers: bounded in size and time.
With several ingress replicas they share one store (``events.state``), so a duplicate is found whichever
replica each report reached."""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from typing import Any, TypedDict

#: what the store keeps of a report: id, masked text, category, area, reporter id, epoch seconds
RecentEntry = tuple[str, str, str, str | None, str | None, float]


class Duplicate(TypedDict):
    """An earlier report a new one duplicates: its id, how similar the texts are, and when it came (epoch s)."""

    id: str
    similarity: float
    at: float


@dataclass(frozen=True)
class Seen:
    """What the store knew when a report arrived: earlier reports of the same thing, and how many reports
    (this one included) its reporter made within the window."""

    duplicates: list[Duplicate] = field(default_factory=list)
    reporter_count: int = 1


@dataclass(frozen=True)
class _Report:
    id: str
    grams: frozenset[str]
    key: tuple[str | None, str]
    reporter: str | None
    at: float


class RecentReports:
    """A report duplicates an earlier one when both are about the same category in the same area within
    ``window_s`` and their texts share at least ``similarity`` of their character bigrams (Jaccard). At most
    ``max_reports`` are kept (oldest dropped first), and none older than the window; a new report is compared
    with the ``max_candidates`` most recent of its area and category, and the ``max_duplicates`` most similar
    are returned (a flood of one complaint must not make every answer longer and slower)."""

    def __init__(
        self,
        window_s: float = 72 * 3600,
        max_reports: int = 20_000,
        similarity: float = 0.5,
        *,
        max_candidates: int = 500,
        max_duplicates: int = 5,
    ) -> None:
        self.window_s, self.max_reports, self.similarity = window_s, max_reports, similarity
        self.max_candidates, self.max_duplicates = max_candidates, max_duplicates
        self._reports: OrderedDict[str, _Report] = OrderedDict()
        self._by_key: dict[tuple[str | None, str], list[str]] = defaultdict(list)
        self._by_reporter: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def add(self, id: str, text: str, category: str, area: str | None, reporter: str | None, at: float) -> Seen:
        report = _Report(id, _bigrams(text), (area, category), reporter, at)
        with self._lock:
            self._expire(at)
            if id in self._reports:  # the same report sent again replaces itself
                self._drop(id)
            duplicates: list[Duplicate] = []
            for other_id in self._by_key.get(report.key, [])[-self.max_candidates :]:  # the most recent, bounded
                other = self._reports[other_id]
                score = _jaccard(report.grams, other.grams)
                if abs(at - other.at) <= self.window_s and score >= self.similarity:
                    duplicates.append({"id": other.id, "similarity": round(score, 3), "at": other.at})
            count = 1 + (self._by_reporter.get(reporter, 0) if reporter else 0)
            self._insert(report)
        duplicates.sort(key=lambda d: (-float(d["similarity"]), -float(d["at"])))
        return Seen(duplicates[: self.max_duplicates], count)

    def add_many(self, entries: list[RecentEntry]) -> list[Seen]:
        """``add`` for each entry (its arguments), in order: a batch's own duplicates are found too."""
        return [self.add(*entry) for entry in entries]

    def __len__(self) -> int:
        return len(self._reports)

    def records(self) -> list[list[str | float | None]]:
        """The reports kept, oldest first, as JSON can hold them: id, bigrams (joined, not the text), area,
        category, reporter, time."""
        with self._lock:
            return [[r.id, "".join(r.grams), *r.key, r.reporter, r.at] for r in self._reports.values()]

    def restore(self, records: list[list[Any]]) -> None:
        """Keep ``records`` (from :meth:`records`) as if they had been added, in order."""
        with self._lock:
            for id, grams, area, category, reporter, at in records:
                if id in self._reports:
                    self._drop(id)
                self._insert(_Report(id, _split_grams(grams), (area, category), reporter, at))

    def _insert(self, report: _Report) -> None:
        self._reports[report.id] = report
        self._by_key[report.key].append(report.id)
        if report.reporter:
            self._by_reporter[report.reporter] += 1
        while len(self._reports) > self.max_reports:
            self._drop(next(iter(self._reports)))

    def _expire(self, now: float) -> None:
        while self._reports:
            oldest = next(iter(self._reports.values()))
            if now - oldest.at <= self.window_s:
                return
            self._drop(oldest.id)

    def _drop(self, id: str) -> None:
        report = self._reports.pop(id)
        ids = self._by_key[report.key]
        ids.remove(id)
        if not ids:
            del self._by_key[report.key]
        if report.reporter:
            self._by_reporter[report.reporter] -= 1
            if not self._by_reporter[report.reporter]:
                del self._by_reporter[report.reporter]


def _bigrams(text: str) -> frozenset[str]:
    squeezed = "".join(text.split())
    return frozenset(squeezed[i : i + 2] for i in range(len(squeezed) - 1)) or frozenset([squeezed])


def _split_grams(joined: str) -> frozenset[str]:
    """The bigrams ``records`` joined (a text of under two characters is its own single gram)."""
    if len(joined) < 2:
        return frozenset([joined])
    return frozenset(joined[i : i + 2] for i in range(0, len(joined), 2))


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0
