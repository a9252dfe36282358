"""``POST /v1/video/analyze``: frames (JPEG/PNG, base64 JSON or multipart) or a short clip from one camera →
per-frame detections with track IDs, counts per zone and events. Frames are checked here (format, size in the
header) and passed on still encoded; the video deployment decodes them, batches detection across cameras and keeps
each camera's tracking state."""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import ConfigDict, Field
from starlette.datastructures import UploadFile

from citymind.api import VideoAnalysis as VideoAnalysisAnswer
from citymind.api import VideoEvents
from citymind.errors import Unprocessable
from events.alerts import VideoAnalysis, video_events
from events.video import Frame, FrameClip, VideoAnalyzer, VideoConfig
from models.components.image_decode import ImageDecoder
from models.video import load_cameras
from models.video.camera import CAMERA_ID, check_camera_id
from registry import AssetNotFound, CitymindError, ValidationError
from serving.openapi import errors
from serving.replica import Replica
from serving.requests import RequestBody
from serving.video_deployment import VideoHandle, VideoShards, camera_shard

#: frame times: epoch seconds up to 2200; a frame rate of at least one frame in 100 s (times stay finite)
MAX_EPOCH = 7_258_118_400
MIN_FPS = 0.01

#: an 8×8 grey PNG, base64: the example's frames
GREY_PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAJElEQVQIHW3BAQEAAAABIG72f4gDqshT5CnyFHmKPEWeIk+RZ6jRCH"
    "nE23/uAAAAAElFTkSuQmCC"
)


