"""``POST /v1/video/events``: frames from a camera → video analytics → video rules → events with a department
and a priority, as triage would dispatch them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from registry import AssetNotFound
from serving.model_hub import ModelHub


def video_events_router(hub: ModelHub, video: Any, config: Any = None) -> APIRouter:
    from models.components.image_decode import ImageDecoder
    from models.video import load_cameras
    from serving.routes_triage import shared_engine
    from serving.routes_video import FrameForwarder, read_clip
    from serving.video_deployment import VideoConfig

    config = config or VideoConfig()
    cameras = load_cameras(config.cameras_file)
    decoder = ImageDecoder(max_pixels=config.max_pixels)
    forwarder = FrameForwarder(video, config)
    router = APIRouter(tags=["Event engine"])

    @router.post("/v1/video/events")
    async def events(request: Request, area: str | None = None) -> dict[str, Any]:
        """The same input as ``/v1/video/analyze`` (JSON or multipart); ``?area=南村镇`` places the camera for
        dispatch (else city-wide). Returns the events the video rules raised, each with its category,
        departments, priority and explanation, and the analysis they came from (counts per frame)."""
        from serving.alerts import video_events

        clip = await read_clip(request, config, decoder)
        if clip.camera not in cameras:
            raise AssetNotFound(f"unknown camera {clip.camera!r}; configured cameras: {sorted(cameras)}")
        analysis = await forwarder.forward(clip)
        found = video_events(shared_engine(hub), analysis, area)
        frames = [{"index": f["index"], "t": f["t"], "counts": f["counts"]} for f in analysis["frames"]]
        return {"camera": clip.camera, "events": found, "frames": frames, "crossings": analysis["crossings"]}

    return router
