"""The video deployment: per-camera analytics state (tracker, MOG2 background, zones, lines), frame decoding,
and dynamic batching across cameras (``@serve.batch``: up to ``max_batch_size`` frames or
``batch_wait_timeout_s``, whichever comes first; ``concurrent_batches`` batches at once) before one detector run
per batch. A request's frames are one batch item (in chunks of at most ``max_batch_size``), so a batch holds whole
clips of several cameras.

Frames of one camera stay in order: a camera's requests run one after another (a lock per camera), results are
put back in frame order, and a camera with its own state (MOG2 background) runs its frames itself, in order. Camera
state is bounded: at most ``max_cameras`` cameras (least recently seen dropped first), and a camera idle for
``camera_idle_s`` starts afresh.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeAlias

import numpy as np

from registry import AssetNotFound, AssetRegistry, AssetVersion, ValidationError

if TYPE_CHECKING:
    from ray.serve import Application

    from events.alerts import VideoAnalysis
    from models.components.image_decode import ImageDecoder
    from models.video.analytics import CameraAnalytics
    from models.video.detections import Detection, FrameDetector
    from models.video.onnx_detector import OnnxDetector
    from registry.follow import AliasFollower
    from serving.model_hub import ModelHub

#: a frame as the gateway hands it over: checked JPEG/PNG bytes, or pixels (height × width × channels uint8)
Frame = bytes | np.ndarray
#: per batch item, its frames' detections, or the error of a frame that would not decode
ChunkDetections: TypeAlias = "list[list[Detection]] | ValidationError"


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


def camera_shard(camera: str, shards: int) -> int:
    """The video shard that keeps ``camera``'s state: the same in every ingress replica and after restarts (a
    digest of the id, not Python's per-process salted ``hash``; CRC-32 spread sequential ids unevenly)."""
    return int.from_bytes(hashlib.blake2b(camera.encode(), digest_size=8).digest(), "big") % shards


@dataclass(frozen=True)
class FrameClip:
    """What the gateway hands the deployment: frames of one camera, in order: checked JPEG/PNG bytes (decoded
    here, so a Ray hop carries a tenth of the pixels' size) or pixel arrays (frames read from a clip file)."""

    camera: str
    frames: Sequence[Frame]
    timestamps: list[float] | None = None
    fps: float | None = None


class AnalyzeMany(Protocol):
    def remote(self, clips: list[FrameClip], /) -> Awaitable[list[VideoAnalysis | BaseException]]: ...


class VideoHandle(Protocol):
    """The video deployment as the gateway calls it, ``await video.analyze_many.remote(clips)``: a Ray Serve
    handle of ``VideoAnalyzer``, or ``serving.routes_video.InProcessVideo`` without Ray."""

    @property
    def analyze_many(self) -> AnalyzeMany: ...


#: the video deployment's handle, or one handle per shard (``camera_shard`` picks a camera's)
VideoShards = VideoHandle | list[VideoHandle] | tuple[VideoHandle, ...]


class GatewaySettings(Protocol):
    """What the video deployment reads of the gateway's config (``serving.deployments.GatewayConfig``, which
    imports this module): its video settings, and how to reach and follow registered detectors."""

    @property
    def video(self) -> VideoConfig | None: ...

    @property
    def alias(self) -> str: ...

    @property
    def refresh_interval(self) -> float: ...

    @property
    def env(self) -> dict[str, str]: ...

    def hub(self) -> ModelHub: ...


def video_settings(config: GatewaySettings) -> VideoConfig:
    if config.video is None:
        raise ValueError("the gateway config has no video settings (video=None); give it a VideoConfig")
    return config.video


class CameraSession:
    def __init__(self, analytics: CameraAnalytics) -> None:
        self.analytics = analytics
        self.lock = asyncio.Lock()
        self.last_used = time.monotonic()


class VideoAnalyzer:
    """Deployment class (also usable in process): ``analyze(clip)`` → per-frame detections, track IDs, counts
    and events for the clip's camera."""

    def __init__(self, config: GatewaySettings) -> None:
        import cv2
        from ray import serve

        from models.components.image_decode import ImageDecoder
        from models.video import load_cameras
        from models.video.people import PeopleDetector

        cv2.setNumThreads(1)  # concurrency comes from requests and batches; OpenCV's own threads only contend

        self.gateway = config
        self.config = video_settings(config)
        self.cameras = load_cameras(self.config.cameras_file)
        self.sessions: OrderedDict[str, CameraSession] = OrderedDict()
        self.people = PeopleDetector()
        self.decoder = ImageDecoder(max_pixels=self.config.max_pixels)
        self.detectors: dict[str, AliasFollower[OnnxDetector]] = {}
        self._batched = (
            serve.batch(
                max_batch_size=self.config.max_batch_size,
                batch_wait_timeout_s=self.config.batch_wait_timeout_s,
                max_concurrent_batches=self.config.concurrent_batches,
                batch_size_fn=lambda chunks: sum(len(chunk.frames) for chunk in chunks),
            )(self._detect_batch)
            if in_replica()
            else self._detect_one  # in process (tests, a plain uvicorn): no batching, same results
        )

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
                raise ValidationError(
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
            return self.people
        return self._onnx_detector(kind.removeprefix("onnx:"))

    def _onnx_detector(self, name: str) -> OnnxDetector:
        """A registered detector by the gateway's alias (``champion``), followed: when the alias moves, the new
        version is loaded in a background thread and swapped in; frames already in a batch finish on the old one,
        and a version that fails to load keeps the old one detecting."""
        from registry.follow import AliasFollower

        follower = self.detectors.get(name)
        if follower is None:
            registry = self.gateway.hub().registry
            follower = AliasFollower(
                registry, name, self.gateway.alias, self._load_detector, refresh_interval=self.gateway.refresh_interval
            )
            follower.current()  # the first load: an unknown or broken detector is this request's error
            follower.watch()
            self.detectors[name] = follower
        return follower.current()

    def _load_detector(self, registry: AssetRegistry, target: AssetVersion) -> OnnxDetector:
        from models.video.onnx_detector import OnnxDetector

        path = registry.load(f"{target.name}/{target.version}")
        return OnnxDetector.from_path(path, max_batch=self.config.max_batch_size)


def in_replica() -> bool:
    from ray import serve
    from ray.serve.exceptions import RayServeException

    try:
        serve.get_replica_context()
    except RayServeException:
        return False
    return True


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
            raise ValidationError(str(exc), location=f"frames[{i}]") from None
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


def video_deployments(config: GatewaySettings) -> list[Application]:
    """The bound Ray Serve deployments: ``video-analyzer``, or with ``shards`` > 1 ``video-analyzer-0`` … ``-N``,
    one replica each. A camera's tracking state lives in one replica, and Serve has no sticky routing that combines
    with batching (ray#56633), so the gateway picks a camera's shard itself (``camera_shard``)."""
    from ray import serve

    video = video_settings(config)
    names = ["video-analyzer"] if video.shards == 1 else [f"video-analyzer-{i}" for i in range(video.shards)]
    return [
        serve.deployment(
            VideoAnalyzer,
            name=name,
            num_replicas=1,
            max_ongoing_requests=max(64, video.max_batch_size * video.concurrent_batches * 4),
            logging_config={"enable_access_log": False},
            ray_actor_options={"num_cpus": 0, "runtime_env": {"env_vars": config.env}},
        ).bind(config)  # type: ignore[attr-defined]
        for name in names
    ]
