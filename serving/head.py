"""HEAD on every GET endpoint (``curl -I``, uptime monitors, load-balancer health checks): FastAPI's GET routes
answer HEAD with 405, Starlette's own routes would not."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    """ASGI middleware: a HEAD request is served as the GET it stands for, and the answer goes out with its status
    and headers (``Content-Length`` too) but without a body. Plain ASGI, like ``BodySizeLimit``: no cost on other
    methods."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # the body's parts are dropped; the last one ends the answer
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)
