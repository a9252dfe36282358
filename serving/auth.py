"""API keys at the gateway: 401 without a valid key, 403 for a key whose role may not do this. Health stays
open (load balancers and Ray probe it); everything else needs a key once keys exist, or whenever the gateway
listens beyond 127.0.0.1."""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Sequence
from urllib.parse import parse_qs

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from citymind.access import AccessDenied, KeysFileError, KeyStore, QuotaBook, allowed, refused
from citymind.errors import QuotaExceeded
from serving.errors import send_error
from serving.limits import MAX_BODY_BYTES

OPEN_PATHS = {"/v2/health/live", "/v2/health/ready", "/v1/health", "/docs", "/redoc", "/openapi.json",
              "/docs/oauth2-redirect"}  # fmt: skip
#: the API documentation's and the console's own files (served from the installed package, never a CDN); the
#: console's page holds no data: everything it shows comes from keyed requests
OPEN_PREFIXES = ("/docs/static/", "/console")
#: POST paths that change what is served, beyond inference
OPERATE_PATHS = {"/v1/models/refresh"}


def is_open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def action_of(method: str, path: str) -> str | None:
    """What a request does, for the role check; None for the open paths."""
    if is_open(path):
        return None
    if path in OPERATE_PATHS:
        return "operate"
    if method == "POST" and path.startswith("/v1/events/") and path.endswith("/outcomes"):
        return "report:outcome"
    if method == "POST" and (written := _registry_write(path)):
        return written
    return "read" if method in ("GET", "HEAD") else "infer"


#: POST paths of a rule author's work on rule files that register nothing
RULE_CHECK_PATHS = {"/v1/rules/check", "/v1/rules/test", "/v1/rules/backtest"}
ALIAS_MOVE = re.compile(r"^/v1/registry/([a-z]+)/[^/]+/aliases/")


def _registry_write(path: str) -> str | None:
    """The grant a POST that works on the registry needs: checking rule files is a rule author's (``backtest``),
    publishing them ``register:rule``, moving an alias of a kind ``register:<kind>``."""
    if path in RULE_CHECK_PATHS:
        return "backtest"
    if path.startswith("/v1/rules/") and path.endswith("/versions"):
        return "register:rule"
    if moved := ALIAS_MOVE.match(path):
        return f"register:{moved.group(1)}"
    return None


def enforced(mode: str, keys: KeyStore, host: str) -> bool:
    if mode == "off":
        return False
    return mode == "on" or keys.active() or host not in ("127.0.0.1", "localhost", "::1")


class ApiKeys:
    """ASGI middleware (plain ASGI: no per-request overhead beyond a header lookup and one SHA-256)."""

    def __init__(
        self,
        app: ASGIApp,
        keys: KeyStore,
        mode: str = "auto",
        host: str = "127.0.0.1",
        quotas: QuotaBook | None = None,
        routes: Sequence[BaseRoute] = (),
    ) -> None:
        self.app, self.keys, self.mode, self.host = app, keys, mode, host
        self.quotas = quotas or QuotaBook()
        self.routes = routes  # a method a path does not take is a 405 whoever asks, not a 401 or 403

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            on = enforced(self.mode, self.keys, self.host)
        except KeysFileError as exc:  # never open because the keys cannot be read; health still answers
            on = True
            if action_of(scope["method"], scope["path"]) is not None:
                await _deny(send, AccessDenied(str(exc), 503))
                return
        if not on:
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state["auth_enforced"] = True
        action = action_of(scope["method"], scope["path"])
        presented = _presented(scope)
        if presented is None and _open311_form(scope):  # an Open311 client sends its key in the form
            presented, receive = await _form_key(receive)
        if action is None:  # an open path: a key sent along still counts (health shows more to a keyed caller)
            if presented:
                with contextlib.suppress(AccessDenied, KeysFileError):
                    state["api_key"] = self.keys.verify(presented).id
        else:
            try:
                key = self.keys.verify(presented)
                if not allowed(key.role, action):
                    raise refused(key, action)
                self.quotas.acquire(key.id, key.role)
            except (AccessDenied, QuotaExceeded) as exc:
                if not_allowed(self.routes, scope):
                    await self.app(scope, receive, send)  # the router answers 405 with an Allow header
                    return
                await _deny(send, exc)
                return
            state["api_key"], state["api_role"] = key.id, key.role
            try:
                await self.app(scope, receive, send)
            finally:
                self.quotas.release(key.id)
            return
        await self.app(scope, receive, send)


def not_allowed(routes: Sequence[BaseRoute], scope: Scope) -> bool:
    """The path is a route's but the method is none of them (checked only for a request about to be refused)."""
    matches = [route.matches(scope)[0] for route in routes]
    return Match.FULL not in matches and Match.PARTIAL in matches


def _presented(scope: Scope) -> str | None:
    headers = dict(scope.get("headers") or [])
    bearer = headers.get(b"authorization", b"").decode(errors="replace")
    if bearer.lower().startswith("bearer "):
        return bearer[7:]
    key = headers.get(b"x-api-key")
    return key.decode(errors="replace") if key else None


#: where Open311 (GeoReport v2) clients send their key as the form field ``api_key``
OPEN311_CREATE = "/open311/v2/requests.json"


def _open311_form(scope: Scope) -> bool:
    if scope["method"] != "POST" or scope["path"] != OPEN311_CREATE:
        return False
    content_type = dict(scope.get("headers") or []).get(b"content-type", b"")
    return content_type.split(b";")[0].strip().lower() == b"application/x-www-form-urlencoded"


async def _form_key(receive: Receive) -> tuple[str | None, Receive]:
    """The form's ``api_key``, and a ``receive`` that gives the app the body again. At most ``MAX_BODY_BYTES`` are
    held: a longer body is passed on unread (the body limit inside answers 413) and has no key."""
    held: list[Message] = []
    size, more = 0, True
    while more and size <= MAX_BODY_BYTES:
        message = await receive()
        held.append(message)
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    key = None
    if not more and size <= MAX_BODY_BYTES:
        body = b"".join(m.get("body", b"") for m in held if m["type"] == "http.request")
        key = next(iter(parse_qs(body.decode("utf-8", "replace")).get("api_key", [])), None)

    async def replay() -> Message:
        return held.pop(0) if held else await receive()

    return key, replay


async def _deny(send: Send, exc: AccessDenied | QuotaExceeded) -> None:
    if isinstance(exc, QuotaExceeded):
        await send_error(send, 429, str(exc), [(b"retry-after", str(max(1, math.ceil(exc.retry_after))).encode())])
    elif exc.status == 401:
        await send_error(send, 401, str(exc), [(b"www-authenticate", b'Bearer realm="citymind"')])
    else:
        await send_error(send, exc.status, str(exc))
