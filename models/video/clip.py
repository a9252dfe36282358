"""A short video clip (any container OpenCV's FFmpeg reads: AVI, MP4, ...) as bytes → its frames, within limits."""

from __future__ import annotations

import os
import tempfile
from typing import Any

from citymind.errors import Unprocessable


def read_video(data: bytes, max_frames: int, max_pixels: int) -> tuple[list[Any], float | None]:
    """The first frames of a clip (refused when longer than ``max_frames``) and its frame rate."""
    import cv2

    if not data:
        raise Unprocessable("the clip is empty (0 bytes)", location="clip")
    handle, path = tempfile.mkstemp(suffix=".video")  # VideoCapture reads files, not buffers
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        capture = cv2.VideoCapture(path)
        try:
            return _frames(capture, max_frames, max_pixels)
        finally:
            capture.release()
    finally:
        os.unlink(path)


def _frames(capture: Any, max_frames: int, max_pixels: int) -> tuple[list[Any], float | None]:
    import cv2

    if not capture.isOpened():
        raise Unprocessable("the clip is not a video OpenCV can read (AVI, MP4, ...)", location="clip")
    width, height = capture.get(cv2.CAP_PROP_FRAME_WIDTH), capture.get(cv2.CAP_PROP_FRAME_HEIGHT)
    if width * height > max_pixels:
        raise Unprocessable(
            f"the clip is {int(width)}×{int(height)}; the limit is {max_pixels} pixels a frame", location="clip"
        )
    frames: list[Any] = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        if len(frames) == max_frames:
            raise Unprocessable(f"the clip has more than {max_frames} frames; send a shorter one", location="clip")
        frames.append(frame)
    if not frames:
        raise Unprocessable("the clip has no readable frames", location="clip")
    fps = capture.get(cv2.CAP_PROP_FPS)
    return frames, float(fps) if fps and fps > 0 else None
