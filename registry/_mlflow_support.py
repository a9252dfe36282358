"""Plumbing between citymind and MLflow: one client per URI, write locks, retries and error mapping."""

from __future__ import annotations

import contextlib
import difflib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from citymind.errors import AssetNotFound, RegistryAccessDenied, RegistryError, RegistryUnavailable

T = TypeVar("T")
_RETRYABLE = ("database is locked", "database table is locked", "unable to open database")
#: what an MLflow server answers when two writers upsert the same row at once (setting one alias): the later writer
#: tries again and updates it
RACED = ("duplicate key value violates unique constraint", "UNIQUE constraint failed")


def write_lock(tracking_uri: str, lock_path: Path | None) -> contextlib.AbstractContextManager[Any]:
    """A reentrant cross-process lock for writers of an embedded sqlite store (a server serialises on its
    own). Keep one per registry: separate ``FileLock`` objects on one path would deadlock each other."""
    if lock_path is None and tracking_uri.startswith("sqlite:///"):
        lock_path = Path(tracking_uri[len("sqlite:///") :] + ".lock")
    if lock_path is None:
        return contextlib.nullcontext()
    from filelock import FileLock

    lock_path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(lock_path), timeout=300, thread_local=False)


def retrying(call: Callable[[], T], attempts: int = 8, also: tuple[str, ...] = ()) -> T:
    """Run ``call``, retrying sqlite lock contention (and the errors named in ``also``) with a short backoff."""
    for attempt in range(attempts):
        try:
            return call()
        except Exception as exc:
            if attempt == attempts - 1 or not any(s in str(exc) for s in (*_RETRYABLE, *also)):
                raise
            time.sleep(0.05 * 2**attempt)
    raise AssertionError("unreachable")


def retrying_or_none(call: Callable[[], T]) -> T | None:
    """``retrying(call)``, or None when MLflow answers that the thing asked for does not exist."""
    try:
        return retrying(call)
    except Exception as exc:
        if is_not_found(exc):
            return None
        raise


def is_not_found(exc: BaseException) -> bool:
    return getattr(exc, "error_code", "") == "RESOURCE_DOES_NOT_EXIST" or "not found" in str(exc).lower()


def is_already_exists(exc: BaseException) -> bool:
    return getattr(exc, "error_code", "") == "RESOURCE_ALREADY_EXISTS" or "already exists" in str(exc)


def not_found(what: str, name: str, known: list[str], **context: Any) -> AssetNotFound:
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    listing = " Run `citymind registry list` to see what is registered."
    return AssetNotFound(f"{what} {name!r} is not in the registry.{hint}{listing}", name=name, **context)


@contextlib.contextmanager
def mlflow_errors(tracking_uri: str) -> Iterator[None]:
    """Map connection failures to ``RegistryUnavailable``; leave citymind errors alone."""
    try:
        yield
    except RegistryError:
        raise
    except Exception as exc:
        text = str(exc)
        refused = _refused(tracking_uri, text)
        if refused is not None:
            raise refused from exc
        if "Max retries exceeded" in text or "Connection refused" in text or "API request to" in text:
            raise RegistryUnavailable(
                f"The registry at {tracking_uri} cannot be reached ({text[:200]}). Check "
                "CITYMIND_TRACKING_URI and that the MLflow server is running."
            ) from exc
        raise


def _refused(tracking_uri: str, text: str) -> RegistryAccessDenied | None:
    """What an MLflow server with authentication (``--app-name basic-auth``) says to a caller it will not serve."""
    user = os.environ.get("MLFLOW_TRACKING_USERNAME")
    if "error code 401" in text or "UNAUTHENTICATED" in text:
        return RegistryAccessDenied(
            f"the MLflow server at {tracking_uri} asks who you are: set MLFLOW_TRACKING_USERNAME and "
            "MLFLOW_TRACKING_PASSWORD (docs/deploy.md, 'MLflow authentication')."
        )
    if "error code 403" in text or "PERMISSION_DENIED" in text:
        return RegistryAccessDenied(
            f"the MLflow server at {tracking_uri} refused user {user!r}: its permissions do not allow this "
            f"({text[:160]}). A writer of the registry needs EDIT on the experiment 'citymind-registry' and on the "
            "registered model; ask the MLflow admin (docs/deploy.md, 'MLflow authentication')."
        )
    return None
