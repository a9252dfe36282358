"""Open Inference Protocol (KServe v2) REST endpoints over the models of a ``ModelHub``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

import citymind
from registry import ValidationError
from serving.model_hub import ModelHub
from serving.oip import BODY_DOC, InferenceRequest, encode_output, read_inference_request


def oip_router(hub: ModelHub) -> APIRouter:
    router = APIRouter(tags=["Open Inference Protocol v2"])

    @router.get("/v2/health/live")
    def live() -> dict[str, bool]:
        return {"live": True}

    @router.get("/v2/health/ready")
    def ready() -> dict[str, Any]:
        return {"ready": bool(hub.served()), "models": {n: m.version for n, m in hub.served().items()}}

    @router.get("/v2")
    def server_metadata() -> dict[str, Any]:
        return {"name": "citymind", "version": citymind.__version__, "extensions": []}

    @router.get("/v2/models/{name}")
    def model_metadata(name: str) -> dict[str, Any]:
        return hub.get(name).metadata()

    @router.get("/v2/models/{name}/versions/{version}")
    def version_metadata(name: str, version: str) -> dict[str, Any]:
        return hub.get(name, _version(version)).metadata()

    @router.get("/v2/models/{name}/ready")
    def model_ready(name: str) -> dict[str, Any]:
        model = hub.get(name)
        return {"name": name, "ready": True, "version": str(model.version)}

    @router.get("/v2/models/{name}/versions/{version}/ready")
    def version_ready(name: str, version: str) -> dict[str, Any]:
        hub.get(name, _version(version))
        return {"name": name, "ready": True, "version": version}

    @router.post("/v2/models/{name}/infer", openapi_extra=BODY_DOC)
    async def infer(name: str, request: Request) -> dict[str, Any]:
        return _infer(hub, name, None, await read_inference_request(request))

    @router.post("/v2/models/{name}/versions/{version}/infer", openapi_extra=BODY_DOC)
    async def infer_version(name: str, version: str, request: Request) -> dict[str, Any]:
        return _infer(hub, name, _version(version), await read_inference_request(request))

    return router


def _infer(hub: ModelHub, name: str, version: int | None, body: InferenceRequest) -> dict[str, Any]:
    model = hub.get(name, version)
    wanted = [o.name for o in body.outputs] if body.outputs else None
    values = model.infer(body.inputs, wanted)
    response: dict[str, Any] = {
        "model_name": model.name,
        "model_version": str(model.version),
        "outputs": [encode_output(k, v) for k, v in values.items()],
    }
    if body.id is not None:
        response["id"] = body.id
    return response


def _version(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise ValidationError(f"model version must be a positive integer, got {text!r}.", location="path")
    return int(text)
