"""Every error leaves the gateway as ``{"error": "..."}`` with a 4xx that says what was wrong; never a 500
for bad input."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import Send

from citymind.errors import (
    EventNotFound,
    EventStoreUnavailable,
    InvalidTransition,
    ModelTimeout,
    RegistryAccessDenied,
    UnknownTerm,
)
from registry import AliasError, AssetNotFound, CitymindError, InvalidAsset, RegistryUnavailable, ValidationError

log = logging.getLogger("citymind.serving")

STATUS = [
    (AssetNotFound, 404),
    (AliasError, 404),
    (EventNotFound, 404),
    (InvalidTransition, 409),
    (UnknownTerm, 422),
    (ValidationError, 400),
    (InvalidAsset, 409),
    (RegistryUnavailable, 503),
    (RegistryAccessDenied, 503),
    (ModelTimeout, 503),
    (EventStoreUnavailable, 503),
    (CitymindError, 400),
]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CitymindError)
    async def citymind_error(request: Request, exc: CitymindError) -> JSONResponse:
        status = next(code for kind, code in STATUS if isinstance(exc, kind))
        return JSONAnswer({"error": str(exc)}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONAnswer({"error": describe(exc)}, status_code=400)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONAnswer({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)


def describe(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        if err.get("type") == "json_invalid":
            parts.append(f"request body is not valid JSON ({err.get('ctx', {}).get('error', 'parse error')})")
        else:
            parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


class JSONAnswer(JSONResponse):
    """The gateway's JSON: what Starlette writes, except that text Python holds but UTF-8 cannot carry (a lone
    surrogate a caller sent escaped, ``"\\ud800"``) is written as U+FFFD instead of failing the answer with a 500."""

    def render(self, content: object) -> bytes:
        return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode(
            "utf-8", "replace"
        )


async def send_error(send: Send, status: int, message: str, headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    """``{"error": message}`` with ``status`` from an ASGI middleware (before the app, so without its handlers)."""
    body = json.dumps({"error": message}).encode()
    start = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers]
    await send({"type": "http.response.start", "status": status, "headers": start})
    await send({"type": "http.response.body", "body": body})
