"""The one exception tree of citymind. Every library raises these; the gateway maps them to HTTP.

    CitymindError
    ├── RegistryError
    │   ├── UnknownKind          (ValueError)   kind is not one of the five libraries
    │   ├── AssetNotFound        (KeyError)     no such asset / version / alias
    │   ├── InvalidAsset         (ValueError)   the artifact or its metadata is unusable
    │   ├── AliasError           (ValueError)   alias points nowhere / nothing to roll back to
    │   ├── RegistryUnavailable  (RuntimeError) the MLflow store cannot be reached
    │   └── RegistryAccessDenied (PermissionError) the MLflow server refused this user (its authentication)
    ├── ValidationError          (ValueError)   user input (rules, requests, data) is malformed
    │   └── UnknownTerm                         a category or department not in the knowledge (422)
    ├── EventNotFound            (KeyError)     no recorded event with that id (404)
    ├── InvalidTransition                       an outcome the event's status does not allow (409)
    ├── EventStoreUnavailable    (RuntimeError) the event records' database cannot be reached (503)
    ├── ModelTimeout             (TimeoutError) a model run passed its time bound and was stopped
    ├── QuotaExceeded            (RuntimeError) a key's request rate or concurrency quota is used up
    └── MissingExtra             (ImportError)  this needs packages a serving install leaves out

Messages say what was wrong, what was received and what to do next.
"""

from __future__ import annotations


class CitymindError(Exception):
    """Root of every error citymind raises on purpose."""

    def __str__(self) -> str:  # KeyError subclasses would otherwise repr() their message
        return str(self.args[0]) if self.args else self.__class__.__name__


class RegistryError(CitymindError):
    """Something about the registry of the five libraries."""

    def __init__(
        self, message: str, *, kind: str | None = None, name: str | None = None, version: str | None = None
    ) -> None:
        super().__init__(message)
        self.kind, self.name, self.version = kind, name, version


class UnknownKind(RegistryError, ValueError):
    pass


class AssetNotFound(RegistryError, KeyError):
    pass


class InvalidAsset(RegistryError, ValueError):
    pass


class AliasError(RegistryError, ValueError):
    pass


class RegistryUnavailable(RegistryError, RuntimeError):
    pass


class RegistryAccessDenied(RegistryError, PermissionError):
    pass


class ValidationError(CitymindError, ValueError):
    """Malformed user input; ``location`` is ``file:line:col`` or a JSON path when known."""

    def __init__(self, message: str, *, location: str | None = None) -> None:
        super().__init__(f"{location}: {message}" if location else message)
        self.location = location


class Unprocessable(ValidationError):
    """Well-formed input that does not fit what is served (a component's input, a model's window, the knowledge's
    terms): HTTP 422, where malformed input is a 400."""


class UnknownTerm(Unprocessable):
    """A category or department the current knowledge snapshot does not name; the message lists close ones."""


class EventNotFound(CitymindError, KeyError):
    """No recorded event has this id (never recorded, or purged after ``retention_days``)."""


class Conflict(CitymindError):
    """The request contradicts what is recorded (an outcome id already used for another outcome): a 409."""


class InvalidTransition(Conflict):
    """An outcome the event's status does not allow now; ``allowed`` lists the ones it does."""

    def __init__(self, message: str, *, allowed: list[str]) -> None:
        super().__init__(message)
        self.allowed = allowed


class EventStoreUnavailable(CitymindError, RuntimeError):
    """The event records' database did not answer; nothing was answered without being recorded."""


class ModelTimeout(CitymindError, TimeoutError):
    """A model run took longer than its bound (``CITYMIND_MODEL_RUN_TIMEOUT_S``) and onnxruntime stopped it."""


class QuotaExceeded(CitymindError, RuntimeError):
    """A key used up its role's rate or concurrency quota; ``retry_after`` is in seconds."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class MissingExtra(CitymindError, ImportError):
    """A command or function needs packages of an extra this install does not have (``citymind[train]``)."""

    def __init__(self, message: str, *, extra: str, missing: tuple[str, ...]) -> None:
        super().__init__(message)
        self.extra, self.missing = extra, missing
