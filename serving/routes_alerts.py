"""Warnings into the event engine: ``POST /v1/video/events`` (a camera's frames → video analytics → video rules)
and ``POST /v1/indicators/evaluate`` (readings → forecast → alert rules): events with a department and a priority,
as triage would dispatch them."""

from __future__ import annotations

import asyncio
import math
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, field_validator

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
    forwarder = FrameForwarder(video)
    router = APIRouter(tags=["Event engine"])

    @router.post("/v1/video/events")
    async def events(request: Request, area: str | None = None) -> dict[str, Any]:
        """The same input as ``/v1/video/analyze`` (JSON or multipart); ``?area=南村镇`` places the camera for
        dispatch (else city-wide). Returns the events the video rules raised, each with its category,
        departments, priority and explanation, and the analysis they came from (counts per frame)."""
        from events.alerts import video_events

        clip = await read_clip(request, config, decoder)
        if clip.camera not in cameras:
            raise AssetNotFound(f"unknown camera {clip.camera!r}; configured cameras: {sorted(cameras)}")
        analysis = await forwarder.forward(clip)
        # in a thread: the rule timers may be the shared event state's, reached by a blocking call
        found = await asyncio.to_thread(video_events, shared_engine(hub), analysis, area)
        frames = [{"index": f["index"], "t": f["t"], "counts": f["counts"]} for f in analysis["frames"]]
        return {"camera": clip.camera, "events": found, "frames": frames, "crossings": analysis["crossings"]}

    return router


class Reading(BaseModel):
    t: str | float = Field(description="ISO 8601 time or epoch seconds")
    value: float | None = Field(description="the reading; null for a missing one")

    @field_validator("value")
    @classmethod
    def finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("readings must be finite numbers or null (NaN and infinity are not readings)")
        return value


class IndicatorSeries(BaseModel):
    indicator: str = Field(max_length=50, pattern=r"^[\w\-.]+$", examples=["pm25"])
    area: str | None = Field(default=None, max_length=50)
    model: str | None = Field(default=None, max_length=100, description="default: {indicator}-forecaster")
    points: list[Reading] = Field(min_length=2, max_length=24 * 7 * 4)


class IndicatorRequest(BaseModel):
    series: list[IndicatorSeries] = Field(min_length=1, max_length=50)


def indicators_router(hub: ModelHub) -> APIRouter:
    from events.indicators import IndicatorEngine, onnx_forecast
    from serving.routes_triage import shared_engine

    router = APIRouter(tags=["Event engine"])
    engines: list[IndicatorEngine] = []

    def engine() -> IndicatorEngine:
        if not engines:
            engines.append(IndicatorEngine(shared_engine(hub), onnx_forecast(hub)))
        return engines[0]

    @router.post("/v1/indicators/evaluate")
    def evaluate(body: IndicatorRequest) -> dict[str, Any]:
        """Recent readings of city indicators → forecasts with intervals → alert rules on actuals and forecasts
        (``for`` durations run across calls per indicator and area) → warnings with the departments responsible."""
        return {"results": [engine().evaluate(s.model_dump()) for s in body.series]}

    return router
