"""Per-camera configuration: which detector watches the camera, where to look (zones, ignore masks) and which
lines to count crossings on. Typed dataclasses, read from a small YAML file that people edit."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from registry import ValidationError

Point = tuple[float, float]
CAMERA_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
DEFAULT_CAMERAS = Path(__file__).resolve().parent / "defaults" / "cameras.yaml"
DETECTORS = ("motion", "people")  # or "onnx:<registered model name>"


@dataclass(frozen=True)
class Zone:
    """A polygon in frame pixels; an object is in the zone when the centre of its box is."""

    name: str
    polygon: tuple[Point, ...]

    def contains(self, point: Point) -> bool:
        import cv2
        import numpy as np

        contour = np.asarray(self.polygon, dtype=np.float32)
        return bool(cv2.pointPolygonTest(contour, (float(point[0]), float(point[1])), False) >= 0)


@dataclass(frozen=True)
class CountingLine:
    """A segment ``start`` → ``end``. A crossing to the right-hand side of the segment as drawn on the image is
    ``in`` (for a line drawn left to right: moving down the frame), the other way ``out``."""

    name: str
    start: Point
    end: Point


@dataclass(frozen=True)
class MotionSettings:
    """MOG2 background subtraction and blob cleaning (defaults measured on the real footage, docs/video.md)."""

    history: int = 500
    var_threshold: float = 24.0
    median: int = 5
    close: int = 15
    min_area: int = 60
    label: str = "vehicle"


@dataclass(frozen=True)
class PeopleSettings:
    """Where a ``people`` camera looks for people. ``person_height`` is in frame pixels, head to feet, as
    ``(row, smallest, tallest)`` entries sorted by row: one entry (any row) for a camera without perspective;
    several for a camera looking down a street, the range at the row of a person's feet interpolated between
    them. The HOG pyramid covers exactly these heights (``PeopleDetector``): people smaller than the detector's
    64×128 window are found on a full-size frame; heights the camera cannot show are not searched.

    ============================  ==========================================================
    YAML (``people:``)            meaning
    ============================  ==========================================================
    ``person_height: [40, 300]``  anywhere in the frame, people 40–300 px tall
    ``person_height: {120: [20, 40], 270: [60, 120]}``  by row: 20–40 px at row 120 ...
    ``pyramid_step: 1.1``         scale between pyramid levels (smaller: slower, finer)
    ``min_sharpness: 0.25``       share of a box's edges finer than a 2-px blur, below which
                                  it is out of focus, not a person (``video.people.sharpness``); 0: off
    ============================  ==========================================================
    """

    person_height: tuple[tuple[float, float, float], ...] = ((0.0, 48.0, 1080.0),)
    pyramid_step: float = 1.1
    overlap: float = 0.4
    min_sharpness: float = 0.0

    def __post_init__(self) -> None:
        if not self.person_height:
            raise ValidationError("people.person_height: give [smallest, tallest] or {row: [smallest, tallest]}")
        for row, low, high in self.person_height:
            if not 8 <= low <= high:
                raise ValidationError(
                    f"people.person_height at row {row:g}: expected 8 <= smallest <= tallest pixels, "
                    f"got [{low:g}, {high:g}] (e.g. [40, 300])"
                )
        if not 1.01 <= self.pyramid_step <= 2:
            raise ValidationError(f"people.pyramid_step must be in [1.01, 2]. Got {self.pyramid_step} instead.")
        if not 0 <= self.min_sharpness < 1:
            raise ValidationError(f"people.min_sharpness must be in [0, 1). Got {self.min_sharpness} instead.")

    @classmethod
    def from_dict(cls, camera: str, spec: dict[str, Any]) -> PeopleSettings:
        known = {"person_height", "pyramid_step", "overlap", "min_sharpness"}
        unknown = sorted(set(spec) - known)
        if unknown:
            raise ValidationError(f"camera {camera}: unknown keys people.{unknown}; known: {sorted(known)}")
        values = {k: float(v) for k, v in spec.items() if k != "person_height"}
        if "person_height" in spec:
            values["person_height"] = _person_height(camera, spec["person_height"])  # type: ignore[assignment]
        return cls(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class CountSmoothing:
    """Counts read from the tracker, not from one frame's detections: a track counts once it was detected in
    ``min_hits`` frames (a one-frame false detection never counts), and for ``hold`` frames after its last
    detection (a person the detector misses for a frame or two is still there). ``min_hits=1, hold=0``: the
    frame's own detections."""

    min_hits: int = 1
    hold: int = 0

    def __post_init__(self) -> None:
        if self.min_hits < 1 or self.hold < 0:
            raise ValidationError(f"smoothing: expected min_hits >= 1 and hold >= 0, got {self}")


