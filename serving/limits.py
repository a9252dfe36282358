"""Request limits of the gateway (documented in docs/serving.md)."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from models.served import MAX_TEXT_CHARS

__all__ = ["MAX_BODY_BYTES", "MAX_TEXTS", "MAX_TEXT_CHARS", "BodySizeLimit"]

MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_TEXTS = 256


class BodySizeLimit:
    """ASGI middleware: 413 before reading a body whose Content-Length exceeds ``max_bytes``.

    Plain ASGI rather than ``@app.middleware("http")``: Starlette's BaseHTTPMiddleware costs ~0.2 ms a request,
    a tenth of the fast path."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            length = dict(scope.get("headers") or []).get(b"content-length")
            if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
                message = {
                    "error": f"request body of {length.decode(errors='replace')} bytes exceeds the limit "
                    f"of {self.max_bytes} bytes; split the batch."
                }
                body = json.dumps(message).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 413,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
