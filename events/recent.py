"""Recent open reports, for merging duplicates (并单) and counting repeat callers: bounded in bytes, count and time.
With several ingress replicas they share one store (``events.state``), so a duplicate is found whichever
replica each report reached.

A report is kept as a MinHash signature of its character bigrams (:func:`signature`, ``PERMUTATIONS`` uint32
slots, the same in every process), not as its text or its bigrams: about 1 KB whatever the text's length, so the
default 32 MiB holds some 32,000 reports (docs/benchmarks/duplicates.json: bytes, speed, agreement with exact
bigram Jaccard; its 966 counted bytes a report are for one short id, and a triaged report keeps its event id and
the channel's id, 1,045 bytes).

Reports are kept by event id (``events.recording.event_id_of``): the same report sent again by its channel replaces
itself, and the same id from two channels is two reports. A duplicate names the earlier report's id and event id."""

from __future__ import annotations

import base64
import hashlib
import sys
import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from typing import Any, TypedDict

import numpy as np
import numpy.typing as npt

#: what the store keeps of a report: its event id, masked text, category, area, reporter id, epoch seconds, and
#: the id the channel (or triage) gave it
RecentEntry = tuple[str, str, str, str | None, str | None, float, str]

#: signature slots: the estimated Jaccard's standard error is at most 0.5/sqrt(PERMUTATIONS) (0.044)
PERMUTATIONS = 128
#: what a kept report costs beyond its id, reporter and signature objects (its record, time, places in the
#: store's indexes and their slack): tracemalloc measured 250 after 20,000 reports through a 1 MiB budget
_OVERHEAD = 300

_U64 = npt.NDArray[np.uint64]
# the PERMUTATIONS hash functions x -> (a x + b) >> 32 (mod 2^64, a odd), fixed: from SHAKE-256 of a constant
_A, _B = np.frombuffer(hashlib.shake_256(b"citymind.events.recent").digest(16 * PERMUTATIONS), "<u8").reshape(2, -1)
_A = _A | np.uint64(1)


class Duplicate(TypedDict):
    """An earlier report a new one duplicates: its id (the channel's, else the one triage gave it), its event id
    (its record), how similar the texts are, and when it came (epoch s)."""

    id: str
    event_id: str
    similarity: float
    at: float


@dataclass(frozen=True)
class Seen:
    """What the store knew when a report arrived: earlier reports of the same thing, and how many reports
    (this one included) its reporter made within the window."""

    duplicates: list[Duplicate] = field(default_factory=list)
    reporter_count: int = 1


@dataclass(frozen=True, slots=True, eq=False)
class _Report:
    event_id: str
    report_id: str
    sig: bytes
    key: tuple[str | None, str]
    reporter: str | None
    at: float


