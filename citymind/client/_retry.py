"""When a call is sent again, and the error a failed answer becomes."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import httpx

from citymind.client._calls import Call


class GatewayError(Exception):
    """An answer of 400 or more: ``status`` and the gateway's ``message`` (its ``{"error": ...}``)."""

    def __init__(self, status: int, message: str, method: str = "", path: str = "") -> None:
        super().__init__(f"{status} from {method} {path}: {message}".replace("  ", " "))
        self.status, self.message = status, message


class BadRequest(GatewayError):
    """400: the request is malformed; the message names the field."""


class Unauthorized(GatewayError):
    """401: no API key, or not a valid one (``CITYMIND_API_KEY``)."""


class Forbidden(GatewayError):
    """403: the key's role may not do this."""


class NotFound(GatewayError):
    """404: no such model, version, asset, event or camera."""


class Conflict(GatewayError):
    """409: not allowed in the present state (the message names what is)."""


class Unprocessable(GatewayError):
    """422: well formed, but it does not fit what is served."""


class RateLimited(GatewayError):
    """429: the key's quota is used up (retried after ``Retry-After`` while retries last)."""


class Unavailable(GatewayError):
    """5xx: a part cannot serve right now (retried while retries last)."""


ERRORS: dict[int, type[GatewayError]] = {400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound,
                                         409: Conflict, 422: Unprocessable, 429: RateLimited}  # fmt: skip


def error(response: httpx.Response) -> GatewayError:
    try:
        message = str(response.json()["error"])
    except (ValueError, KeyError, TypeError):
        message = response.text[:500] or response.reason_phrase
    kind = ERRORS.get(response.status_code, Unavailable if response.status_code >= 500 else GatewayError)
    return kind(response.status_code, message, response.request.method, response.request.url.path)


@dataclass(frozen=True)
class Retries:
    """``attempts`` in all (1: never again); waits of ``backoff_s`` × 2ⁿ with jitter, at most ``max_wait_s``."""

    attempts: int = 4
    backoff_s: float = 0.2
    max_wait_s: float = 5.0

    def wait(self, attempt: int, response: httpx.Response | None = None) -> float:
        after = response.headers.get("retry-after") if response is not None else None
        if after and after.isdigit():
            return min(float(after), self.max_wait_s)
        return min(self.backoff_s * 2**attempt, self.max_wait_s) * random.uniform(0.5, 1.0)


#: failures where the request never reached the gateway: any call may be sent again
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
#: failures after the request may have reached it: sent again only when the call says it is safe
MAYBE_SENT = (httpx.RemoteProtocolError, httpx.ReadError, httpx.ReadTimeout, httpx.WriteError)


def again(call: Call[Any], response: httpx.Response | None, exc: Exception | None) -> bool:
    """Whether a failed attempt is worth another: a refused connection always; a dropped one, a 502/503/504, a
    429 and a bodiless 500 (Ray's proxy, for a request in flight on a replica that died: docs/reliability.md)
    only for a call that is safe to send twice — except 429 and 503, which the gateway answers before doing
    anything."""
    if exc is not None:
        return isinstance(exc, NOT_SENT) or (call.retry and isinstance(exc, MAYBE_SENT))
    assert response is not None
    status = response.status_code
    if status in call.accept:
        return False
    if status in (429, 503):
        return True
    bodiless_500 = status == 500 and "application/json" not in response.headers.get("content-type", "")
    return call.retry and (status in (502, 504) or bodiless_500)
