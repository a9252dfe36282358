"""What the recorded events teach the classifier (learning from corrections): each report whose category the
dispatch system confirmed (签收, 办结 or 评价 without a 改类) or corrected (改类), one per 并单 group, oldest first,
with the digest that names exactly this training set."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from events.records import EventFilter, EventRecords

#: the columns the training set is read from
COLUMNS = ("id", "at", "text", "category", "final_category", "corrected", "accepted_at", "merged_into")
#: what a label is, as the run's lineage says it
LABELS = "confirmed (accepted/resolved/closed, no category_corrected) → category; corrected → final_category"


@dataclass(frozen=True)
class EventExamples:
    """Labelled reports from the event records, oldest first; ``digest`` names the ``(event id, label)`` list
    (the same events and labels always give the same digest), ``query`` says how they were chosen."""

    texts: list[str]
    labels: list[str]
    event_ids: list[str]
    times: list[float]
    digest: str
    query: dict[str, object] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.texts)

    def newest(self, share: float = 0.2) -> tuple[EventExamples, EventExamples]:
        """``(older, newest)``: the newest ``share`` of the examples (at least one) held out, by time."""
        if not 0.0 < share < 1.0:
            raise ValueError(f"share must be between 0 and 1 (exclusive), e.g. 0.2. Got {share!r} instead.")
        cut = len(self) - max(1, round(len(self) * share))
        return self._slice(0, cut, "older"), self._slice(cut, len(self), "newest")

    def _slice(self, start: int, stop: int, part: str) -> EventExamples:
        ids, labels = self.event_ids[start:stop], self.labels[start:stop]
        query = {**self.query, "part": part, "count": len(ids)}
        times = self.times[start:stop]
        return EventExamples(self.texts[start:stop], labels, ids, times, examples_digest(ids, labels), query)


def examples_digest(event_ids: Sequence[str], labels: Sequence[str]) -> str:
    """``sha256:`` and 16 hex digits of the ``(event id, label)`` list, in order."""
    payload = "\x1e".join(f"{i}\x1f{y}" for i, y in zip(event_ids, labels, strict=True))
    return f"sha256:{hashlib.sha256(payload.encode()).hexdigest()[:16]}"


def training_examples(records: EventRecords, since: float | None = None) -> EventExamples:
    """Reports recorded at or after ``since`` (epoch s) whose category was confirmed or corrected, their label
    that category (or the corrected one), oldest first; a report merged into an earlier one (并单) is left out, so
    each group counts once, and so is a report without text."""
    texts: list[str] = []
    labels: list[str] = []
    ids: list[str] = []
    times: list[float] = []
    confirmed = corrected = merged = 0
    for event_id, at, text, category, final, was_corrected, accepted_at, merged_into in records.rows(
        COLUMNS, EventFilter(kind="report", since=since)
    ):
        if merged_into:
            merged += 1
            continue
        label = final if was_corrected else (category if accepted_at is not None else None)
        if not label or not text:
            continue
        corrected, confirmed = corrected + bool(was_corrected), confirmed + (not was_corrected)
        texts.append(str(text))
        labels.append(str(label))
        ids.append(str(event_id))
        times.append(float(at))
    query: dict[str, object] = {
        "source": "events",
        "store": records.engine.url.render_as_string(hide_password=True),
        "kind": "report",
        "since": None if since is None else datetime.fromtimestamp(since).isoformat(timespec="seconds"),
        "labels": LABELS,
        "excluded": "merged_into set (并单: a group counted once); no confirming outcome; no text",
        "count": len(ids),
        "confirmed": confirmed,
        "corrected": corrected,
        "merged_left_out": merged,
    }
    return EventExamples(texts, labels, ids, times, examples_digest(ids, labels), query)