class AnalyzeRequest(RequestBody):
    """JSON form: ``frames`` are base64 JPEG/PNG (a ``data:image/...;base64,`` prefix is fine)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"camera": "overpass", "frames": [GREY_PNG] * 2}]})

    camera: str = Field(pattern=CAMERA_ID.pattern, examples=["overpass"])
    frames: list[str] = Field(min_length=1)
    timestamps: list[Annotated[float, Field(ge=0, le=MAX_EPOCH)]] | None = Field(
        default=None, description="epoch seconds of each frame, in order (1970–2200)"
    )
    fps: float | None = Field(default=None, ge=MIN_FPS, le=1000)


#: the multipart form, a named schema (a generated client makes a form model of it)
VIDEO_FORM = {
    "type": "object",
    "required": ["camera"],
    "description": "image files as 'frames', or one video file as 'clip' (one of the two: both is a 422)",
    "properties": {
        "camera": {"type": "string", "pattern": CAMERA_ID.pattern},
        "frames": {"type": "array", "items": {"type": "string", "format": "binary"}, "minItems": 1},
        "clip": {"type": "string", "format": "binary"},
        "fps": {"type": "number", "minimum": MIN_FPS, "maximum": 1000},
        "timestamps": {
            "type": "string",
            "pattern": r"^ *[0-9]+(\.[0-9]+)? *(, *[0-9]+(\.[0-9]+)? *)*$",
            "description": "comma-separated epoch seconds",
        },
    },
}
#: the route reads its body itself (JSON or multipart); both shapes are published for /docs and clients
OPENAPI_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/AnalyzeRequest"}},
            "multipart/form-data": {"schema": {"$ref": "#/components/schemas/VideoForm"}},
        },
    }
}
#: the schemas OPENAPI_BODY names (serving.openapi.publish adds them)
SCHEMAS = {"AnalyzeRequest": AnalyzeRequest.model_json_schema(), "VideoForm": VIDEO_FORM}


def video_router(video: VideoShards, config: VideoConfig | None = None, replica: Replica | None = None) -> APIRouter:
    """``video`` is the video deployment's handle, a list of them (one per shard), or ``InProcessVideo``
    without Ray; with a ``replica``, ``/v1/video/events`` sends what the analytics raised to its event engine."""
    config = config or VideoConfig()
    cameras = load_cameras(config.cameras_file)
    decoder = ImageDecoder(max_pixels=config.max_pixels)
    forwarder = FrameForwarder(video)
    router = APIRouter(tags=["Video analytics"])

    async def analysed(request: Request) -> tuple[str, VideoAnalysis]:
        """The request's clip of a configured camera, analysed by that camera's video shard."""
        clip = await read_clip(request, config, decoder)
        if clip.camera not in cameras:
            raise AssetNotFound(f"unknown camera {clip.camera!r}; configured cameras: {sorted(cameras)}")
        return clip.camera, await forwarder.forward(clip)

    @router.post(
        "/v1/video/analyze",
        openapi_extra=OPENAPI_BODY,
        response_model=VideoAnalysisAnswer,
        responses=errors(404, 422, 503),
    )
    async def analyze_video(request: Request) -> dict[str, object]:
        """Detections, track IDs, zone counts and events for frames of one camera, in order.

        JSON: ``{"camera": "overpass", "frames": [base64, ...], "timestamps": [epoch s, ...]?, "fps": 10?}``.
        Multipart: field ``camera``, files ``frames`` (one or more images) or one file ``clip`` (a short
        video), optional fields ``fps`` and ``timestamps`` (comma-separated)."""
        return dict((await analysed(request))[1])

    if replica is not None:

        @router.post(
            "/v1/video/events",
            name="video_events",
            tags=["Event engine"],
            openapi_extra=OPENAPI_BODY,
            response_model=VideoEvents,
            responses=errors(404, 422, 503),
        )
        async def events(
            request: Request, area: Annotated[str | None, Query(max_length=50)] = None
        ) -> dict[str, object]:
            """The same input as ``/v1/video/analyze`` (JSON or multipart); ``?area=南村镇`` places the camera for
            dispatch (else city-wide). Returns the events the video rules raised, each with its category,
            departments, priority and explanation, and the analysis they came from (counts per frame)."""
            camera, analysis = await analysed(request)
            # in a thread: the rule timers may be the shared event state's, reached by a blocking call
            found = await asyncio.to_thread(video_events, replica.engine, analysis, area)
            frames = [{"index": f["index"], "t": f["t"], "counts": f["counts"]} for f in analysis["frames"]]
            return {"camera": camera, "events": found, "frames": frames, "crossings": analysis["crossings"]}

    return router


class FrameForwarder:
    """Hands a request's clip to the video shard of its camera, one Ray call per request, concurrently: batching
    happens there, across the requests of that shard's cameras. (Coalescing requests here as well was measured
    slower: ``@serve.batch`` forms a batch on its timer and queues it, so one slow hop held every request behind
    it.) ``video`` is one handle or a list of them, one per shard."""

    def __init__(self, video: VideoShards) -> None:
        self.shards: list[VideoHandle] = list(video) if isinstance(video, list | tuple) else [video]

    async def forward(self, clip: FrameClip) -> VideoAnalysis:
        video = self.shards[camera_shard(clip.camera, len(self.shards))]
        try:
            (result,) = await video.analyze_many.remote([clip])
        except Exception as exc:  # a Ray task error carries the deployment's own error as its cause
            cause = getattr(exc, "cause", None)
            raise (cause if isinstance(cause, CitymindError) else exc) from None
        if isinstance(result, BaseException):
            raise result
        return {**result}


async def read_clip(request: Request, config: VideoConfig, decoder: ImageDecoder) -> FrameClip:
    kind = request.headers.get("content-type", "")
    if kind.startswith("multipart/form-data"):
        camera, frames, timestamps, fps = await _read_form(request, config, decoder)
    elif kind.startswith("application/json") or not kind:
        body = _parse_json(await request.body())
        camera, timestamps, fps = body.camera, body.timestamps, body.fps
        _check_count(len(body.frames), config)
        frames = [_checked(decoder, f, i) for i, f in enumerate(body.frames)]
    else:
        raise ValidationError(f"content-type {kind!r} is not accepted; send application/json or multipart/form-data")
    check_camera_id(camera)
    _check_timestamps(timestamps, len(frames))
    return FrameClip(camera, frames, timestamps, fps)


async def _read_form(
    request: Request, config: VideoConfig, decoder: ImageDecoder
) -> tuple[str, list[Frame], list[float] | None, float | None]:
    form = await request.form(max_files=config.max_frames + 1, max_fields=16)
    camera = str(form.get("camera") or "")
    if not camera:
        raise ValidationError("multipart field 'camera' is missing", location="camera")
    uploads = [f for f in form.getlist("frames") if isinstance(f, UploadFile)]
    clip = form.get("clip")
    if bool(uploads) == isinstance(clip, UploadFile):
        raise Unprocessable("send image files as 'frames' or one video file as 'clip' (exactly one of them)")
    fps = _float(form.get("fps"), "fps") if form.get("fps") else None
    if uploads:
        _check_count(len(uploads), config)
        frames: list[Frame] = [_checked(decoder, await f.read(), i) for i, f in enumerate(uploads)]
    else:
        from models.video.clip import read_video

        assert isinstance(clip, UploadFile)
        data = await clip.read()
        frames, clip_fps = await asyncio.to_thread(read_video, data, config.max_frames, config.max_pixels)
        fps = fps or clip_fps
    stamps = form.get("timestamps")
    timestamps = [_float(s, "timestamps") for s in str(stamps).split(",")] if stamps else None
    return camera, frames, timestamps, fps


def _parse_json(raw: bytes) -> AnalyzeRequest:
    from fastapi.exceptions import RequestValidationError
    from pydantic import ValidationError as SchemaError

    try:
        return AnalyzeRequest.model_validate_json(raw or b"{}")
    except SchemaError as exc:
        raise RequestValidationError(exc.errors()) from None


def _checked(decoder: ImageDecoder, image: str | bytes, index: int) -> bytes:
    if not image:
        raise Unprocessable("the frame is empty (0 bytes); send JPEG or PNG data", location=f"frames[{index}]")
    try:
        return decoder.encoded(image)
    except ValidationError as exc:  # well formed, but not an image this gateway decodes
        raise Unprocessable(str(exc), location=f"frames[{index}]") from None


def _check_count(n: int, config: VideoConfig) -> None:
    if n > config.max_frames:
        raise ValidationError(f"{n} frames in one request; the limit is {config.max_frames}. Split the clip.")


def _check_timestamps(timestamps: list[float] | None, n: int) -> None:
    if timestamps is None:
        return
    if len(timestamps) != n:
        raise Unprocessable(f"{len(timestamps)} timestamps for {n} frames", location="timestamps")
    if any(not 0 <= t <= MAX_EPOCH for t in timestamps) or any(b < a for a, b in itertools.pairwise(timestamps)):
        raise Unprocessable(
            "timestamps must be epoch seconds between 1970 and 2200, in order (not decreasing)", location="timestamps"
        )


def _float(value: object, name: str) -> float:
    try:
        out = float(str(value))
    except ValueError:
        raise ValidationError(f"{value!r} is not a number", location=name) from None
    if not math.isfinite(out) or (name == "fps" and not MIN_FPS <= out <= 1000):
        raise ValidationError(f"{value!r} is out of range", location=name)
    return out


class InProcessVideo:
    """The deployment's interface without Ray (``video.analyze_many.remote(clips)``), for tests and a plain
    uvicorn."""

    def __init__(self, analyzer: VideoAnalyzer) -> None:
        self.analyze_many = _Remote(analyzer.analyze_many)


class _Remote:
    def __init__(self, method: Callable[[list[FrameClip]], Awaitable[list[VideoAnalysis | BaseException]]]) -> None:
        self.method = method

    def remote(self, clips: list[FrameClip], /) -> Awaitable[list[VideoAnalysis | BaseException]]:
        return self.method(clips)
