"""One camera's analytics after detection: ignore masks, tracking, zone occupancy and dwell time, line
crossings, and events in the terms of the rules' ``video`` kind (camera, zone, label, count, dwell_s, crossings,
hour)."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, TypedDict

from models.video.camera import CameraConfig, CountingLine, Zone
from models.video.detections import Detection
from models.video.motion import MotionDetector
from models.video.tracker import ObjectTracker, Track

WHOLE_FRAME = "frame"


class FrameFields(TypedDict):
    """``FrameResult.to_dict()``: one frame's result as JSON."""

    t: float
    detections: list[dict[str, object]]
    counts: dict[str, dict[str, int]]
    events: list[dict[str, object]]


@dataclass
class FrameResult:
    """What one frame showed: tracked detections, counts per zone and label, and the events it raised."""

    t: float
    detections: list[dict[str, Any]]
    counts: dict[str, dict[str, int]]
    events: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> FrameFields:
        return {"t": self.t, "detections": self.detections, "counts": self.counts, "events": self.events}


class CameraAnalytics:
    """State of one camera between frames. ``observe(detections, t)`` for frames detected elsewhere (batched
    across cameras); ``run(frames, times, detector)`` detects and observes in process. A ``motion`` camera owns
    its MOG2 background (``self.motion``), since that state belongs to the camera."""

    def __init__(self, config: CameraConfig, tracker: ObjectTracker | None = None) -> None:
        self.config = config
        self.tracker = tracker or ObjectTracker(max_misses=max(5, config.smoothing.hold))
        self.motion = MotionDetector(config.motion, config.masks) if config.detector == "motion" else None
        self.crossings: Counter[tuple[str, str, str]] = Counter()
        self.last_t: float | None = None
        self.frames_seen = 0

    def run(self, frames: list[Any], times: list[float], detector: Any = None) -> list[FrameResult]:
        detector = detector or self.motion
        if detector is None:
            raise ValueError(f"camera {self.config.camera} uses {self.config.detector!r}: pass its detector")
        found = detector.detect(frames)
        return [self.observe(dets, t) for dets, t in zip(found, times, strict=True)]

    def observe(self, detections: list[Detection], t: float) -> FrameResult:
        kept = [d for d in detections if self._wanted(d)]
        tracked = self.tracker.update(kept, t)
        self.last_t, self.frames_seen = t, self.frames_seen + 1
        present = self._present(tracked)
        counts: dict[str, Counter[str]] = {WHOLE_FRAME: Counter(track.label for track in present)}
        events: list[dict[str, Any]] = []
        for zone in self.config.zones:
            counts[zone.name] = self._occupancy(zone, present, t, events)
        for line in self.config.lines:
            events.extend(self._crossings(line, tracked, t))
        listed = [{**det.to_dict(), "track_id": track.id} for track, det in tracked]
        return FrameResult(t, listed, {z: dict(c) for z, c in counts.items()}, events)

    def _wanted(self, det: Detection) -> bool:
        if self.config.labels and det.label not in self.config.labels:
            return False
        if det.score < self.config.min_score:
            return False
        centre = det.centre
        return not any(Zone("mask", polygon).contains(centre) for polygon in self.config.masks)

    def _present(self, tracked: list[tuple[Track, Detection]]) -> list[Track]:
        """The objects counted in this frame: the tracks detected in it, or with ``smoothing`` the tracks seen
        in at least ``min_hits`` frames and detected within the last ``hold`` frames."""
        smoothing = self.config.smoothing
        if smoothing.min_hits == 1 and smoothing.hold == 0:
            return [track for track, _ in tracked]
        return [
            track
            for track in self.tracker.tracks.values()
            if track.hits >= smoothing.min_hits and track.misses <= smoothing.hold
        ]

    def _occupancy(self, zone: Zone, present: list[Track], t: float, events: list[dict[str, Any]]) -> Counter[str]:
        inside: dict[str, list[Track]] = {}
        for track in present:
            if zone.contains(track.centre):
                track.entered.setdefault(zone.name, t)
                inside.setdefault(track.label, []).append(track)
            else:
                track.entered.pop(zone.name, None)
        for label, tracks in sorted(inside.items()):
            dwell = max(t - track.entered[zone.name] for track in tracks)
            events.append(self._event("occupancy", zone.name, label, t, count=len(tracks), dwell_s=round(dwell, 3)))
        return Counter({label: len(tracks) for label, tracks in inside.items()})

    def _crossings(self, line: CountingLine, tracked: list[tuple[Track, Detection]], t: float) -> list[dict[str, Any]]:
        events = []
        for track, _ in tracked:
            if track.previous is None:
                continue
            direction = crossing(line, track.previous, track.centre)
            if direction:
                self.crossings[(line.name, track.label, direction)] += 1
                total = sum(
                    n for (name, label, _), n in self.crossings.items() if (name, label) == (line.name, track.label)
                )
                events.append(
                    self._event(
                        "crossing", line.name, track.label, t, crossings=total, direction=direction, track_id=track.id
                    )
                )
        return events

    def _event(self, kind: str, zone: str, label: str, t: float, **values: Any) -> dict[str, Any]:
        hour = time.localtime(t).tm_hour
        return {"type": kind, "camera": self.config.camera, "zone": zone, "label": label, **values, "hour": hour}

    def totals(self) -> dict[str, dict[str, dict[str, int]]]:
        """Crossings so far: line → label → {"in": n, "out": n}."""
        out: dict[str, dict[str, dict[str, int]]] = {}
        for (name, label, direction), n in self.crossings.items():
            out.setdefault(name, {}).setdefault(label, {"in": 0, "out": 0})[direction] = n
        return out


def crossing(line: CountingLine, before: tuple[float, float], after: tuple[float, float]) -> str | None:
    """``in`` or ``out`` when the step ``before`` → ``after`` crosses the segment, else None."""
    side_before, side_after = _side(line.start, line.end, before), _side(line.start, line.end, after)
    if side_before == 0 or side_before * side_after >= 0:
        return None
    if _side(before, after, line.start) * _side(before, after, line.end) > 0:
        return None  # crossed the line's extension, not the segment
    return "in" if side_before < 0 else "out"


def _side(a: tuple[float, float], b: tuple[float, float], p: tuple[float, float]) -> float:
    return (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])
