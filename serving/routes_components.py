"""The component library over HTTP: ``GET /v1/components``, ``POST /v1/components/{name}``,
``POST /v1/pipelines/{name}``. Components and pipelines of lightweight steps run here, in the ingress process
(the fast path), from the replica's shelf (``models.components.shelf``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema, WithJsonSchema

from citymind.api import ComponentAnswer, ComponentList
from models.components.base import Component, available_components, described
from serving.limits import MAX_TEXT_CHARS
from serving.openapi import errors
from serving.replica import Replica
from serving.requests import NAME_PATTERN, Batch, RequestBody, check_one_of, one_of

#: a record: fields of any JSON values; ``text``, where given, a report's text
Record = Annotated[
    dict[str, Any],
    WithJsonSchema({"type": "object", "properties": {"text": {"type": "string", "maxLength": MAX_TEXT_CHARS}}}),
]


class RecordsRequest(RequestBody):
    """One ``record`` or a batch of ``records`` (objects of fields, e.g. ``{"text": "..."}``); which fields a
    component reads is in its ``input_schema`` (``GET /v1/components``): a record without them is a 422."""

    model_config = ConfigDict(
        json_schema_extra=one_of(
            "record",
            "records",
            {"record": {"text": "电话13812345678，路灯坏了"}},
            {"records": [{"text": "身份证370283199001011234"}, {"text": "小区门口路灯坏了"}]},
        )
    )

    record: Record | SkipJsonSchema[None] = Field(default=None, examples=[{"text": "电话13812345678，路灯坏了"}])
    records: Batch[Record] | SkipJsonSchema[None] = None

    @model_validator(mode="after")
    def one_of_record_or_records(self) -> RecordsRequest:
        check_one_of(self, "record", "records", "'record' (an object) or 'records' (a list of objects)")
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

    @router.get("/v1/components", response_model=ComponentList)
    def components() -> dict[str, object]:
        """Installed components and registered pipelines, with their input and output schemas."""
        installed = [cls().describe() for cls in available_components().values()]
        registered = registry.search(kind="component", tags={"component.type": "pipeline"})
        pipelines = [{"name": a.name, "aliases": a.aliases, "description": a.description} for a in registered]
        return {"components": installed, "pipelines": pipelines}

    @router.post("/v1/components/{name}", response_model=ComponentAnswer, responses=errors(404, 422))
    def run_component(
        name: Annotated[str, Path(pattern=NAME_PATTERN, max_length=100, examples=["privacy.mask"])],
        body: RecordsRequest,
    ) -> dict[str, object]:
        """Run one component on a record or a batch of records."""
        return _run(shelf.get(name, pipeline=False), body)

    @router.post("/v1/pipelines/{name}", response_model=ComponentAnswer, responses=errors(404, 422, 503))
    def run_pipeline(
        name: Annotated[str, Path(pattern=NAME_PATTERN, max_length=100)], body: RecordsRequest
    ) -> dict[str, object]:
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
    """The depth of nested lists and objects in ``value``, walked level by level without recursion (a deep value
    must not cost a stack), stopping past ``MAX_NESTING``. Only containers are kept from one level to the next:
    a record of 60,000 readings costs 0.09 CPU-s, not the 0.2 of a walk that visits every number."""
    depth, level = 0, [value] if isinstance(value, dict | list) else []
    while level:
        depth += 1
        if depth > MAX_NESTING:
            return depth
        level = [
            child
            for item in level
            for child in (item.values() if isinstance(item, dict) else item)
            if isinstance(child, dict | list)
        ]
    return depth
