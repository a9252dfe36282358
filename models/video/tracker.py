"""A simple multi-object tracker for fixed cameras: greedy matching by box overlap, then by centre distance,
so an object keeps its ID from frame to frame. Bounded: at most ``max_tracks`` live tracks."""

from __future__ import annotations

from dataclasses import dataclass, field

from models.video.detections import Detection, iou


@dataclass
class Track:
    """One object followed across frames; ``previous`` is its centre one frame earlier (for line crossings)."""

    id: int
    label: str
    box: tuple[float, float, float, float]
    first_t: float
    last_t: float
    hits: int = 1
    misses: int = 0
    previous: tuple[float, float] | None = None
    entered: dict[str, float] = field(default_factory=dict)  # zone name → time the object entered it

    @property
    def centre(self) -> tuple[float, float]:
        x1, y1, x2, y2 = self.box
        return ((x1 + x2) / 2, (y1 + y2) / 2)


class ObjectTracker:
    """``update(detections, t)`` → the tracks seen in this frame, each detection matched to a track or a new ID.

    A track unseen for more than ``max_misses`` frames is dropped. Matching is greedy, best pair first: IoU ≥
    ``min_iou``, else centres closer than ``max_distance`` × the box diagonal (fast objects in low-fps streams).
    """

    def __init__(self, min_iou: float = 0.2, max_distance: float = 1.0, max_misses: int = 5, max_tracks: int = 256):
        self.min_iou = min_iou
        self.max_distance = max_distance
        self.max_misses = max_misses
        self.max_tracks = max_tracks
        self.tracks: dict[int, Track] = {}
        self._next_id = 1

    def update(self, detections: list[Detection], t: float) -> list[tuple[Track, Detection]]:
        pairs = self._match(detections)
        matched: list[tuple[Track, Detection]] = []
        used = set()
        for track_id, index in pairs:
            track, det = self.tracks[track_id], detections[index]
            track.previous, track.box, track.last_t = track.centre, det.box, t
            track.hits, track.misses = track.hits + 1, 0
            matched.append((track, det))
            used.add(index)
        seen = {track.id for track, _ in matched}
        for track in list(self.tracks.values()):
            if track.id not in seen:
                track.misses += 1
                if track.misses > self.max_misses:
                    del self.tracks[track.id]
        for index, det in enumerate(detections):
            if index not in used and len(self.tracks) < self.max_tracks:
                track = Track(self._next_id, det.label, det.box, t, t)
                self._next_id += 1
                self.tracks[track.id] = track
                matched.append((track, det))
        return matched

    def _match(self, detections: list[Detection]) -> list[tuple[int, int]]:
        candidates = []
        for track in self.tracks.values():
            for index, det in enumerate(detections):
                if det.label != track.label:
                    continue
                overlap = iou(track.box, det.box)
                if overlap >= self.min_iou:
                    candidates.append((2.0 + overlap, track.id, index))
                    continue
                closeness = 1.0 - _distance(track, det) / (self.max_distance * _diagonal(track.box))
                if closeness > 0:
                    candidates.append((closeness, track.id, index))
        pairs, used_tracks, used_dets = [], set(), set()
        for _, track_id, index in sorted(candidates, reverse=True):
            if track_id not in used_tracks and index not in used_dets:
                pairs.append((track_id, index))
                used_tracks.add(track_id)
                used_dets.add(index)
        return pairs


def _distance(track: Track, det: Detection) -> float:
    (ax, ay), (bx, by) = track.centre, det.centre
    return float(((ax - bx) ** 2 + (ay - by) ** 2) ** 0.5)


def _diagonal(box: tuple[float, float, float, float]) -> float:
    return max(1.0, float(((box[2] - box[0]) ** 2 + (box[3] - box[1]) ** 2) ** 0.5))
