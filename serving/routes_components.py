"""The component library over HTTP: ``GET /v1/components``, ``POST /v1/components/{name}``,
``POST /v1/pipelines/{name}``. Components and pipelines of lightweight steps run here, in the ingress process
(the fast path); a pipeline's model step uses the model hub, so it follows the model's alias like
``/v1/events/classify`` does."""

from __future__ import annotations

import threading
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field, model_validator

from models.components.base import Component, available_components, described
from registry import AssetNotFound, InvalidAsset
from registry.follow import AliasFollower
from serving.limits import MAX_TEXTS
from serving.model_hub import ModelHub


class RecordsRequest(BaseModel):
    """One ``record`` or a batch of ``records`` (objects of fields, e.g. ``{"text": "..."}``)."""

    record: dict[str, Any] | None = None
    records: list[dict[str, Any]] | None = Field(default=None, min_length=1, max_length=MAX_TEXTS)

    @model_validator(mode="after")
    def one_of_record_or_records(self) -> RecordsRequest:
        if (self.record is None) == (self.records is None):
            raise ValueError("give exactly one of 'record' (an object) or 'records' (a list of objects)")
        return self


class ComponentShelf:
    """Set-up components and pipelines by name. A registered version (``name@production``) wins over the
    installed default and is followed like any alias (``AliasFollower``: re-read at most every
    ``refresh_interval`` seconds, a version that fails to load keeps the old one serving)."""

    def __init__(self, hub: ModelHub, *, alias: str = "production", refresh_interval: float = 5.0) -> None:
        self.hub, self.alias, self.refresh_interval = hub, alias, refresh_interval
        self._followers: dict[str, AliasFollower[Component]] = {}
        self._installed: dict[str, Component] = {}
        self._lock = threading.Lock()

    def get(self, name: str, *, pipeline: bool) -> Component:
        from models.components.pipeline import Pipeline

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

    def _load(self, registry: Any, target: Any) -> Component:
        from models.components.pipeline import load_registered

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
        from models.components.pipeline import ModelStep, Pipeline

        steps = component.spec.steps if isinstance(component, Pipeline) else (component,)
        for step in steps:
            if isinstance(step, ModelStep):
                step.served = self._follow(step.ref)
        component.setup(self.hub.registry)
        component._ready = True
        return component

    def _follow(self, ref: str) -> Any:
        name, _, alias = ref.partition("@")
        if alias == self.hub.alias:
            return lambda: self.hub.get(name)  # hot swap: whatever the hub serves now
        version = self.hub.registry.resolve(ref).version
        return lambda: self.hub.get(name, version)


def components_router(hub: ModelHub) -> APIRouter:
    router = APIRouter(tags=["Components"])
    shelf = ComponentShelf(hub)

    @router.get("/v1/components")
    def list_components() -> dict[str, Any]:
        """Installed components and registered pipelines, with their input and output schemas."""
        installed = [cls().describe() for cls in available_components().values()]
        registered = hub.registry.search(kind="component", tags={"component.type": "pipeline"})
        pipelines = [{"name": a.name, "aliases": a.aliases, "description": a.description} for a in registered]
        return {"components": installed, "pipelines": pipelines}

    @router.post("/v1/components/{name}")
    def run_component(name: str, body: RecordsRequest) -> dict[str, Any]:
        """Run one component on a record or a batch of records."""
        return _run(shelf.get(name, pipeline=False), body)

    @router.post("/v1/pipelines/{name}")
    def run_pipeline(name: str, body: RecordsRequest) -> dict[str, Any]:
        """Run a registered pipeline (its ``production`` version) on a record or a batch."""
        return _run(shelf.get(name, pipeline=True), body)

    return router


def _run(component: Component, body: RecordsRequest) -> dict[str, Any]:
    if body.record is not None:
        return {"name": component.name, "record": described(component(body.record))}
    return {"name": component.name, "records": [described(r) for r in component.batch(body.records or [])]}
