"""Drift (模型漂移): the classifier's recent answers against its training data, per model version — the mix of the
categories it chose against the class support it was trained on, and the confidence of its answers against the
confidence of its held-out predictions (both kept on the model version, ``models.text.profile``) — each as a
population stability index, PSI = Σ (a − e) · ln(a / e) over the bins' shares. Under 0.1 is stable, 0.1–0.25 a
shift to watch, over 0.25 a real one. Each figure is the indicator ``model_drift`` (labels model, version and
measure), so the ``alert`` rules warn on it (``model-drift``); and the gauge ``citymind_model_drift_psi``.

>>> round(psi({"a": 50, "b": 50}, {"a": 90, "b": 10}), 3)
0.879
>>> psi({"a": 50, "b": 50}, {"a": 5, "b": 5})
0.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NotRequired, TypedDict

from citymind.errors import CitymindError, ValidationError
from events.demand import window_end
from events.indicators import IndicatorEngine, Reading
from events.metrics import DRIFT_PSI
from events.records import EventRecords
from events.records.aggregates import answer_counts
from models.text.profile import CONFIDENCE_EDGES, TrainingProfile, read_profile
from registry import AssetRegistry

INDICATOR = "model_drift"
#: the share an empty bin is given (so a class never seen on one side counts, without an infinite log)
FLOOR = 1e-4
MAX_DAYS = 56


def psi(expected: Mapping[str, float], actual: Mapping[str, float]) -> float:
    """Population stability index of ``actual`` counts against ``expected`` counts, over the union of their bins."""
    e_total, a_total = sum(expected.values()), sum(actual.values())
    if e_total <= 0 or a_total <= 0:
        raise ValueError("both distributions need counts")
    out = 0.0
    for key in set(expected) | set(actual):
        e = max(expected.get(key, 0) / e_total, FLOOR)
        a = max(actual.get(key, 0) / a_total, FLOOR)
        out += (a - e) * math.log(a / e)
    return round(out, 4)


class DriftFigure(TypedDict):
    """One model version's figures: its reports in the window, the PSI of each measure (None: see ``notes``)
    and the categories whose share moved most."""

    model: str
    version: str
    events: int
    category: float | None
    confidence: float | None
    notes: list[str]
    top_shifts: NotRequired[list[dict[str, object]]]


class DriftFigures(TypedDict):
    since: str
    until: str
    days: int
    versions: list[DriftFigure]
    warnings: NotRequired[list[dict[str, object]]]  # when run through the alert rules


@dataclass(frozen=True)
class DriftQuery:
    """The recent window: ``days`` before ``until`` (default now); a version with fewer than ``min_events``
    reports in it gets no figure (PSI on a handful of events is noise)."""

    days: int = 7
    until: float | None = None
    min_events: int = 100

    def window(self) -> tuple[float, float]:
        if not 1 <= self.days <= MAX_DAYS:
            raise ValidationError(f"days must be 1 to {MAX_DAYS}; got {self.days}", location="days")
        until = window_end(self.until)
        return until - self.days * 86400, until


def drift_figures(records: EventRecords, registry: AssetRegistry, query: DriftQuery) -> DriftFigures:
    """Per model version that answered reports in the window: its events and the PSI of its category mix and of
    its confidence against its training data (None, with a ``note``, where one side is missing)."""
    since, until = query.window()
    counts = answer_counts(records.engine, since, until, CONFIDENCE_EDGES)
    versions = [_figures(registry, model, version, cats, conf, query.min_events)
                for (model, version), (cats, conf) in sorted(counts.items())]  # fmt: skip
    for figure in versions:
        for measure, value in (("category", figure["category"]), ("confidence", figure["confidence"])):
            if value is not None:
                DRIFT_PSI.labels(figure["model"], figure["version"], measure).set(value)
    return {"since": _iso(since), "until": _iso(until), "days": query.days, "versions": versions}


def _figures(
    registry: AssetRegistry, model: str, version: str, categories: dict[str, int], confidence: list[int], least: int
) -> DriftFigure:
    events = sum(categories.values())
    out: DriftFigure = {"model": model, "version": version, "events": events, "category": None,
                           "confidence": None, "notes": []}  # fmt: skip
    if events < least:
        out["notes"].append(f"{events} reports in the window; a figure needs at least {least}")
        return out
    profile = _profile(registry, model, version, out["notes"])
    if profile.class_support:
        out["category"] = psi(profile.class_support, categories)
        out["top_shifts"] = _shifts(profile.class_support, categories)
    elif not out["notes"]:
        out["notes"].append(f"{model} v{version} keeps no class support (citymind.class_support): retrain it")
    if profile.confidence and sum(confidence):
        out["confidence"] = psi(_bins(profile.confidence), _bins(confidence))
    elif profile.class_support:
        out["notes"].append(f"{model} v{version} keeps no held-out confidences (citymind.confidence_hist)")
    return out


def _profile(registry: AssetRegistry, model: str, version: str, notes: list[str]) -> TrainingProfile:
    try:
        return read_profile(registry.version(model, version).tags)
    except CitymindError as exc:
        notes.append(f"{model} v{version}: {exc}")
        return TrainingProfile(None, None)


def _bins(counts: Sequence[int]) -> dict[str, float]:
    return {str(i): float(c) for i, c in enumerate(counts)}


def _shifts(expected: Mapping[str, int], actual: Mapping[str, int], n: int = 5) -> list[dict[str, object]]:
    """The categories whose share moved most, largest first: training share, recent share."""
    e_total, a_total = sum(expected.values()), sum(actual.values())
    shares = {k: (expected.get(k, 0) / e_total, actual.get(k, 0) / a_total) for k in set(expected) | set(actual)}
    moved = sorted(shares.items(), key=lambda kv: (-abs(kv[1][1] - kv[1][0]), kv[0]))[:n]
    return [{"category": k, "training": round(e, 4), "recent": round(a, 4)} for k, (e, a) in moved]


def evaluate_drift(indicators: IndicatorEngine, figures: DriftFigures) -> list[dict[str, object]]:
    """Each figure as a reading of ``model_drift`` at the window's last hour, through the alert rules; the
    warnings (recorded). An hour already evaluated for a series is not evaluated again."""
    at = datetime.fromisoformat(figures["until"]).replace(minute=0, second=0, microsecond=0)
    warnings = []
    for figure in figures["versions"]:
        for measure, value in (("category", figure["category"]), ("confidence", figure["confidence"])):
            if value is None:
                continue
            labels = {"model": figure["model"], "version": figure["version"], "measure": measure}
            reading: Reading = (at, value, {"events": figure["events"]})
            warnings += indicators.alert(INDICATOR, None, labels, [reading])
    return warnings


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).isoformat(timespec="seconds")
