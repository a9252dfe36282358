"""Follow an alias: keep the loaded form of ``name@alias`` in service and swap it when the alias moves.

The new version is loaded (and so validated) before anything changes; the swap is one reference assignment, so
calls already running finish on the old object; a version that fails to load keeps the old one in service and
``last_error`` says why. Re-reading the alias costs a registry call, so it happens at most every
``refresh_interval`` seconds when asked through :meth:`current`, or on :meth:`reload`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from citymind.errors import AssetNotFound

T = TypeVar("T")
log = logging.getLogger("citymind.registry")


class AliasFollower(Generic[T]):
    """``load(registry, version)`` builds the served object from an :class:`AssetVersion`."""

    def __init__(
        self,
        registry: Any,
        name: str,
        alias: str,
        load: Callable[[Any, Any], T],
        *,
        refresh_interval: float = 2.0,
    ) -> None:
        self.registry, self.name, self.alias = registry, name, alias
        self.load, self.refresh_interval = load, refresh_interval
        self.version: int | None = None
        self.error: Exception | None = None  # why the last read of the alias put nothing new in service
        self._served: T | None = None
        self._checked = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._watching = False

    @property
    def last_error(self) -> str | None:
        return None if self.error is None else f"{type(self.error).__name__}: {self.error}"

    @property
    def unregistered(self) -> bool:
        """The last read found no such alias or version (rather than a version that would not load)."""
        return isinstance(self.error, AssetNotFound)

    def current(self) -> T:
        """The object in service, re-reading the alias when ``refresh_interval`` has passed."""
        served = self._served
        if served is not None and (self._watching or time.monotonic() - self._checked < self.refresh_interval):
            return served  # a watcher thread follows the alias: nothing to read on the caller's path
        self.reload()
        if self._served is None:
            raise AssetNotFound(
                f"{self.name}@{self.alias} cannot be served: {self.last_error}", name=self.name, kind=None
            )
        return self._served

    def reload(self) -> bool:
        """Follow the alias now; True when a new version went into service."""
        with self._lock:
            self._checked = time.monotonic()
            try:
                target = self.registry.resolve(f"{self.name}@{self.alias}")
                if target.version == self.version and self._served is not None:
                    self.error = None  # e.g. rolled back to what is in service
                    return False
                new = self.load(self.registry, target)
            except Exception as exc:  # a broken version must never take the old one out of service
                self.error = exc.with_traceback(None)  # the message, not the frames of a failed load
                log.warning("keeping %s v%s: %s", self.name, self.version, self.last_error)
                return False
            self._served, self.version, self.error = new, target.version, None
            log.info("%s@%s: now serving version %s", self.name, self.alias, target.version)
            return True

    def watch(self) -> threading.Thread:
        """Follow the alias in a background thread, so callers never wait on the registry."""
        self._watching = True

        def loop() -> None:
            while not self._stop.wait(self.refresh_interval):
                self.reload()

        thread = threading.Thread(target=loop, name=f"follow-{self.name}", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()

    def status(self) -> dict[str, Any]:
        return {"name": self.name, "alias": self.alias, "version": self.version, "last_error": self.last_error}
