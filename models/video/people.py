"""People detection with OpenCV's pretrained HOG + linear SVM (Dalal-Triggs), shipped inside OpenCV 4.x:
stateless, so one instance serves every camera."""

from __future__ import annotations

from typing import Any

from models.video.detections import Detection, non_max_suppression


class PeopleDetector:
    """``detect(frames)`` → ``person`` boxes per frame. Frames narrower than ``min_width`` are upscaled first:
    the default detector's window is 64×128, so people smaller than that are found only in a larger image."""

    stateful = False
    grey_frames = False

    def __init__(self, min_score: float = 0.3, min_width: int = 640, stride: int = 8) -> None:
        self.min_score = min_score
        self.min_width = min_width
        self.stride = stride
        self._hog: Any = None

    def detect(self, frames: list[Any]) -> list[list[Detection]]:
        return [self._detect_one(frame) for frame in frames]

    def _detect_one(self, frame: Any) -> list[Detection]:
        import cv2

        if self._hog is None:
            self._hog = cv2.HOGDescriptor()
            self._hog.setSVMDetector(cv2.HOGDescriptor.getDefaultPeopleDetector())
        scale = max(1.0, self.min_width / frame.shape[1])
        image = cv2.resize(frame, None, fx=scale, fy=scale) if scale > 1 else frame
        boxes, weights = self._hog.detectMultiScale(image, winStride=(self.stride, self.stride), scale=1.05)
        found = [
            Detection((x / scale, y / scale, (x + w) / scale, (y + h) / scale), "person", float(score))
            for (x, y, w, h), score in zip(boxes, list(weights), strict=True)
            if float(score) >= self.min_score
        ]
        return non_max_suppression(found, 0.4)
