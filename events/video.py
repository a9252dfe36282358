"""Video analytics of the event engine: per-camera state (tracker, MOG2 background, zones, lines), frame decoding
and detection in batches across cameras, before video rules turn what it raised into events (``events.alerts``).

Frames of one camera stay in order: a camera's requests run one after another (a lock per camera), results are
put back in frame order, and a camera with its own state (MOG2 background) runs its frames itself, in order. Camera
state is bounded: at most ``max_cameras`` cameras (least recently seen dropped first), and a camera idle for
``camera_idle_s`` starts afresh. The gateway runs one ``VideoAnalyzer`` in each video deployment
(``serving.video_deployment``), which batches detection with ``@serve.batch``.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from citymind.errors import Unprocessable
from events.alerts import VideoAnalysis
from models.components.image_decode import ImageDecoder
from registry import AssetNotFound, AssetRegistry, AssetVersion, ValidationError
from registry.follow import AliasFollower

if TYPE_CHECKING:  # OpenCV and onnxruntime load only when an analyzer is made
    from models.video.analytics import CameraAnalytics
    from models.video.camera import CameraConfig
    from models.video.detections import Detection, FrameDetector
    from models.video.onnx_detector import OnnxDetector

#: a frame as the gateway hands it over: checked JPEG/PNG bytes, or pixels (height × width × channels uint8)
Frame = bytes | np.ndarray
#: per batch item, its frames' detections, or the error of a frame that would not decode
ChunkDetections: TypeAlias = "list[list[Detection]] | ValidationError"
#: wraps the detector's batch call: ``batch(detect_batch)`` → a call per chunk (``@serve.batch`` in a deployment)
Batcher = Callable[
    [Callable[["list[FrameChunk]"], Awaitable["list[ChunkDetections]"]]],
    Callable[["FrameChunk"], Awaitable["ChunkDetections"]],
]


@dataclass(frozen=True)
class VideoConfig:
    """Settings of ``POST /v1/video/analyze`` and the video deployment (docs/video.md)."""

    cameras_file: str | None = None  # None: models/video/defaults/cameras.yaml
    max_batch_size: int = 32  # frames per detector run
    batch_wait_timeout_s: float = 0.005
    concurrent_batches: int = 2  # detector runs at once (onnxruntime and OpenCV release the GIL)
    max_cameras: int = 256
    camera_idle_s: float = 600.0
    max_frames: int = 64  # per request
    max_pixels: int = 1920 * 1080  # per frame
    default_fps: float = 10.0  # spacing of frames sent without timestamps
    shards: int = 1  # video deployments of one replica each; a camera always goes to the same one (camera_shard)

    def __post_init__(self) -> None:
        if self.max_batch_size < 1 or self.batch_wait_timeout_s < 0 or self.concurrent_batches < 1 or self.shards < 1:
            raise ValueError(
                "VideoConfig needs max_batch_size >= 1, batch_wait_timeout_s >= 0, concurrent_batches >= 1 and "
                f"shards >= 1; got {self.max_batch_size}, {self.batch_wait_timeout_s}, {self.concurrent_batches} and "
                f"{self.shards}."
            )


@dataclass(frozen=True)
class FrameClip:
    """What the gateway hands the deployment: frames of one camera, in order: checked JPEG/PNG bytes (decoded
    here, so a Ray hop carries a tenth of the pixels' size) or pixel arrays (frames read from a clip file)."""

    camera: str
    frames: Sequence[Frame]
    timestamps: list[float] | None = None
    fps: float | None = None


class CameraSession:
    def __init__(self, analytics: CameraAnalytics) -> None:
        self.analytics = analytics
        self.lock = asyncio.Lock()
        self.last_used = time.monotonic()


class VideoAnalyzer:
    """``analyze(clip)`` → per-frame detections, track IDs, counts and events for the clip's camera. ``registry``
    gives the registry of ONNX detectors (``onnx:<name>`` cameras), followed by ``alias``; ``batch`` wraps the
    detector's batch call (the video deployment's ``@serve.batch``; None: each chunk on its own, same results)."""

    def __init__(
        self,
        config: VideoConfig,
        *,
        registry: Callable[[], AssetRegistry] | None = None,
        alias: str = "champion",
        refresh_interval: float = 2.0,
        batch: Batcher | None = None,
    ) -> None:
        import cv2

        from models.video import load_cameras

        cv2.setNumThreads(1)  # concurrency comes from requests and batches; OpenCV's own threads only contend

        self.config, self.registry = config, registry
        self.alias, self.refresh_interval = alias, refresh_interval
        self.cameras = load_cameras(self.config.cameras_file)
        self.sessions: OrderedDict[str, CameraSession] = OrderedDict()
        self.people: dict[tuple[Any, float], FrameDetector] = {}  # one per people setting: cameras share it
        self.decoder = ImageDecoder(max_pixels=self.config.max_pixels)
        self.detectors: dict[str, AliasFollower[OnnxDetector]] = {}
        self._batched = batch(self._detect_batch) if batch is not None else self._detect_one

    async def analyze_many(self, clips: list[FrameClip]) -> list[VideoAnalysis | BaseException]:
        """Clips in one Ray call: a result or the error, per clip."""
        return list(await asyncio.gather(*(self.analyze(clip) for clip in clips), return_exceptions=True))

    async def analyze(self, clip: FrameClip) -> VideoAnalysis:
        session = self._session(clip.camera)
        async with session.lock:
            times = self._times(session, clip)
            found = await self._detect(self._detector(session), clip.frames)
            results = [session.analytics.observe(d, t).to_dict() for d, t in zip(found, times, strict=True)]
            session.last_used = time.monotonic()
        return {
            "camera": clip.camera,
            "detector": session.analytics.config.detector,
            "frames": [{"index": i, **r} for i, r in enumerate(results)],
            "crossings": session.analytics.totals(),
            "live_tracks": len(session.analytics.tracker.tracks),
        }

    async def _detect(self, detector: FrameDetector, frames: Sequence[Frame]) -> list[list[Detection]]:
        if detector.stateful:  # a camera's own background: its frames in order, nothing to batch with
            return await asyncio.to_thread(lambda: detector.detect(pixels(self.decoder, frames)))
        size = self.config.max_batch_size
        chunks = [FrameChunk(detector, frames[i : i + size], i) for i in range(0, len(frames), size)]
        found: list[list[Detection]] = []
        for part in await asyncio.gather(*(self._batched(chunk) for chunk in chunks)):
            if isinstance(part, BaseException):
                raise part
            found.extend(part)
        return found

    async def _detect_batch(self, chunks: list[FrameChunk]) -> list[ChunkDetections]:
        return await asyncio.to_thread(detect_chunks, self.decoder, chunks)

    async def _detect_one(self, chunk: FrameChunk) -> ChunkDetections:
        return (await self._detect_batch([chunk]))[0]

    def _session(self, camera: str) -> CameraSession:
        from models.video import CameraAnalytics

        config = self.cameras.get(camera)
        if config is None:
            raise AssetNotFound(f"unknown camera {camera!r}; configured cameras: {sorted(self.cameras)}", name=camera)
        now = time.monotonic()
        for cid, old in list(self.sessions.items()):
            if now - old.last_used > self.config.camera_idle_s and not old.lock.locked():
                del self.sessions[cid]  # idle: its background and tracks are stale
        session = self.sessions.get(camera)
        if session is None:
            while len(self.sessions) >= self.config.max_cameras:
                self.sessions.popitem(last=False)
            session = self.sessions[camera] = CameraSession(CameraAnalytics(config))
        self.sessions.move_to_end(camera)
        return session

    def _times(self, session: CameraSession, clip: FrameClip) -> list[float]:
        last = session.analytics.last_t
        if clip.timestamps is not None:
            if last is not None and clip.timestamps[0] < last:
                raise Unprocessable(
                    f"camera {clip.camera}: frame time {clip.timestamps[0]} is before the last frame analysed "
                    f"({last}); send a camera's frames in order.",
                    location="timestamps",
                )
            return list(clip.timestamps)
        step = 1.0 / (clip.fps or self.config.default_fps)
        start = time.time() if last is None else max(time.time(), last + step)
        return [start + i * step for i in range(len(clip.frames))]

    def _detector(self, session: CameraSession) -> FrameDetector:
        kind = session.analytics.config.detector
        if session.analytics.motion is not None:  # a ``motion`` camera: its analytics own its detector
            return session.analytics.motion
        if kind == "people":
            return self._people_detector(session.analytics.config)
        return self._onnx_detector(kind.removeprefix("onnx:"))

    def _people_detector(self, config: CameraConfig) -> FrameDetector:
        """HOG on the camera's pyramid; cameras with the same settings share one (their frames batch together)."""
        from models.video.people import PeopleDetector

        key = (config.people, config.min_score)
        if key not in self.people:
            self.people[key] = PeopleDetector(config.people, min_score=config.min_score)
        return self.people[key]

    def _onnx_detector(self, name: str) -> OnnxDetector:
        """A registered detector by the gateway's alias (``champion``), followed: when the alias moves, the new
        version is loaded in a background thread and swapped in; frames already in a batch finish on the old one,
        and a version that fails to load keeps the old one detecting."""
        follower = self.detectors.get(name)
        if follower is None:
            if self.registry is None:
                raise AssetNotFound(f"detector {name!r} is registered, and this analyzer has no registry", name=name)
            follower = AliasFollower(
                self.registry(), name, self.alias, self._load_detector, refresh_interval=self.refresh_interval
            )
            follower.current()  # the first load: an unknown or broken detector is this request's error
            follower.watch()
            self.detectors[name] = follower
        return follower.current()

    def _load_detector(self, registry: AssetRegistry, target: AssetVersion) -> OnnxDetector:
        from models.video.onnx_detector import OnnxDetector

        path = registry.load(f"{target.name}/{target.version}")
        return OnnxDetector.from_path(path, max_batch=self.config.max_batch_size)


@dataclass(frozen=True)
class FrameChunk:
    """One batch item: consecutive frames of one clip (``first`` is the clip index of ``frames[0]``)."""

    detector: FrameDetector
    frames: Sequence[Frame]
    first: int = 0


def pixels(decoder: ImageDecoder, frames: Sequence[Frame], first: int = 0, grey: bool = False) -> list[np.ndarray]:
    """Decode the frames that are still image bytes (in one channel if ``grey``: all a grey detector reads); a
    damaged one is named by its index in the request."""
    out = []
    for i, frame in enumerate(frames, start=first):
        try:
            out.append(decoder.pixels(frame, grey=grey) if isinstance(frame, bytes) else frame)
        except ValidationError as exc:
            raise Unprocessable(str(exc), location=f"frames[{i}]") from None
    return out


def detect_chunks(decoder: ImageDecoder, chunks: list[FrameChunk]) -> list[ChunkDetections]:
    """Per chunk: its frames' detections, or the error of a frame that would not decode. Each detector runs once
    over all its frames in the batch."""
    out: list[ChunkDetections] = []
    decoded: dict[int, list[np.ndarray]] = {}
    groups: dict[int, list[int]] = {}
    for i, chunk in enumerate(chunks):
        try:
            decoded[i] = pixels(decoder, chunk.frames, chunk.first, chunk.detector.grey_frames)
        except ValidationError as exc:
            out.append(exc)
            continue
        out.append([])  # its detections, below
        groups.setdefault(id(chunk.detector), []).append(i)
    for indices in groups.values():
        found = iter(chunks[indices[0]].detector.detect([frame for i in indices for frame in decoded[i]]))
        for i in indices:
            out[i] = [next(found) for _ in decoded.pop(i)]
    return out
