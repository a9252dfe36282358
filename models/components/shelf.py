"""The components and pipelines a gateway replica serves, by name. A registered version (``name@production``)
wins over the installed default and is followed like any alias (``registry.follow.AliasFollower``: re-read at
most every ``refresh_interval`` seconds, a version that fails to load keeps the old one serving); a pipeline's
model step uses the replica's model hub, so it follows the model's alias like ``/v1/events/classify`` does."""

from __future__ import annotations

import threading
from collections.abc import Callable

from models.components.base import Component, available_components
from models.components.pipeline import ModelStep, Pipeline, load_registered
from models.served import ModelSource, ServedModel
from registry import AssetNotFound, AssetRegistry, AssetVersion, InvalidAsset
from registry.follow import AliasFollower


class ComponentShelf:
    """``get(name, pipeline=...)``: a set-up component or pipeline, ready to run."""

    def __init__(self, hub: ModelSource, *, alias: str = "production", refresh_interval: float = 5.0) -> None:
        self.hub, self.alias, self.refresh_interval = hub, alias, refresh_interval
        self._followers: dict[str, AliasFollower[Component]] = {}
        self._installed: dict[str, Component] = {}
        self._lock = threading.Lock()

    def get(self, name: str, *, pipeline: bool) -> Component:
        follower = self._follower(name)
        try:
            component = follower.current()
        except AssetNotFound:
            if not follower.unregistered:  # registered but broken: say so, never fall back silently
                raise InvalidAsset(f"{name}@{self.alias} cannot be served: {follower.last_error}", name=name) from None
            component = self._installed_default(name, pipeline)
        if pipeline != isinstance(component, Pipeline):
            other = "/v1/pipelines" if isinstance(component, Pipeline) else "/v1/components"
            raise AssetNotFound(f"{name!r} is served at {other}/{name}", name=name)
        return component

    def _follower(self, name: str) -> AliasFollower[Component]:
        with self._lock:
            if name not in self._followers:
                self._followers[name] = AliasFollower(
                    self.hub.registry, name, self.alias, self._load, refresh_interval=self.refresh_interval
                )
            return self._followers[name]

    def _load(self, registry: AssetRegistry, target: AssetVersion) -> Component:
        if target.kind != "component":
            raise AssetNotFound(
                f"{target.name!r} is a {target.kind} asset, not a component or pipeline", name=target.name
            )
        return self._set_up(load_registered(registry, f"{target.name}/{target.version}"))

    def _installed_default(self, name: str, pipeline: bool) -> Component:
        if pipeline or name not in available_components():
            what = "pipeline" if pipeline else "component"
            raise AssetNotFound(f"no {what} {name!r}; GET /v1/components lists what is served", name=name)
        with self._lock:
            if name not in self._installed:
                self._installed[name] = self._set_up(available_components()[name]())
            return self._installed[name]

    def _set_up(self, component: Component) -> Component:
        steps = component.spec.steps if isinstance(component, Pipeline) else (component,)
        for step in steps:
            if isinstance(step, ModelStep):
                step.follow(self._follow(step.ref))
        return component.setup(self.hub.registry)

    def _follow(self, ref: str) -> Callable[[], ServedModel]:
        name, _, alias = ref.partition("@")
        if alias == self.hub.alias:
            return lambda: self.hub.get(name)  # hot swap: whatever the hub serves now
        version = self.hub.registry.resolve(ref).version
        return lambda: self.hub.get(name, version)
