"""Request limits of the gateway (documented in docs/serving.md)."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from models.served import MAX_TEXT_CHARS
from serving.errors import send_error

__all__ = ["MAX_BODY_BYTES", "MAX_TEXTS", "MAX_TEXT_CHARS", "BodySizeLimit"]

MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_TEXTS = 256


class _TooLarge(HTTPException):
    """Raised by the counting ``receive`` when a streamed body passes the limit; FastAPI passes an
    ``HTTPException`` raised while reading a body on, and the app's handler answers it: 413."""


class BodySizeLimit:
    """ASGI middleware: 413 for a body over ``max_bytes``: before reading it when ``Content-Length`` says so, and
    while it streams otherwise (``Transfer-Encoding: chunked`` has no length: the bytes are counted as they arrive,
    so no route ever parses more than ``max_bytes``).

    Plain ASGI rather than ``@app.middleware("http")``: Starlette's BaseHTTPMiddleware costs ~0.2 ms a request,
    a tenth of the fast path."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        repeated = _repeated(scope.get("query_string", b""))
        if repeated:
            await send_error(send, 400, f"query parameter {repeated!r} is given more than once; give it once")
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await send_error(send, 413, self._message(f"request body of {length.decode(errors='replace')} bytes"))
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge(413, self._message(f"request body of more than {self.max_bytes} bytes (streamed)"))
            return message

        await self.app(scope, counted, send)

    def _message(self, what: str) -> str:
        return f"{what} exceeds the limit of {self.max_bytes} bytes; split the batch."


def _repeated(query: bytes) -> str | None:
    """The first query parameter named twice (no route takes a list in its query: ``?area=a&area=b`` would
    otherwise be read as ``b`` alone)."""
    if b"&" not in query:
        return None
    seen: set[str] = set()
    for name, _ in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if name in seen:
            return name
        seen.add(name)
    return None
