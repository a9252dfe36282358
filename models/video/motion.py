"""Moving-object detection for one fixed camera: OpenCV MOG2 background subtraction, shadows dropped,
blobs cleaned and boxed. Stateful (the background model), so one instance per camera, fed frames in order."""

from __future__ import annotations

import threading
from typing import Any

from models.video.camera import MotionSettings, Point
from models.video.detections import Detection


class MotionDetector:
    """``detect(frames)`` → boxes of moving blobs per frame; ``masks`` are polygons never reported."""

    stateful = True
    grey_frames = False

    def __init__(self, settings: MotionSettings | None = None, masks: tuple[tuple[Point, ...], ...] = ()) -> None:
        self.settings = settings or MotionSettings()
        self.masks = masks
        self._subtractor: Any = None
        self._keep: Any = None  # 255 where pixels count, 0 under masks; built for the first frame's size
        self._lock = threading.Lock()  # one background model: frames of a camera are applied one at a time

    def detect(self, frames: list[Any]) -> list[list[Detection]]:
        with self._lock:
            return [self._detect_one(frame) for frame in frames]

    def _detect_one(self, frame: Any) -> list[Detection]:
        import cv2
        import numpy as np

        s = self.settings
        if self._subtractor is None or self._keep is None or self._keep.shape != frame.shape[:2]:
            # A new frame size means another stream: start a new background rather than fail.
            self._subtractor = cv2.createBackgroundSubtractorMOG2(
                history=s.history, varThreshold=s.var_threshold, detectShadows=True
            )
            self._keep = np.full(frame.shape[:2], 255, np.uint8)
            for polygon in self.masks:
                cv2.fillPoly(self._keep, [np.asarray(polygon, np.int32)], 0)
        foreground = self._subtractor.apply(frame)
        mask = cv2.bitwise_and(np.where(foreground > 200, 255, 0).astype(np.uint8), self._keep)  # 127 = shadow
        if s.median > 1:
            mask = cv2.medianBlur(mask, s.median)
        if s.close > 1:
            mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (s.close,) * 2))
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        out = []
        for contour in contours:
            x, y, w, h = cv2.boundingRect(contour)
            if w * h >= s.min_area:
                out.append(Detection((float(x), float(y), float(x + w), float(y + h)), s.label, 1.0))
        return out
