"""Bring your own ONNX detector: any ONNX model whose outputs are boxes, scores and (optionally) classes, with
a declaration of that format stored in the model's metadata (``citymind.detector``). The gateway serves it
batched without knowing where it came from.

Declared output format (``DetectorSpec``): ``boxes`` (N, K, 4) as ``xyxy`` or ``cxcywh``, normalised to [0, 1]
or in input pixels; ``scores`` (N, K); ``classes`` (N, K) indices into ``labels`` (absent: one class).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from models.video.detections import Detection, non_max_suppression
from registry import InvalidAsset

SPEC_METADATA = "citymind.detector"


@dataclass(frozen=True)
class DetectorSpec:
    """How to feed the model and read its outputs."""

    labels: tuple[str, ...]
    height: int
    width: int
    input: str = "frames"
    color: str = "gray"  # gray | rgb | bgr; the tensor is N × C × H × W float32
    scale: float = 1 / 255
    boxes: str = "boxes"
    scores: str = "scores"
    classes: str | None = "classes"
    box_format: str = "xyxy"
    normalized: bool = True
    nms_iou: float = 0.45
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problems = []
        if self.color not in ("gray", "rgb", "bgr"):
            problems.append(f"color must be gray, rgb or bgr, got {self.color!r}")
        if self.box_format not in ("xyxy", "cxcywh"):
            problems.append(f"box_format must be xyxy or cxcywh, got {self.box_format!r}")
        if not self.labels:
            problems.append("labels must name at least one class")
        if problems:
            raise InvalidAsset("detector declaration: " + "; ".join(problems))

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "labels": list(self.labels)})

    @classmethod
    def from_json(cls, text: str) -> DetectorSpec:
        try:
            data = json.loads(text)
            return cls(**{**data, "labels": tuple(data["labels"])})
        except (TypeError, KeyError, ValueError) as exc:
            raise InvalidAsset(f"detector declaration {SPEC_METADATA!r} is malformed: {exc}") from None


def declare_detector(model: Any, spec: DetectorSpec) -> Any:
    """Write ``spec`` into an ``onnx.ModelProto``'s metadata (what a data scientist does before registering)."""
    entries = [p for p in model.metadata_props if p.key != SPEC_METADATA]
    del model.metadata_props[:]
    model.metadata_props.extend(entries)
    prop = model.metadata_props.add()
    prop.key, prop.value = SPEC_METADATA, spec.to_json()
    return model


class OnnxDetector:
    """A declared ONNX detector in onnxruntime; ``detect`` runs a list of frames (any sizes) as one batch."""

    stateful = False

    def __init__(self, session: Any, spec: DetectorSpec, min_score: float = 0.5, max_batch: int = 64) -> None:
        self.session = session
        self.spec = spec
        self.min_score = min_score
        self.max_batch = max_batch

    @classmethod
    def from_path(cls, path: str | Path | bytes, **kwargs: Any) -> OnnxDetector:
        from models.onnx_session import make_session

        session = make_session(path)
        return cls(session, cls.read_spec(session), **kwargs)

    @staticmethod
    def read_spec(session: Any) -> DetectorSpec:
        meta = session.get_modelmeta().custom_metadata_map
        if SPEC_METADATA not in meta:
            raise InvalidAsset(
                f"this ONNX model declares no detector output format; add metadata {SPEC_METADATA!r} with "
                "models.video.onnx_detector.declare_detector(model, DetectorSpec(...)) and register it again."
            )
        return DetectorSpec.from_json(meta[SPEC_METADATA])

    @property
    def grey_frames(self) -> bool:
        """Whether the detector reads grey: its frames can be decoded in one channel (a third faster)."""
        return self.spec.color == "gray"

    def detect(self, frames: list[Any]) -> list[list[Detection]]:
        out: list[list[Detection]] = []
        for start in range(0, len(frames), self.max_batch):
            chunk = frames[start : start + self.max_batch]
            out.extend(self._detect_chunk(chunk))
        return out

    def tensor(self, frames: list[Any]) -> Any:
        """The input tensor for ``frames`` (N × C × H × W float32), as the declaration asks."""
        import numpy as np

        batch = np.stack([self._plane(frame) for frame in frames]).astype(np.float32) * np.float32(self.spec.scale)
        return np.ascontiguousarray(batch.transpose(0, 3, 1, 2))

    def _plane(self, frame: Any) -> Any:
        import cv2

        s = self.spec
        if s.color == "gray":  # grey first: a third of the pixels to resize
            if frame.ndim == 3 and frame.shape[2] == 3:
                frame = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            return cv2.resize(frame, (s.width, s.height), interpolation=cv2.INTER_AREA).reshape(s.height, s.width, 1)
        image = cv2.resize(frame, (s.width, s.height), interpolation=cv2.INTER_AREA)
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB) if s.color == "rgb" else image

    def _detect_chunk(self, frames: list[Any]) -> list[list[Detection]]:
        import numpy as np

        s = self.spec
        names = [s.boxes, s.scores] + ([s.classes] if s.classes else [])
        values = self.session.run(names, {s.input: self.tensor(frames)})
        boxes, scores = np.asarray(values[0], np.float32), np.asarray(values[1], np.float32)
        classes = np.asarray(values[2]).astype(np.int64) if s.classes else np.zeros(scores.shape, np.int64)
        return [self._frame_detections(f, boxes[i], scores[i], classes[i]) for i, f in enumerate(frames)]

    def _frame_detections(self, frame: Any, boxes: Any, scores: Any, classes: Any) -> list[Detection]:
        s = self.spec
        height, width = frame.shape[:2]
        sx, sy = (width, height) if s.normalized else (width / s.width, height / s.height)
        found = []
        for k in (scores >= self.min_score).nonzero()[0]:
            a, b, c, d = (float(v) for v in boxes[k])
            if s.box_format == "cxcywh":
                a, b, c, d = a - c / 2, b - d / 2, a + c / 2, b + d / 2
            label = s.labels[int(classes[k])] if 0 <= int(classes[k]) < len(s.labels) else str(int(classes[k]))
            found.append(Detection((a * sx, b * sy, c * sx, d * sy), label, float(scores[k])))
        return non_max_suppression(found, s.nms_iou)
