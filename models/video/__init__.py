"""Video analytics over frames from fixed city cameras: detectors (motion, people, a registered ONNX detector),
a tracker that keeps IDs across frames, and per-camera zone occupancy, dwell time and line crossings, reported as
events in the terms of the rules' ``video`` kind (camera, zone, label, count, dwell_s, crossings, hour)."""

from models.video.analytics import CameraAnalytics, FrameResult
from models.video.camera import CameraConfig, CountingLine, Zone, load_cameras
from models.video.detections import Detection

__all__ = [
    "CameraAnalytics",
    "CameraConfig",
    "CountingLine",
    "Detection",
    "FrameResult",
    "Zone",
    "load_cameras",
]
