"""Every gateway operation as a :class:`Call`: the HTTP request, the answer's model, and whether it is safe to send
again. The sync and async clients send the same calls (``citymind.client.Client`` / ``AsyncClient``)."""

from __future__ import annotations

import base64
import functools
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import TypeAdapter

T = TypeVar("T")


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request and how to read its answer. ``retry`` says whether sending it twice is harmless (reads, pure
    computations, outcomes by their id); a call that is not is still retried when it never reached the gateway
    (a refused connection)."""

    method: str
    path: str
    answer: Any  # the answer's type: a model, ``list[Model]`` or ``dict``
    json: Any = None
    params: dict[str, Any] | None = None
    data: dict[str, Any] | None = None
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    retry: bool = True
    accept: tuple[int, ...] = ()  # error statuses whose body is the answer (health: 503 says what is down)

    def read(self, payload: Any) -> T:
        return _adapter(self.answer).validate_python(payload)


@functools.cache
def _adapter(answer: Any) -> TypeAdapter[Any]:
    return TypeAdapter(answer)


def given(**values: Any) -> dict[str, Any]:
    """The values that are not None, times as ISO 8601 (a query or body leaves the rest to the gateway)."""
    out = {}
    for name, value in values.items():
        if value is None:
            continue
        out[name] = value.isoformat() if isinstance(value, (datetime, date)) else value
    return out


def one_or_batch(single: str, batch: str, value: Any) -> dict[str, Any]:
    """``{"text": ...}`` for one item, ``{"texts": [...]}`` for a list."""
    return {batch: list(value)} if isinstance(value, (list, tuple)) else {single: value}


def frames_body(camera: str, frames: list[bytes], timestamps: list[float] | None, fps: float | None) -> dict[str, Any]:
    """A video request as JSON: each JPEG/PNG frame base64."""
    encoded = [base64.b64encode(f).decode("ascii") for f in frames]
    return given(camera=camera, frames=encoded, timestamps=timestamps, fps=fps)


Kind = Literal["model", "algorithm", "rule", "knowledge", "component"]
