"""Warnings from sensors and cameras entering the event engine's dispatch: a rule firing on a camera's counts (a
crowd, congestion) or on an indicator's actuals and forecasts becomes an event with a category (the rule's
``category`` label), the departments the knowledge graph names for it, and a priority from the rule."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

from events.decision import DispatchAnswer, department_of, dispatch_of, merge_decisions
from events.metrics import RULE_FIRINGS
from events.triage import EventEngine
from rules.engine import Firing


class AnalysedFrame(TypedDict):
    """One frame of a clip as the video analytics answer it: its index in the request, then what it showed
    (``models.video.analytics.FrameFields``): tracked detections, counts per zone and label, the events raised."""

    index: int
    t: float
    detections: list[dict[str, object]]
    counts: dict[str, dict[str, int]]
    events: list[dict[str, object]]


class VideoAnalysis(TypedDict):
    """What the video analytics answer for a clip of one camera (``events.video.VideoAnalyzer``):
    each frame's detections, counts and events, the line crossings so far and the tracks alive."""

    camera: str
    detector: str
    frames: list[AnalysedFrame]
    crossings: dict[str, dict[str, dict[str, int]]]
    live_tracks: int


def firing_to_event(
    engine: EventEngine, firing: Firing, area: str | None, source: Mapping[str, object]
) -> dict[str, object]:
    """One dispatched event from one rule firing; ``source`` says where it came from (camera, frame, indicator)."""
    knowledge = engine.knowledge.current()
    category = firing.labels.get("category")
    dispatch: DispatchAnswer = (
        dispatch_of(knowledge, category, area) if category else {"lead": None, "path": ["the rule names no category"]}
    )
    decision = merge_decisions([firing])
    return {
        "rule": firing.rule,
        "severity": firing.severity,
        "category": category,
        "area": area,
        **source,
        "department": department_of(dispatch, decision.pop("department", None)),
        **decision,
        "summary": firing.annotations.get("summary") or firing.explain(),
        "explanation": {"rule": firing.to_dict(), "graph_path": dispatch.get("path", [])},
    }


def video_events(engine: EventEngine, analysis: VideoAnalysis, area: str | None) -> list[dict[str, object]]:
    """Video rules over every event the analytics raised, frame by frame in order (``for`` and repeat
    suppression per camera and zone run across requests); each firing that is not a repeat becomes an event."""
    seen = [(frame, event) for frame in analysis["frames"] for event in frame["events"]]
    with engine.timers.attempt():  # events not recorded: the timers are set back, so a retry raises them again
        firings = engine.rules.evaluate_many("video", [(event, float(frame["t"])) for frame, event in seen])
        return _dispatched(engine, seen, firings, area)


def _dispatched(
    engine: EventEngine, seen: list[tuple[Any, Any]], firings: list[list[Firing]], area: str | None
) -> list[dict[str, object]]:
    """Each firing that is not a repeat as a dispatched event, recorded."""
    out = []
    for (frame, event), fired in zip(seen, firings, strict=True):
        for firing in fired:
            if firing.suppressed:
                continue
            RULE_FIRINGS.labels(firing.version or "", firing.rule).inc()
            source = {"camera": event["camera"], "zone": event["zone"], "frame": frame["index"], "t": frame["t"]}
            out.append(firing_to_event(engine, firing, area, source))
    engine.record_warnings("video", out, [float(e["t"]) for e in out])  # type: ignore[arg-type]
    return out
