"""Request limits of the gateway (documented in docs/serving.md)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_TEXTS = 256
MAX_TEXT_CHARS = 5000


async def limit_body_size(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """413 before reading a body larger than ``MAX_BODY_BYTES`` (by Content-Length)."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
        return JSONResponse(
            {"error": f"request body of {length} bytes exceeds the limit of {MAX_BODY_BYTES} bytes; split the batch."},
            status_code=413,
        )
    return await call_next(request)
