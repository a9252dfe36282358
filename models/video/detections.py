"""What every detector returns: labelled boxes in frame pixels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Detection:
    """A box ``(x1, y1, x2, y2)`` in frame pixels with its label and score."""

    box: tuple[float, float, float, float]
    label: str
    score: float = 1.0

    @property
    def centre(self) -> tuple[float, float]:
        x1, y1, x2, y2 = self.box
        return ((x1 + x2) / 2, (y1 + y2) / 2)

    def to_dict(self) -> dict[str, Any]:
        return {"box": [round(v, 1) for v in self.box], "label": self.label, "score": round(self.score, 4)}


class FrameDetector(Protocol):
    """What the video deployment asks of a detector: ``detect(frames)`` → detections per frame; ``stateful`` (its
    own state, such as a camera's background: one per camera, frames in order, never batched) and
    ``grey_frames`` (it reads one channel, so its frames can be decoded grey)."""

    @property
    def stateful(self) -> bool: ...

    @property
    def grey_frames(self) -> bool: ...

    def detect(self, frames: list[Any]) -> list[list[Detection]]: ...


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def non_max_suppression(detections: list[Detection], threshold: float = 0.45) -> list[Detection]:
    """Best-first greedy NMS per label (OpenCV's ``NMSBoxes`` would need a call per label anyway)."""
    kept: list[Detection] = []
    for det in sorted(detections, key=lambda d: -d.score):
        if all(k.label != det.label or iou(k.box, det.box) < threshold for k in kept):
            kept.append(det)
    return kept
