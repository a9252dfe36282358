"""Every error leaves the gateway as ``{"error": "..."}`` with a 4xx that says what was wrong; never a 500
for bad input."""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import Send

from citymind.errors import (
    Conflict,
    EventNotFound,
    EventStoreUnavailable,
    ModelTimeout,
    RegistryAccessDenied,
    Unprocessable,
)
from registry import AliasError, AssetNotFound, CitymindError, InvalidAsset, RegistryUnavailable, ValidationError

log = logging.getLogger("citymind.serving")

STATUS = [
    (AssetNotFound, 404),
    (AliasError, 404),
    (EventNotFound, 404),
    (Conflict, 409),
    (Unprocessable, 422),
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
        return JSONAnswer({"error": describe(exc)}, status_code=422 if well_formed(exc) else 400)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONAnswer({"error": _routing(request, exc)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def fault(request: Request, exc: Exception) -> JSONResponse:
        """A fault of the gateway's own: still JSON, with an id to find its traceback in the replica's log."""
        incident = uuid.uuid4().hex[:12]
        log.error("incident %s: %s %s failed", incident, request.method, request.url.path, exc_info=exc)
        message = f"internal error {incident} on {request.url.path}; the gateway's log has its details"
        return JSONAnswer({"error": message}, status_code=500)


def _routing(request: Request, exc: HTTPException) -> str:
    """The router's own bare "Not Found" and "Method Not Allowed" said with what was asked and where to look."""
    asked = f"{request.method} {request.url.path[:200]}"
    if exc.status_code == 404 and exc.detail == "Not Found":
        return f"no endpoint {asked}: the gateway's endpoints are listed at /openapi.json (and /docs)"
    if exc.status_code == 405 and exc.detail == "Method Not Allowed":
        return f"{asked}: this endpoint takes {(exc.headers or {}).get('Allow', 'other methods')}"
    return str(exc.detail)


#: the start of an ISO 8601 date (``2026-11-30``), which requests' times must have
ISO_DAY = re.compile(r"^\d{4}-\d\d-\d\d")


def describe(exc: RequestValidationError) -> str:
    """Pydantic's errors as one line per field, where a union's branches (``list[str] | None``) do not show: the
    location reads ``texts.1``, and "should be None" is left out when the value failed another branch too."""
    found: dict[str, str] = {}
    errs = exc.errors()
    for err in [e for e in errs if e.get("type") != "none_required"] or errs:
        if err.get("type") == "json_invalid":
            return f"request body is not valid JSON ({err.get('ctx', {}).get('error', 'parse error')})"
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body" and not _branch(p)) or "body"
        if where == "body" and isinstance(err.get("input"), (str, bytes)):  # JSON sent as another content type
            return "the body is not a JSON object; send JSON with the header Content-Type: application/json"
        found.setdefault(where, _message(err))
    return "; ".join(f"{where}: {msg}" for where, msg in list(found.items())[:5]) or "invalid request"


#: pydantic's errors for a value of the right form that names nothing real: 2026-02-30
_NO_SUCH_DAY = {"datetime_from_date_parsing", "date_from_datetime_parsing", "datetime_parsing", "date_parsing"}


def well_formed(exc: RequestValidationError) -> bool:
    """Every error is a date or time of the right form that does not exist (Feb 30, 25:00): the schema's form is
    met, so the request is well formed and answered 422 like other values that do not fit."""
    errs = exc.errors()
    return bool(errs) and all(
        e.get("type") in _NO_SUCH_DAY and isinstance(e.get("input"), str) and ISO_DAY.match(e["input"]) for e in errs
    )


def _message(err: Any) -> str:
    """Pydantic's message, except that a pattern is said in words where the gateway has words for it."""
    if err.get("type") == "string_pattern_mismatch":
        from serving.requests import PATTERN_MEANINGS  # requests → limits → errors: imported when needed

        meaning = PATTERN_MEANINGS.get(err.get("ctx", {}).get("pattern", ""))
        if meaning:
            return f"{meaning} (got {str(err.get('input'))[:80]!r})"
    return str(err.get("msg", "invalid")).removeprefix("Value error, ")


def _branch(part: object) -> bool:
    """A union branch's tag in an error location (``none``, ``list[constrained-str]``, ``function-after[...]``)."""
    return isinstance(part, str) and (
        "[" in part or part in _TAGS or part.startswith("constrained-") or part[:1].isupper()  # a model: Report
    )


_TAGS = {"none", "str", "int", "float", "bool", "datetime", "list", "dict", "lax-or-strict"}


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
