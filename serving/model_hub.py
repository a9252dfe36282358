"""The models a gateway replica serves: ONNX Runtime sessions loaded from the registry by alias, each followed
with ``registry.follow.AliasFollower`` and swapped atomically when its alias moves (one watcher thread re-reads
them all; ``refresh()`` forces it), plus explicitly asked versions in a bounded cache."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict

from citymind.errors import AssetNotFound, InvalidAsset, ValidationError
from models.served import ServedModel, load_served_model
from registry import AssetRegistry, AssetVersion
from registry.follow import AliasFollower
from registry.refs import check_name

log = logging.getLogger("citymind.serving")

#: what ``refresh`` reports of one model: ``{"from": 1, "to": 2}``, or ``"to": None`` with the ``error``
Change = dict[str, int | str | None]

#: first loads of different models run side by side, each name (or version) under one of this many locks: a slow
#: load holds up only the names that share its lock, and no caller can make the hub keep a lock per name it asks for
LOAD_LOCKS = 64


class ModelHub:
    """Served models by alias (what callers get by default) and by explicit version (bounded cache)."""

    def __init__(
        self,
        registry: AssetRegistry,
        *,
        alias: str = "champion",
        refresh_interval: float = 2.0,
        max_versions: int = 16,
        run_timeout_s: float | None = 10.0,
        max_model_bytes: int | None = 512 * 2**20,
    ) -> None:
        """``run_timeout_s``: a model run longer than this is stopped; ``max_model_bytes``: a larger model file is
        refused (the previous version keeps serving)."""
        self.registry = registry
        self.run_timeout_s, self.max_model_bytes = run_timeout_s, max_model_bytes
        self.alias = alias
        self.refresh_interval = refresh_interval
        self.max_versions = max_versions
        self._followers: dict[str, AliasFollower[ServedModel]] = {}
        self._versions: OrderedDict[tuple[str, int], ServedModel] = OrderedDict()
        self._lock = threading.Lock()  # short: the dict updates, never a load
        self._load_locks = tuple(threading.Lock() for _ in range(LOAD_LOCKS))
        self._stop = threading.Event()

    def get(self, name: str, version: int | None = None) -> ServedModel:
        if version is not None:
            return self._get_version(name, version)
        follower = self._followers.get(name)
        served = follower.latest if follower is not None else None
        if served is None:
            check_model_name(name)
            with self._load_lock(name):
                served = self._follow(name)
        return served

    def served(self) -> dict[str, ServedModel]:
        return {name: m for name, f in list(self._followers.items()) if (m := f.latest) is not None}

    @property
    def errors(self) -> dict[str, str]:
        """Why a model's alias moved to a version that is not served (the previous one is)."""
        return {name: f.last_error for name, f in list(self._followers.items()) if f.last_error is not None}

    def refresh(self) -> dict[str, Change]:
        """Re-resolve the alias of every served model; swap in moved versions. A version that fails to load
        is refused and the previous one keeps serving (the error is reported)."""
        changes: dict[str, Change] = {}
        for name, follower in list(self._followers.items()):
            old = follower.version
            if follower.reload():
                changes[name] = {"from": old, "to": follower.version}
                log.info("%s@%s moved v%s → v%s", name, self.alias, old, follower.version)
            elif follower.last_error is not None:
                changes[name] = {"from": old, "to": None, "error": follower.last_error}
        return changes

    def watch(self) -> threading.Thread:
        def loop() -> None:
            while not self._stop.wait(self.refresh_interval):
                try:
                    self.refresh()
                except Exception:  # the watcher must outlive a registry hiccup
                    log.exception("alias refresh failed")

        thread = threading.Thread(target=loop, name="citymind-alias-watcher", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()

    def _follow(self, name: str) -> ServedModel:
        """The first load of ``name@alias`` (under its load lock); only a model that loads is followed from then
        on."""
        follower = self._followers.get(name) or AliasFollower(
            self.registry, name, self.alias, self._load, refresh_interval=self.refresh_interval
        )
        if follower.latest is None:
            follower.reload()
        served = follower.latest
        if served is None:
            if follower.unregistered:
                raise AssetNotFound(
                    f"No model {name!r} with alias {self.alias!r} is registered. Register one and set "
                    f"the alias: `citymind registry alias {name} {self.alias} VERSION`.",
                    name=name,
                ) from follower.error
            raise follower.error or AssetNotFound(f"{name}@{self.alias} cannot be served", name=name)
        with self._lock:  # a new dict, swapped at once: readers never see a half-made one
            self._followers = {**self._followers, name: follower}
        return served

    def _load_lock(self, key: object) -> threading.Lock:
        return self._load_locks[hash(key) % len(self._load_locks)]

    def _load(self, registry: AssetRegistry, version: AssetVersion) -> ServedModel:
        return load_served_model(registry, version, run_timeout_s=self.run_timeout_s, max_bytes=self.max_model_bytes)

    def _get_version(self, name: str, version: int) -> ServedModel:
        follower = self._followers.get(name)
        current = follower.latest if follower is not None else None
        if current is not None and current.version == version:
            return current
        check_model_name(name)
        key = (name, version)
        with self._load_lock(key):
            with self._lock:
                cached = self._versions.get(key)
                if cached is not None:
                    self._versions.move_to_end(key)
                    return cached
            loaded = self._load(self.registry, self.registry.version(name, version))
            with self._lock:
                self._versions[key] = loaded
                while len(self._versions) > self.max_versions:
                    self._versions.popitem(last=False)
            return loaded


def check_model_name(name: str) -> None:
    """A malformed name is the caller's mistake (400), not an asset the registry cannot serve (409)."""
    try:
        check_name(name)
    except InvalidAsset as exc:
        raise ValidationError(str(exc), location="model") from None
