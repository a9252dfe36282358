"""People detection with OpenCV's pretrained HOG + linear SVM (Dalal-Triggs), shipped inside OpenCV 4.x, run on
a pyramid chosen from the camera's expected person height: stateless, so one instance serves every camera
with the same settings."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from models.video.camera import PeopleSettings
from models.video.detections import Detection, non_max_suppression

WINDOW = (64, 128)  # the default detector's window, (w, h)
PERSON_IN_WINDOW = 96  # a person's height in the 128-px window the detector was trained on (Dalal-Triggs)


@dataclass(frozen=True)
class Band:
    """Feet rows ``[top, bottom)`` of the frame and the person heights expected there: one pyramid each."""

    top: int
    bottom: int
    smallest: float
    tallest: float


class PeopleDetector:
    """``detect(frames)`` → ``person`` boxes per frame. The frame is cut into bands of rows (one band when the
    camera gives one height range; one per pair of listed rows under perspective) and each band runs HOG on a
    short pyramid: upscaled until its smallest expected person fills the detector's 64×128 window, down to its
    tallest. People smaller than the window are found on a full-size frame, and heights the camera cannot show
    are never searched (fewer false people, less time). The frame is padded so a person as tall as the frame
    still fits the window."""

    stateful = False
    grey_frames = False

    def __init__(self, settings: PeopleSettings | None = None, min_score: float = 0.3, stride: int = 8) -> None:
        self.settings = settings or PeopleSettings()
        self.min_score = min_score
        self.stride = stride
        self._hogs: dict[int, Any] = {}

    def detect(self, frames: list[Any]) -> list[list[Detection]]:
        return [self._detect_one(frame) for frame in frames]

    def bands(self, height: int) -> list[Band]:
        """The frame's bands: between listed rows, heights interpolate linearly, so each band's extremes are
        those of its two ends; above the first and below the last listed row they stay as listed."""
        rows = self.settings.person_height
        if len(rows) == 1:
            return [Band(0, height, rows[0][1], rows[0][2])]
        out = []
        for i, (row, low, high) in enumerate(rows):
            top = 0 if i == 0 else int(row)
            bottom = height if i == len(rows) - 1 else int(rows[i + 1][0])
            if bottom <= top or top >= height:
                continue
            nxt = rows[min(i + 1, len(rows) - 1)]
            out.append(Band(top, min(bottom, height), min(low, nxt[1]), max(high, nxt[2])))
        return out

    def candidates(self, frame: Any) -> list[Detection]:
        """Every window of every band at ``min_score`` or above: before the focus check and suppression."""
        return [d for band in self.bands(frame.shape[0]) for d in self._detect_band(frame, band)]

    def _detect_one(self, frame: Any) -> list[Detection]:
        found = self.candidates(frame)
        if found and self.settings.min_sharpness > 0:
            found = in_focus(frame, found, self.settings.min_sharpness)
        return non_max_suppression(found, self.settings.overlap)

    def _detect_band(self, frame: Any, band: Band) -> list[Detection]:
        import cv2

        height, width = frame.shape[:2]
        tallest = min(band.tallest, height * 1.2)
        if tallest < band.smallest:  # the frame is too small to show the band's people
            return []
        box_tallest = tallest * WINDOW[1] / PERSON_IN_WINDOW
        margin = height // 4  # beyond the frame: enough for a person cut by its edge, not a whole window
        top = max(int(band.top - box_tallest), -margin)
        bottom = min(int(band.bottom + box_tallest / 8) + 1, height + margin)
        side = WINDOW[0] // 2
        pad_top, pad_bottom = max(0, -top), max(0, bottom - height)
        crop = frame[max(0, top) : min(height, bottom)]
        crop = cv2.copyMakeBorder(crop, pad_top, pad_bottom, side, side, cv2.BORDER_REPLICATE)
        scale = PERSON_IN_WINDOW / band.smallest
        step = self.settings.pyramid_step
        levels = max(1, math.ceil(math.log(tallest / band.smallest) / math.log(step)) + 1)
        image = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
        if image.shape[0] < WINDOW[1] or image.shape[1] < WINDOW[0]:  # smaller than one window: OpenCV crashes
            return []
        boxes, weights = self._hog(levels).detectMultiScale(
            image, winStride=(self.stride, self.stride), padding=(8, 8), scale=step
        )
        out = []
        y0 = max(0, top) - pad_top
        for (x, y, w, h), score in zip(boxes, list(weights), strict=True):
            x1, y1 = x / scale - side, y / scale + y0
            x2, y2 = (x + w) / scale - side, (y + h) / scale + y0
            feet = y2 - (y2 - y1) / 8  # the window leaves ~1/8 of its height under the feet
            last = band.bottom >= height  # the bottom band keeps people whose feet are below the frame
            if float(score) >= self.min_score and band.top <= feet and (feet < band.bottom or last):
                box = (max(0.0, x1), max(0.0, y1), min(float(width), x2), min(float(height), y2))
                out.append(Detection(box, "person", float(score)))
        return out

    def _hog(self, levels: int) -> Any:
        import cv2

        hog: Any = self._hogs.get(levels)
        if hog is None:  # nlevels bounds the pyramid: from the band's scale down to its tallest person
            hog = cv2.HOGDescriptor(WINDOW, (16, 16), (8, 8), (8, 8), 9, 1, -1, 0, 0.2, True, levels)
            hog.setSVMDetector(cv2.HOGDescriptor.getDefaultPeopleDetector())
            self._hogs[levels] = hog
        return hog


def in_focus(frame: Any, found: list[Detection], min_sharpness: float) -> list[Detection]:
    """The boxes whose ``sharpness`` reaches ``min_sharpness``. HOG normalises each block's contrast away, so
    out-of-focus highlights and car edges score like a person; a person the camera shows in focus has fine edges,
    however dark or backlit."""
    scores = sharpness(frame, [d.box for d in found])
    return [d for d, score in zip(found, scores, strict=True) if score >= min_sharpness]


def sharpness(frame: Any, boxes: list[tuple[float, float, float, float]]) -> list[float]:
    """The share of each box's gradient (3×3 Sobel on grey) that a 2-px Gaussian blur takes away: near 0 for an
    out-of-focus patch (nothing finer left to lose), 0.26–0.44 on the people HOG finds in the street clip,
    lit or backlit: contrast cancels out of the ratio."""
    import cv2
    import numpy as np

    grey = (frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)).astype(np.float32)
    blurred = cv2.GaussianBlur(grey, (0, 0), 2)
    edges = [cv2.magnitude(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1)) for g in (grey, blurred)]
    out = []
    for box in boxes:
        x1, y1, x2, y2 = (round(v) for v in box)
        fine, coarse = (float(e[y1:y2, x1:x2].mean()) if y2 > y1 and x2 > x1 else 0.0 for e in edges)
        out.append(1 - coarse / fine if fine > 0 else 0.0)
    return out
