"""需求感知 (demand sensing): the recorded reports counted per hour for the busiest area × category pairs become
series of the indicator ``reports`` (labelled with their category), evaluated like any other indicator: a seasonal
baseline (``events.baseline``) expects each hour from the same hour of the days before, and the ``alert`` rules warn
on a hotspot — an hour's count well above what was expected of it (``report-hotspot``).

Only complete hours are counted (the window ends at the start of the current hour), at most ``MAX_SERIES`` pairs
over at most ``MAX_DAYS`` days, each pair's hours in one grouped query: what a run costs does not grow with the
store."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import NotRequired, TypedDict, cast

from citymind.errors import Unprocessable, ValidationError
from events.indicators import MAX_SPAN_HOURS, IndicatorEngine, IndicatorReading, IndicatorReadings
from events.records import EventRecords
from events.records.aggregates import busiest_pairs, first_report_at, hourly_counts
from events.triage import EARLIEST

INDICATOR = "reports"
MAX_DAYS = MAX_SPAN_HOURS // 24
MAX_SERIES = 100
#: a series needs this many hours of recorded reports (a day to expect each hour from, and one to compare)
MIN_HOURS = 48


@dataclass(frozen=True)
class DemandQuery:
    """``days`` of complete hours before ``until`` (default now; rounded down to the hour), the ``top`` busiest
    area × category pairs in them, optionally only one ``area`` or ``category``."""

    days: int = 28
    top: int = 20
    until: float | None = None
    area: str | None = None
    category: str | None = None

    def window(self) -> tuple[float, float]:
        if not 2 <= self.days <= MAX_DAYS:
            raise ValidationError(f"days must be 2 to {MAX_DAYS}; got {self.days}", location="days")
        if not 1 <= self.top <= MAX_SERIES:
            raise ValidationError(f"top must be 1 to {MAX_SERIES}; got {self.top}", location="top")
        until = window_end(self.until) // 3600 * 3600
        return until - self.days * 86400, until


def window_end(until: float | None) -> float:
    """``until`` (default now), refused before the times a report may carry and in the future: the hours a run
    evaluates are not evaluated again, so a window ending in the future would silence the hours up to it."""
    now = time.time()
    end = now if until is None else until
    if not EARLIEST.timestamp() <= end <= now + 60:
        raise Unprocessable(f"until must be from {EARLIEST:%Y-%m-%d} to now, not in the future", location="until")
    return end


def demand_series(records: EventRecords, query: DemandQuery) -> tuple[list[IndicatorReadings], str | None]:
    """The series of the busiest pairs (zero for an hour without a report), from the first recorded report in the
    window on; none, and why, when the store holds less than ``MIN_HOURS`` of it."""
    since, until = query.window()
    first = first_report_at(records.engine, since, until)
    if first is None or until - first // 3600 * 3600 < MIN_HOURS * 3600:
        held = 0 if first is None else int((until - first) // 3600)
        return [], f"{held} hours of recorded reports in the window; demand sensing needs {MIN_HOURS}"
    start = int(first // 3600)
    pairs = [(a, c) for a, c, _ in busiest_pairs(records.engine, since, until, query.top, query.area, query.category)]
    counts = hourly_counts(records.engine, start * 3600, until, pairs)
    hours = range(start, int(until // 3600))
    series: list[IndicatorReadings] = []
    for area, category in pairs:
        mine = counts.get((area, category), {})
        points: list[IndicatorReading] = [{"t": _iso(h * 3600), "value": float(mine.get(h, 0))} for h in hours]
        series.append({"indicator": INDICATOR, "area": area, "labels": {"category": category}, "points": points})
    return series, None


class DemandAnswer(TypedDict):
    """What a demand run found: the window, per series its last hour and the day ahead, the warnings raised."""

    indicator: str
    since: str
    until: str
    series: list[dict[str, object]]
    warnings: list[dict[str, object]]
    note: NotRequired[str]


def evaluate_demand(indicators: IndicatorEngine, records: EventRecords, query: DemandQuery) -> DemandAnswer:
    """Each series through the baseline and the alert rules (hours evaluated before are not evaluated again):
    per series its last hour (count and what was expected of it) and the day ahead, and every warning raised."""
    series, note = demand_series(records, query)
    since, until = query.window()
    results = [indicators.evaluate(s) for s in series]
    answer: DemandAnswer = {
        "indicator": INDICATOR,
        "since": _iso(since),
        "until": _iso(until),
        "series": [{k: v for k, v in r.items() if k not in ("gaps", "warnings")} for r in results],
        "warnings": [w for r in results for w in cast("list[dict[str, object]]", r["warnings"])],
    }
    if note:
        answer["note"] = note
    return answer


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).isoformat(timespec="seconds")
