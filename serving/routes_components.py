"""The component library over HTTP: ``GET /v1/components``, ``POST /v1/components/{name}``,
``POST /v1/pipelines/{name}``. Components and pipelines of lightweight steps run here, in the ingress process
(the fast path); a pipeline's model step uses the model hub, so it follows the model's alias like
``/v1/events/classify`` does."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field, model_validator

from registry import AssetNotFound
from registry.component import Component, available_components
from serving.limits import MAX_TEXTS
from serving.model_hub import ModelHub

log = logging.getLogger("citymind.serving")


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
    installed default; its alias is re-read at most every ``refresh_interval`` seconds, so a new version is
    picked up without a restart and a version that fails to load keeps the old one serving."""

    def __init__(self, hub: ModelHub, *, alias: str = "production", refresh_interval: float = 5.0) -> None:
        self.hub, self.alias, self.refresh_interval = hub, alias, refresh_interval
        self._served: dict[str, tuple[int | None, float, Component]] = {}
        self._lock = threading.Lock()

    def get(self, name: str, *, pipeline: bool) -> Component:
        served = self._served.get(f"{pipeline}:{name}")
        if served is not None and time.monotonic() - served[1] < self.refresh_interval:
            return served[2]
        with self._lock:
            try:
                return self._load(name, pipeline, served)
            except Exception as exc:
                if served is None:
                    raise
                log.warning("keeping %s v%s: %s: %s", name, served[0], type(exc).__name__, exc)
                self._served[f"{pipeline}:{name}"] = (served[0], time.monotonic(), served[2])
                return served[2]

    def _load(self, name: str, pipeline: bool, served: tuple[int | None, float, Component] | None) -> Component:
        from serving.pipeline import Pipeline, load_registered

        version = self._registered_version(name)
        key = f"{pipeline}:{name}"
        if served is not None and served[0] == version:
            self._served[key] = (version, time.monotonic(), served[2])
            return served[2]
        if version is not None:
            component = load_registered(self.hub.registry, f"{name}/{version}")
        elif not pipeline and name in available_components():
            component = available_components()[name]()
        else:
            what = "pipeline" if pipeline else "component"
            raise AssetNotFound(f"no {what} {name!r}; GET /v1/components lists what is served", name=name)
        if pipeline != isinstance(component, Pipeline):
            other = "/v1/pipelines" if isinstance(component, Pipeline) else "/v1/components"
            raise AssetNotFound(f"{name!r} is served at {other}/{name}", name=name)
        self._set_up(component)
        self._served[key] = (version, time.monotonic(), component)
        return component

    def _registered_version(self, name: str) -> int | None:
        try:
            return int(self.hub.registry.resolve(f"{name}@{self.alias}").version)
        except AssetNotFound:
            return None

    def _set_up(self, component: Component) -> None:
        from serving.pipeline import ModelStep, Pipeline

        steps = component.spec.steps if isinstance(component, Pipeline) else (component,)
        for step in steps:
            if isinstance(step, ModelStep):
                step.served = self._follow(step.ref)
        component.setup(self.hub.registry)
        component._ready = True

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
        return {"name": component.name, "record": _jsonable(component(body.record))}
    return {"name": component.name, "records": [_jsonable(r) for r in component.batch(body.records or [])]}


def _jsonable(value: Any) -> Any:
    """Arrays (decoded images) are described, not sent: shape and dtype."""
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return {"shape": list(value.shape), "dtype": str(value.dtype)}
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value