class RecentReports:
    """A report duplicates an earlier one when both are about the same category in the same area within
    ``window_s`` and their texts share at least ``similarity`` of their character bigrams (Jaccard, estimated:
    the fraction of equal signature slots). At most ``max_reports`` are kept and ``max_bytes`` used (oldest
    dropped first), and none older than the window; a new report is compared with the ``max_candidates`` most
    recent of its area and category (one vectorised comparison), and the ``max_duplicates`` most similar are
    returned (a flood of one complaint must not make every answer longer and slower)."""

    def __init__(
        self,
        window_s: float = 72 * 3600,
        max_reports: int = 100_000,
        similarity: float = 0.5,
        *,
        max_candidates: int = 500,
        max_duplicates: int = 5,
        max_bytes: int = 32 * 2**20,
    ) -> None:
        self.window_s, self.max_reports, self.similarity = window_s, max_reports, similarity
        self.max_candidates, self.max_duplicates, self.max_bytes = max_candidates, max_duplicates, max_bytes
        self._reports: OrderedDict[str, _Report] = OrderedDict()
        self._by_key: dict[tuple[str | None, str], list[_Report]] = {}
        self._by_reporter: dict[str, int] = defaultdict(int)
        self._bytes = 0
        self._lock = threading.Lock()

    def add(
        self,
        event_id: str,
        text: str,
        category: str,
        area: str | None,
        reporter: str | None,
        at: float,
        report_id: str | None = None,
    ) -> Seen:
        """Keep a report (``report_id``: the id its channel gave it, default its ``event_id``); the earlier ones it
        duplicates, and its reporter's count."""
        sig = signature(text)
        with self._lock:
            self._expire(at)
            if event_id in self._reports:  # the same report sent again replaces itself
                self._drop(event_id)
            group = self._by_key.get((area, category), [])
            candidates = group[-self.max_candidates :]  # the most recent, bounded
            duplicates: list[Duplicate] = []
            if candidates:
                scores = similarities(sig, [c.sig for c in candidates])
                ats = np.fromiter((c.at for c in candidates), np.float64, len(candidates))
                hits = np.flatnonzero((scores >= self.similarity) & (np.abs(ats - at) <= self.window_s))
                best = hits[np.lexsort((-ats[hits], -scores[hits]))][: self.max_duplicates]  # most similar, newest
                duplicates = [
                    {"id": candidates[i].report_id, "event_id": candidates[i].event_id,
                     "similarity": round(float(scores[i]), 3), "at": candidates[i].at}
                    for i in best
                ]  # fmt: skip
            count = 1 + (self._by_reporter.get(reporter, 0) if reporter else 0)
            key = group[0].key if group else (area, category)  # one key object per area and category
            self._insert(_Report(event_id, report_id or event_id, sig, key, reporter, float(at)))
        return Seen(duplicates, count)

    def add_many(self, entries: list[RecentEntry]) -> list[Seen]:
        """``add`` for each entry (its arguments), in order: a batch's own duplicates are found too. Refilling
        the window from an event store at start is this too (20,000 reports: docs/benchmarks/duplicates.json)."""
        return [self.add(*entry) for entry in entries]

    def discard(self, event_ids: list[str]) -> None:
        """Forget these reports (those not kept are ignored): a batch whose recording failed is taken back out."""
        with self._lock:
            for event_id in event_ids:
                if event_id in self._reports:
                    self._drop(event_id)

    def __len__(self) -> int:
        return len(self._reports)

    @property
    def nbytes(self) -> int:
        """The bytes the kept reports cost (as counted against ``max_bytes``)."""
        return self._bytes

    def records(self) -> list[list[str | float | None]]:
        """The reports kept, oldest first, as JSON can hold them: event id, signature (base64, not the text), area,
        category, reporter, time, report id."""
        with self._lock:
            return [
                [r.event_id, base64.b64encode(r.sig).decode(), *r.key, r.reporter, r.at, r.report_id]
                for r in self._reports.values()
            ]

    def restore(self, records: list[list[Any]]) -> None:
        """Keep ``records`` (from :meth:`records`) as if they had been added, in order; a signature of another
        length raises ``ValueError``. A record without a report id (written before reports had event ids) keeps
        one id for both."""
        with self._lock:
            for event_id, sig64, area, category, reporter, at, *report_id in records:
                sig = base64.b64decode(sig64, validate=True)
                if len(sig) != 4 * PERMUTATIONS:
                    raise ValueError(f"a signature of {len(sig)} bytes, this version keeps {4 * PERMUTATIONS}")
                if event_id in self._reports:
                    self._drop(event_id)
                group = self._by_key.get((area, category))
                key = group[0].key if group else (area, category)
                self._insert(_Report(event_id, report_id[0] if report_id else event_id, sig, key, reporter, float(at)))

    def _insert(self, report: _Report) -> None:
        self._reports[report.event_id] = report
        self._by_key.setdefault(report.key, []).append(report)
        if report.reporter:
            self._by_reporter[report.reporter] += 1
        self._bytes += _cost(report)
        while self._reports and (len(self._reports) > self.max_reports or self._bytes > self.max_bytes):
            self._drop(next(iter(self._reports)))

    def _expire(self, now: float) -> None:
        while self._reports:
            oldest = next(iter(self._reports.values()))
            if now - oldest.at <= self.window_s:
                return
            self._drop(oldest.event_id)

    def _drop(self, event_id: str) -> None:
        report = self._reports.pop(event_id)
        group = self._by_key[report.key]
        group.remove(report)  # by identity (eq=False); the oldest is at the front
        if not group:
            del self._by_key[report.key]
        if report.reporter:
            self._by_reporter[report.reporter] -= 1
            if not self._by_reporter[report.reporter]:
                del self._by_reporter[report.reporter]
        self._bytes -= _cost(report)


def signature(text: str) -> bytes:
    """The MinHash of ``text``'s character bigrams (whitespace removed; a text of under two characters is its own
    single gram): ``PERMUTATIONS`` little-endian uint32. A bigram is its two code points (42 bits, no hash to
    collide), mixed, then hashed ``PERMUTATIONS`` ways with fixed parameters: the same in every process."""
    squeezed = "".join(text.split())
    codes = np.frombuffer(squeezed.encode("utf-32-le"), "<u4").astype(np.uint64)
    if len(codes) >= 2:
        grams = (codes[:-1] << np.uint64(21)) | codes[1:]
    else:  # one character, or none
        grams = codes | np.uint64(1 << 42) if len(codes) else np.array([1 << 43], np.uint64)
    hashed: _U64 = (_mix(grams)[:, None] * _A + _B) >> np.uint64(32)
    return bytes(hashed.min(axis=0).astype("<u4").tobytes())


def similarities(sig: bytes, others: list[bytes]) -> npt.NDArray[np.float64]:
    """The estimated Jaccard of ``sig``'s text with each of ``others``': the fraction of equal slots."""
    mine = np.frombuffer(sig, "<u4")
    theirs = np.frombuffer(b"".join(others), "<u4").reshape(len(others), len(mine))
    equal: npt.NDArray[np.intp] = np.count_nonzero(theirs == mine, axis=1)
    return equal / len(mine)


def _mix(x: _U64) -> _U64:
    """SplitMix64's finaliser: every bit of a bigram's code points moves about half of the output's."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _cost(report: _Report) -> int:
    """What ``report`` costs against ``max_bytes``: its ids, reporter and signature objects, and the rest (its
    area and category are shared with the other reports of the same ones, and not counted)."""
    reporter = sys.getsizeof(report.reporter) if report.reporter else 0
    report_id = sys.getsizeof(report.report_id) if report.report_id is not report.event_id else 0
    return _OVERHEAD + sys.getsizeof(report.sig) + sys.getsizeof(report.event_id) + report_id + reporter
