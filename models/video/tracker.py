"""A simple multi-object tracker for fixed cameras: greedy matching by box overlap, then by centre distance,
so an object keeps its ID from frame to frame. Bounded: at most ``max_tracks`` live tracks."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from models.video.detections import Detection


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
        """Greedy best-first pairs (track ID, detection index), scored on arrays: a crowded road view has
        dozens of tracks and detections per frame."""
        if not self.tracks or not detections:
            return []
        tracks = list(self.tracks.values())
        score = self._scores(np.array([t.box for t in tracks]), np.array([d.box for d in detections]))
        score[np.array([t.label for t in tracks])[:, None] != np.array([d.label for d in detections])[None, :]] = 0
        rows, cols = np.nonzero(score > 0)
        order = np.lexsort((-cols, -rows, -score[rows, cols]))  # best first; ties: later track, later detection
        pairs, used_tracks, used_dets = [], set(), set()
        for row, col in zip(rows[order].tolist(), cols[order].tolist(), strict=True):
            if row not in used_tracks and col not in used_dets:
                pairs.append((tracks[row].id, col))
                used_tracks.add(row)
                used_dets.add(col)
                if len(pairs) == min(len(tracks), len(detections)):
                    break
        return pairs

    def _scores(self, tracks: np.ndarray, dets: np.ndarray) -> np.ndarray:
        """Tracks × detections: 2 + IoU where IoU ≥ ``min_iou``, else closeness of centres (≤ 0: no match)."""
        a, b = tracks[:, None, :], dets[None, :, :]
        w = np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0])
        h = np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1])
        inter = np.where((w > 0) & (h > 0), w * h, 0.0)
        areas = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1]) + (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
        overlap = inter / np.maximum(areas - inter, 1e-12)
        centres_a, centres_b = (a[..., :2] + a[..., 2:]) / 2, (b[..., :2] + b[..., 2:]) / 2
        distance = np.sqrt(((centres_a - centres_b) ** 2).sum(-1))
        diagonal = np.maximum(1.0, np.sqrt(((a[..., 2:] - a[..., :2]) ** 2).sum(-1)))
        closeness = 1.0 - distance / (self.max_distance * diagonal)
        return np.where(overlap >= self.min_iou, 2.0 + overlap, closeness)
