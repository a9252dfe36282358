"""Answers of video analytics and video events."""

from __future__ import annotations

from typing import Any

from citymind.api.common import Answer


class AnalysedFrame(Answer):
    index: int
    t: float
    detections: list[dict[str, Any]]
    counts: dict[str, dict[str, int]]
    events: list[dict[str, Any]]


class VideoAnalysis(Answer):
    """Each frame's tracked detections, counts per zone and label and events; line crossings so far."""

    camera: str
    detector: str
    frames: list[AnalysedFrame]
    crossings: dict[str, dict[str, dict[str, int]]]
    live_tracks: int


class FrameCounts(Answer):
    index: int
    t: float
    counts: dict[str, dict[str, int]]


class VideoEvents(Answer):
    """The events the video rules raised (each dispatched like a report) and the counts they came from."""

    camera: str
    events: list[dict[str, Any]]
    frames: list[FrameCounts]
    crossings: dict[str, dict[str, dict[str, int]]]
