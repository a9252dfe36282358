"""The video deployment: a ``VideoAnalyzer`` (``events.video``) per Ray Serve replica, with dynamic batching across
cameras (``@serve.batch``: up to ``max_batch_size`` frames or ``batch_wait_timeout_s``, whichever comes first;
``concurrent_batches`` batches at once) before one detector run per batch. A request's frames are one batch item
(in chunks of at most ``max_batch_size``), so a batch holds whole clips of several cameras. With ``shards`` > 1,
each camera always goes to the same deployment (``camera_shard``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

from events.alerts import VideoAnalysis
from events.video import Batcher, ChunkDetections, FrameChunk, FrameClip, VideoAnalyzer, VideoConfig

if TYPE_CHECKING:
    from ray.serve import Application

    from serving.model_hub import ModelHub


def camera_shard(camera: str, shards: int) -> int:
    """The video shard that keeps ``camera``'s state: the same in every ingress replica and after restarts (a
    digest of the id, not Python's per-process salted ``hash``; CRC-32 spread sequential ids unevenly)."""
    return int.from_bytes(hashlib.blake2b(camera.encode(), digest_size=8).digest(), "big") % shards


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


class VideoDeployment(VideoAnalyzer):
    """The deployment class: an analyzer over the gateway's registry and alias, batching inside a replica."""

    def __init__(self, config: GatewaySettings) -> None:
        video = video_settings(config)
        super().__init__(
            video,
            registry=lambda: config.hub().registry,
            alias=config.alias,
            refresh_interval=config.refresh_interval,
            batch=serve_batch(video) if in_replica() else None,  # in process (tests, uvicorn): no batching
        )


def serve_batch(video: VideoConfig) -> Batcher:
    from ray import serve

    def batched(
        detect: Callable[[list[FrameChunk]], Awaitable[list[ChunkDetections]]],
    ) -> Callable[[FrameChunk], Awaitable[ChunkDetections]]:
        return serve.batch(
            max_batch_size=video.max_batch_size,
            batch_wait_timeout_s=video.batch_wait_timeout_s,
            max_concurrent_batches=video.concurrent_batches,
            batch_size_fn=lambda chunks: sum(len(chunk.frames) for chunk in chunks),
        )(detect)  # type: ignore[arg-type]  # Serve's stub types a batch handler as returning a list of awaitables

    return batched


def in_replica() -> bool:
    from ray import serve
    from ray.serve.exceptions import RayServeException

    try:
        serve.get_replica_context()
    except RayServeException:
        return False
    return True


def video_deployments(config: GatewaySettings) -> list[Application]:
    """The bound Ray Serve deployments: ``video-analyzer``, or with ``shards`` > 1 ``video-analyzer-0`` … ``-N``,
    one replica each. A camera's tracking state lives in one replica, and Serve has no sticky routing that combines
    with batching (ray#56633), so the gateway picks a camera's shard itself (``camera_shard``)."""
    from ray import serve

    video = video_settings(config)
    names = ["video-analyzer"] if video.shards == 1 else [f"video-analyzer-{i}" for i in range(video.shards)]
    return [
        serve.deployment(
            VideoDeployment,
            name=name,
            num_replicas=1,
            max_ongoing_requests=max(64, video.max_batch_size * video.concurrent_batches * 4),
            logging_config={"enable_access_log": False},
            ray_actor_options={"num_cpus": 0, "runtime_env": {"env_vars": config.env}},
        ).bind(config)  # type: ignore[attr-defined]
        for name in names
    ]
