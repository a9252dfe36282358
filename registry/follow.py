"""Follow what the registry says: keep the loaded form of ``name@alias`` (or of any reading of the registry) in
service and swap it when the reading changes. The one way citymind follows an alias: the model hub, the canary
split, rules, knowledge, video detectors and pipelines all use it.

The new object is loaded (and so validated) before anything changes; the swap is one reference assignment, so
calls already running finish on the old object; a reading or a load that fails keeps the old one in service and
``last_error`` says why. Reading costs a registry call, so it happens at most every ``refresh_interval`` seconds
when asked through :meth:`Follower.current`, on :meth:`Follower.reload`, or in a watcher thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from citymind.errors import AssetNotFound
from registry.base import AssetRegistry, AssetVersion

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
log = logging.getLogger("citymind.registry")


class Follower(Generic[K, T]):
    """``read()`` says what should be served (a key: a version, a split); ``load(key)`` builds it. ``label``
    names what is followed in errors and logs."""

    def __init__(
        self, label: str, read: Callable[[], K], load: Callable[[K], T], *, refresh_interval: float = 2.0
    ) -> None:
        self.label, self.read, self.load, self.refresh_interval = label, read, load, refresh_interval
        self.key: K | None = None
        self.error: Exception | None = None  # why the last reading put nothing new in service
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
        """The last reading found no such alias or version (rather than a version that would not load)."""
        return isinstance(self.error, AssetNotFound)

    @property
    def latest(self) -> T | None:
        """What is in service now, without reading the registry (None before the first successful load)."""
        return self._served

    def current(self) -> T:
        """The object in service, re-reading the registry when ``refresh_interval`` has passed."""
        served = self._served
        if served is not None and (self._watching or time.monotonic() - self._checked < self.refresh_interval):
            return served  # a watcher thread follows the alias: nothing to read on the caller's path
        self.reload()
        if self._served is None:
            raise AssetNotFound(f"{self.label} cannot be served: {self.last_error}", name=self.label)
        return self._served

    def reload(self) -> bool:
        """Read the registry now; True when a new object went into service."""
        with self._lock:
            self._checked = time.monotonic()
            try:
                key = self.read()
                if key == self.key and self._served is not None:
                    self.error = None  # e.g. rolled back to what is in service
                    return False
                new = self.load(key)
            except Exception as exc:  # a broken version must never take the old one out of service
                self.error = exc.with_traceback(None)  # the message, not the frames of a failed load
                log.warning("keeping %s at %s: %s", self.label, self.key, self.last_error)
                return False
            self._served, self.key, self.error = new, key, None
            log.info("%s: now serving %s", self.label, key)
            return True

    def watch(self) -> threading.Thread:
        """Follow in a background thread, so callers never wait on the registry."""
        self._watching = True

        def loop() -> None:
            while not self._stop.wait(self.refresh_interval):
                self.reload()

        thread = threading.Thread(target=loop, name=f"follow-{self.label.partition('@')[0]}", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()


class AliasFollower(Follower[int, T]):
    """``load(registry, version)`` builds the served object from the :class:`AssetVersion` ``name@alias``
    resolves to; a new version is loaded when the alias moves."""

    def __init__(
        self,
        registry: AssetRegistry,
        name: str,
        alias: str,
        load: Callable[[AssetRegistry, AssetVersion], T],
        *,
        refresh_interval: float = 2.0,
    ) -> None:
        self.registry, self.name, self.alias = registry, name, alias
        self._target: AssetVersion | None = None
        super().__init__(
            f"{name}@{alias}",
            self._resolve,
            lambda _: load(registry, self._resolved()),
            refresh_interval=refresh_interval,
        )

    @property
    def version(self) -> int | None:
        """The version in service."""
        return self.key

    def status(self) -> dict[str, object]:
        return {"name": self.name, "alias": self.alias, "version": self.version, "last_error": self.last_error}

    def _resolve(self) -> int:
        self._target = self.registry.resolve(self.label)
        return self._target.version

    def _resolved(self) -> AssetVersion:
        assert self._target is not None  # read() ran first, under the lock
        return self._target
