"""The component library over HTTP: ``GET /v1/components``, ``POST /v1/components/{name}``,
``POST /v1/pipelines/{name}``. Components and pipelines of lightweight steps run here, in the ingress process
(the fast path), from the replica's shelf (``models.components.shelf``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field, model_validator

from models.components.base import Component, available_components, described
from serving.limits import MAX_TEXT_CHARS, MAX_TEXTS
from serving.replica import Replica


class RecordsRequest(BaseModel):
    """One ``record`` or a batch of ``records`` (objects of fields, e.g. ``{"text": "..."}``)."""

    record: dict[str, Any] | None = None
    records: list[dict[str, Any]] | None = Field(default=None, min_length=1, max_length=MAX_TEXTS)

    @model_validator(mode="after")
    def one_of_record_or_records(self) -> RecordsRequest:
        if (self.record is None) == (self.records is None):
            raise ValueError("give exactly one of 'record' (an object) or 'records' (a list of objects)")
        records = [self.record] if self.record is not None else self.records or []
        long = [i for i, r in enumerate(records) if isinstance(r.get("text"), str) and len(r["text"]) > MAX_TEXT_CHARS]
        if long:
            raise ValueError(f"records {long[:5]}: 'text' exceeds {MAX_TEXT_CHARS} characters; send shorter texts")
        deep = [i for i, r in enumerate(records) if nesting(r) > MAX_NESTING]
        if deep:
            raise ValueError(f"records {deep[:5]} nest deeper than {MAX_NESTING} levels; send flat records")
        return self


def components_router(replica: Replica) -> APIRouter:
    router = APIRouter(tags=["Components"])
    shelf, registry = replica.components, replica.hub.registry

    @router.get("/v1/components")
    def list_components() -> dict[str, object]:
        """Installed components and registered pipelines, with their input and output schemas."""
        installed = [cls().describe() for cls in available_components().values()]
        registered = registry.search(kind="component", tags={"component.type": "pipeline"})
        pipelines = [{"name": a.name, "aliases": a.aliases, "description": a.description} for a in registered]
        return {"components": installed, "pipelines": pipelines}

    @router.post("/v1/components/{name}")
    def run_component(name: str, body: RecordsRequest) -> dict[str, object]:
        """Run one component on a record or a batch of records."""
        return _run(shelf.get(name, pipeline=False), body)

    @router.post("/v1/pipelines/{name}")
    def run_pipeline(name: str, body: RecordsRequest) -> dict[str, object]:
        """Run a registered pipeline (its ``production`` version) on a record or a batch."""
        return _run(shelf.get(name, pipeline=True), body)

    return router


def _run(component: Component, body: RecordsRequest) -> dict[str, object]:
    if body.record is not None:
        return {"name": component.name, "record": described(component(body.record))}
    return {"name": component.name, "records": [described(r) for r in component.batch(body.records or [])]}


#: how deep a record's values may nest (objects in lists in objects ...)
MAX_NESTING = 32


def nesting(value: object) -> int:
    """The depth of nested lists and objects in ``value``, walked without recursion (a deep value must not cost a
    stack), stopping past ``MAX_NESTING``."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if depth > MAX_NESTING:
                return depth
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest
