"""What request bodies share: text that must have words in it, and "one item or a batch" bodies — each said in
the OpenAPI schema as well as checked, so the schema a client (or a fuzzer) reads is exactly what is accepted."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from events.records.query import CURSOR_PATTERN
from models.video.camera import CAMERA_ID
from serving.errors import ISO_DAY
from serving.limits import MAX_TEXT_CHARS, MAX_TEXTS

T = TypeVar("T")

#: a character that is not whitespace in any of the regex dialects that read it: Python's and Rust's ``\s`` (which
#: pydantic checks) include U+0085, JavaScript's (JSON Schema's, a client's) U+FEFF
WORDS_PATTERN = r"[^\s\u0085\ufeff]"

#: a citizen's words: not empty, not only whitespace, at most MAX_TEXT_CHARS characters
Words = Annotated[str, Field(min_length=1, max_length=MAX_TEXT_CHARS, pattern=WORDS_PATTERN)]


class RequestBody(BaseModel):
    """A request body, or an object in one: a field it does not have is refused (400) with the fields it has,
    never dropped (a misspelt ``report_id`` for ``id`` would lose the report's id, and with it the duplicate
    check); the schema says so too (``additionalProperties: false``)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _known_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            known = [f.alias or name for name, f in cls.model_fields.items()]
            unknown = [str(k) for k in data if k not in known]
            if unknown:
                raise ValueError(f"{unknown[0][:60]!r} is not a field here; the fields are {', '.join(known)}")
        return data


def one_of(single: str, batch: str, *examples: dict[str, Any]) -> dict[str, Any]:
    """``json_schema_extra`` of a body that takes exactly one of ``single`` and ``batch``, with its examples."""
    return {"oneOf": [{"required": [single]}, {"required": [batch]}], "examples": list(examples)}


def check_one_of(body: BaseModel, single: str, batch: str, what: str) -> None:
    """ValueError unless exactly one of the two fields is given, and not as ``null``."""
    given = [name for name in (single, batch) if getattr(body, name) is not None]
    nulls = [name for name in (single, batch) if name in body.model_fields_set and getattr(body, name) is None]
    if len(given) != 1 or nulls:
        raise ValueError(f"give exactly one of {what} (and not null)")


#: the names of registered assets a request may give (letters, digits, CJK, '_', '-', '.', inner spaces): a subset
#: of what the registry takes (registry/refs.py), spelled without ``\w``, which JSON Schema reads as ASCII only
NAME_PATTERN = r"^[A-Za-z0-9_一-鿿]([A-Za-z0-9_一-鿿.\- ]{0,98}[A-Za-z0-9_一-鿿.\-])?$"
AssetName = Annotated[str, Field(max_length=100, pattern=NAME_PATTERN, examples=["event-classifier"])]

#: a version in a path: a positive integer, in ASCII digits ('¹'.isdigit() is True, yet int('¹') fails)
VERSION_PATTERN = r"^[1-9][0-9]{0,8}$"
#: the largest version number a request may name (what VERSION_PATTERN takes; MLflow stores it as an integer)
MAX_VERSION = 999_999_999

#: what a pattern asks, in words, for the 400 of a value that does not match it
PATTERN_MEANINGS = {
    WORDS_PATTERN: "must have words in it, not be empty or only whitespace",
    NAME_PATTERN: "must be an asset name: letters, digits, Chinese characters, '_', '-', '.' and inner spaces",
    CAMERA_ID.pattern: "must be a camera id: 1-64 letters, digits, '.', '_' or '-', e.g. 'cam-07'",
    CURSOR_PATTERN: "must be the 'next' of the page before, as it was given",
    VERSION_PATTERN: "must be a version: a positive integer",
}

#: a batch: 1 to MAX_TEXTS items
Batch = Annotated[list[T], Field(min_length=1, max_length=MAX_TEXTS)]


def _iso_only(value: object) -> object:
    """A time is ISO 8601 text, as the schema says (pydantic alone would also take epoch numbers and '0.5')."""
    if isinstance(value, datetime) or (isinstance(value, str) and ISO_DAY.match(value)):
        return value
    raise ValueError("give an ISO 8601 date or date and time, e.g. 2026-11-30 or 2026-11-30T08:00:00+08:00")


#: a time in a request: ISO 8601 only (a day, or a day and time; city local time unless it says)
Moment = Annotated[datetime, BeforeValidator(_iso_only)]