@dataclass(frozen=True)
class CameraConfig:
    """One fixed camera. ``detector`` is ``motion`` (MOG2), ``people`` (HOG) or ``onnx:NAME`` (a registered
    detector). ``masks`` are polygons ignored by every detector (timestamp overlays, trees)."""

    camera: str
    detector: str = "motion"
    zones: tuple[Zone, ...] = ()
    lines: tuple[CountingLine, ...] = ()
    masks: tuple[tuple[Point, ...], ...] = ()
    motion: MotionSettings = field(default_factory=MotionSettings)
    min_score: float = 0.5
    labels: tuple[str, ...] = ()
    people: PeopleSettings = field(default_factory=PeopleSettings)
    smoothing: CountSmoothing = field(default_factory=CountSmoothing)

    def __post_init__(self) -> None:
        check_camera_id(self.camera)
        if self.detector not in DETECTORS and not self.detector.startswith("onnx:"):
            raise ValidationError(
                f"The 'detector' of camera {self.camera} must be one of {list(DETECTORS)} or 'onnx:NAME'. "
                f"Got {self.detector!r} instead."
            )

    @classmethod
    def from_dict(cls, camera: str, spec: dict[str, Any]) -> CameraConfig:
        known = {"detector", "zones", "lines", "masks", "motion", "min_score", "labels", "people", "smoothing"}
        unknown = sorted(set(spec) - known)
        if unknown:
            raise ValidationError(f"camera {camera}: unknown keys {unknown}; known: {sorted(known)}")
        return cls(
            camera=camera,
            detector=str(spec.get("detector", "motion")),
            zones=tuple(Zone(n, _points(p, f"{camera}.zones.{n}")) for n, p in (spec.get("zones") or {}).items()),
            lines=tuple(_line(camera, n, p) for n, p in (spec.get("lines") or {}).items()),
            masks=tuple(_points(p, f"{camera}.masks[{i}]") for i, p in enumerate(spec.get("masks") or [])),
            motion=MotionSettings(**(spec.get("motion") or {})),
            min_score=float(spec.get("min_score", 0.5)),
            labels=tuple(spec.get("labels") or ()),
            people=PeopleSettings.from_dict(camera, spec.get("people") or {}),
            smoothing=CountSmoothing(**(spec.get("smoothing") or {})),
        )


def check_camera_id(camera: str) -> str:
    if not isinstance(camera, str) or not CAMERA_ID.match(camera):
        raise ValidationError(
            f"camera id {camera!r} is malformed: use 1-64 letters, digits, '.', '_' or '-' (e.g. 'cam-07')."
        )
    return camera


def load_cameras(path: str | Path | None = None) -> dict[str, CameraConfig]:
    """Camera configs by id from a YAML file ``{cameras: {ID: {...}}}`` (the shipped defaults if no path)."""
    import yaml

    source = Path(path or DEFAULT_CAMERAS)
    data = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    cameras = data.get("cameras") if isinstance(data, dict) else None
    if not isinstance(cameras, dict):
        raise ValidationError(f"{source}: expected a mapping 'cameras: {{ID: {{...}}}}'")
    return {str(cid): CameraConfig.from_dict(str(cid), spec or {}) for cid, spec in cameras.items()}


def _points(value: Any, where: str) -> tuple[Point, ...]:
    try:
        points = tuple((float(x), float(y)) for x, y in value)
    except (TypeError, ValueError):
        raise ValidationError(f"{where}: expected a list of [x, y] points, got {value!r}") from None
    if len(points) < 3:
        raise ValidationError(f"{where}: a polygon needs at least 3 points, got {len(points)}")
    return points


def _person_height(camera: str, value: Any) -> tuple[tuple[float, float, float], ...]:
    """``[smallest, tallest]`` or ``{row: [smallest, tallest], ...}`` → sorted ``(row, smallest, tallest)``."""
    try:
        if isinstance(value, dict):
            return tuple(sorted((float(row), float(lo), float(hi)) for row, (lo, hi) in value.items()))
        low, high = value
        return ((0.0, float(low), float(high)),)
    except (TypeError, ValueError):
        raise ValidationError(
            f"camera {camera}: people.person_height expects [smallest, tallest] or {{row: [smallest, tallest]}} "
            f"in pixels, got {value!r}"
        ) from None


def _line(camera: str, name: str, value: Any) -> CountingLine:
    try:
        (x1, y1), (x2, y2) = value
        return CountingLine(name, (float(x1), float(y1)), (float(x2), float(y2)))
    except (TypeError, ValueError):
        raise ValidationError(f"{camera}.lines.{name}: expected [[x1, y1], [x2, y2]], got {value!r}") from None
