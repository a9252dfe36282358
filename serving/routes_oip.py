"""Open Inference Protocol (KServe v2) REST endpoints over the models of a ``ModelHub``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

import citymind
from citymind.api import InferenceAnswer, ModelMetadata, ModelReady, ServerMetadata
from registry import ValidationError
from serving.model_hub import ModelHub
from serving.oip import BODY_DOC, InferenceRequest, binary_outputs, encode_response, read_inference_request
from serving.oip import infer as run_inference
from serving.oip import model_metadata as oip_metadata
from serving.openapi import errors
from serving.replica import Replica
from serving.requests import NAME_PATTERN, VERSION_PATTERN

#: OIP extensions the gateway implements (``GET /v2`` lists them; clients such as tritonclient check).
EXTENSIONS = ["binary_tensor_data"]
ModelName = Annotated[str, Path(max_length=100, pattern=NAME_PATTERN, examples=["event-classifier"])]
#: OIP versions are strings; this gateway's are the registry's positive integers
VersionText = Annotated[str, Path(pattern=VERSION_PATTERN, examples=["1"])]
INFER_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "model": InferenceAnswer,
        "description": "the outputs: JSON, or (binary_data_output) a JSON header then the tensors' bytes",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    },
    **errors(404, 409, 422, 503),
}


class Live(BaseModel):
    live: bool


class Ready(BaseModel):
    ready: bool
    models: dict[str, int] = Field(description="the models this replica serves and their versions")


def oip_router(replica: Replica) -> APIRouter:
    router = APIRouter(tags=["Open Inference Protocol v2"])
    hub = replica.hub

    @router.get("/v2/health/live", response_model=Live)
    def live() -> dict[str, bool]:
        return {"live": True}

    @router.get(
        "/v2/health/ready",
        response_model=Ready,
        responses={503: {"model": Ready, "description": "no model is loaded yet"}},
    )
    def ready() -> JSONResponse:
        """200 once the replica serves at least one model, 503 before (the OIP wants non-200 when not ready)."""
        served = hub.served()
        body = {"ready": bool(served), "models": {n: m.version for n, m in served.items()}}
        return JSONResponse(body, status_code=200 if served else 503)

    @router.get("/v2", response_model=ServerMetadata)
    def server_metadata() -> dict[str, object]:
        return {"name": "citymind", "version": citymind.__version__, "extensions": EXTENSIONS}

    @router.get("/v2/models/{name}", response_model=ModelMetadata, responses=errors(404, 409, 503))
    def model_metadata(name: ModelName) -> dict[str, object]:
        return oip_metadata(hub.get(name))

    @router.get("/v2/models/{name}/versions/{version}", response_model=ModelMetadata, responses=errors(404, 409, 503))
    def version_metadata(name: ModelName, version: VersionText) -> dict[str, object]:
        return oip_metadata(hub.get(name, _version(version)))

    @router.get("/v2/models/{name}/ready", response_model=ModelReady, responses=errors(404, 409, 503))
    def model_ready(name: ModelName) -> dict[str, object]:
        model = hub.get(name)
        return {"name": name, "ready": True, "version": str(model.version)}

    @router.get(
        "/v2/models/{name}/versions/{version}/ready", response_model=ModelReady, responses=errors(404, 409, 503)
    )
    def version_ready(name: ModelName, version: VersionText) -> dict[str, object]:
        hub.get(name, _version(version))
        return {"name": name, "ready": True, "version": version}

    @router.post("/v2/models/{name}/infer", openapi_extra=BODY_DOC, responses=INFER_RESPONSES)
    async def infer(name: ModelName, request: Request) -> Response:
        return await replica.off_loop(_infer, hub, name, None, await read_inference_request(request))

    @router.post("/v2/models/{name}/versions/{version}/infer", openapi_extra=BODY_DOC, responses=INFER_RESPONSES)
    async def infer_version(name: ModelName, version: VersionText, request: Request) -> Response:
        return await replica.off_loop(_infer, hub, name, _version(version), await read_inference_request(request))

    return router


def _infer(hub: ModelHub, name: str, version: int | None, body: InferenceRequest) -> Response:
    model = hub.get(name, version)
    wanted = [o.name for o in body.outputs] if body.outputs else None
    values = run_inference(model, body.inputs, wanted)
    head: dict[str, object] = {"model_name": model.name, "model_version": str(model.version)}
    if body.id is not None:
        head["id"] = body.id
    content, header_length = encode_response(head, values, binary_outputs(body, list(values)))
    if header_length is None:
        return Response(content, media_type="application/json")
    headers = {"Inference-Header-Content-Length": str(header_length)}
    return Response(content, media_type="application/octet-stream", headers=headers)


def _version(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise ValidationError(f"model version must be a positive integer, got {text!r}.", location="path")
    return int(text)
