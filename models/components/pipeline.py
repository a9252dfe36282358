"""Pipelines: components and a model in a row, from a YAML spec, checked before they run.

```yaml
pipeline: report-intake
description: clean, mask, place and classify a citizen's report
steps:
  - component: text.normalize
  - component: privacy.mask
    params: {style: partial}
  - component: geo.resolve_area
  - model: event-classifier@champion
```

Each step reads fields of the record and adds or replaces some; a step whose required input no earlier step (nor
the pipeline's ``input``) provides with a compatible type is refused with ``file:line:col``. A pipeline is a
component too: registered as kind ``component`` with lineage to every component and model version it uses."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.components.base import (
    SPEC_FORMAT,
    Component,
    ComponentTags,
    component_from_spec,
    register_component,
    stored_spec,
)
from models.served import ServedModel, load_served_model
from registry import AssetRegistry, InvalidAsset, MlflowRegistry, ValidationError
from rules.errors import RuleFileError
from rules.yaml_source import locate

#: the default pipeline ``citymind bootstrap`` registers
REPORT_INTAKE = Path(__file__).resolve().parent / "defaults" / "report_intake.yaml"

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://citymind.example/schemas/pipeline.json",
    "title": "citymind pipeline",
    "type": "object",
    "additionalProperties": False,
    "required": ["pipeline", "steps"],
    "properties": {
        "pipeline": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9\-_.]{0,63}$"},
        "description": {"type": "string", "maxLength": 2000},
        "input": {
            "type": "object",
            "additionalProperties": {"enum": ["string", "number", "integer", "object", "array"]},
        },
        "steps": {
            "type": "array",
            "minItems": 1,
            "maxItems": 32,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "component": {"type": "string"},
                    "params": {"type": "object"},
                    "model": {"type": "string", "description": "name@alias or name/version of a text classifier"},
                    "top_k": {"type": "integer", "minimum": 1, "maximum": 50},
                },
                "oneOf": [{"required": ["component"]}, {"required": ["model"]}],
            },
        },
    },
}
#: what a text-classifier model step reads and adds
MODEL_INPUT = {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}
MODEL_OUTPUT = {
    "type": "object",
    "required": ["category", "confidence", "top_k", "model"],
    "properties": {
        "category": {"type": "string"},
        "confidence": {"type": "number"},
        "top_k": {"type": "array"},
        "model": {"type": "object"},
    },
}


class ModelStep(Component):
    """A registered text classifier as a pipeline step; ``served`` gives the model version to use, so in the
    gateway the step follows the alias the model hub follows."""

    name = "model"
    input_schema = MODEL_INPUT
    output_schema = MODEL_OUTPUT
    tags = ComponentTags(batchable=True, lightweight=True)

    def __init__(self, ref: str, top_k: int = 3) -> None:
        self.ref = ref
        self.top_k = top_k
        self.served: Callable[[], ServedModel] | None = None

    def load(self, registry: AssetRegistry | None = None) -> None:
        if self.served is None:
            self.served = _served_model(registry, self.ref)

    def follow(self, served: Callable[[], ServedModel]) -> None:
        """Use the model version ``served()`` gives at each call (a gateway's hub: it follows the alias)."""
        self.served = served

    def process_batch(self, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        assert self.served is not None
        model = self.served()
        results = model.classify([r["text"] for r in records], self.top_k)
        return [{**r, "model": {"name": model.name, "version": model.version}} for r in results]

    def process(self, record: Mapping[str, Any]) -> dict[str, Any]:
        return self.process_batch([record])[0]


def _served_model(registry: AssetRegistry | None, ref: str) -> Callable[[], ServedModel]:
    if registry is None:
        registry = MlflowRegistry.from_settings()
    model = load_served_model(registry, registry.resolve(ref))
    return lambda: model


@dataclass(frozen=True)
class PipelineSpec:
    """A validated spec: the steps as components (not set up yet) and where each came from."""

    name: str
    description: str
    steps: tuple[Component, ...]
    source: dict[str, Any]


class Pipeline(Component):
    """Runs its steps in order over a record or a batch; its schemas are its first input and all outputs."""

    tags = ComponentTags(stateless=True, batchable=True, lightweight=True)

    def __init__(self, spec: PipelineSpec) -> None:
        self.spec = spec
        self.name = spec.name  # type: ignore[misc]
        self.input_schema = _input_of(spec)  # type: ignore[misc]
        self.output_schema = _output_of(spec)  # type: ignore[misc]
        self.tags = ComponentTags(lightweight=all(s.tags.lightweight for s in spec.steps))  # type: ignore[misc]
        self.examples = list(spec.steps[0].examples)  # type: ignore[misc]

    def load(self, registry: Any = None) -> None:
        for step in self.spec.steps:
            step.setup(registry)

    def process_batch(self, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        current: list[dict[str, Any]] = [dict(r) for r in records]
        for step in self.spec.steps:
            current = step.batch(current)
        return current  # the whole record; merging it over the input changes nothing else

    def process(self, record: Mapping[str, Any]) -> dict[str, Any]:
        return self.process_batch([record])[0]

    def to_spec(self) -> dict[str, Any]:
        return dict(self.spec.source)


def load_pipeline(path: Path) -> Pipeline:
    return parse_pipeline(path.read_text(encoding="utf-8"), str(path))


def parse_pipeline(text: str, source: str = "<pipeline>") -> Pipeline:
    """Validate a pipeline spec: its shape, each component and its parameters, and that the steps connect."""

    try:
        data, marks = locate(text, source, SCHEMA, "'pipeline' and 'steps'")
    except RuleFileError as exc:
        raise ValidationError("\n".join(exc.problems)) from None
    steps, problems = [], []
    for i, step in enumerate(data["steps"]):
        line, col = marks.get(("steps", i), (1, 1))
        try:
            steps.append(_step(step))
        except (InvalidAsset, TypeError) as exc:
            problems.append(f"{source}:{line}:{col}: {exc}")
    if problems:
        raise ValidationError("\n".join(problems))
    spec = PipelineSpec(data["pipeline"], data.get("description", ""), tuple(steps), data)
    problems = connection_problems(spec, marks, source)
    if problems:
        raise ValidationError("\n".join(problems))
    return Pipeline(spec)


def _step(step: Mapping[str, Any]) -> Component:
    if "model" in step:
        return ModelStep(step["model"], step.get("top_k", 3))

    return component_from_spec({"format": SPEC_FORMAT, "component": step["component"], "params": step.get("params")})


def connection_problems(spec: PipelineSpec, marks: Mapping[tuple, tuple], source: str) -> list[str]:
    """Each step's required fields must be provided, with a type it accepts, by the input or an earlier step."""
    declared = spec.source.get("input")
    first = spec.steps[0].input_schema.get("properties", {})
    available = {k: {"type": v} for k, v in declared.items()} if declared else dict(first)
    problems = []
    for i, step in enumerate(spec.steps):
        wanted = step.input_schema.get("properties", {})
        for field in step.input_schema.get("required", []):
            line, col = marks.get(("steps", i), (1, 1))
            have = available.get(field)
            if have is None:
                problems.append(
                    f"{source}:{line}:{col}: step {i + 1} ({step.name}) needs field {field!r}, which neither the "
                    f"pipeline's input nor an earlier step provides; available: {sorted(available)}"
                )
            elif not _accepts(_types(wanted.get(field, {})), _types(have)):
                problems.append(
                    f"{source}:{line}:{col}: step {i + 1} ({step.name}) needs {field!r} as "
                    f"{sorted(_types(wanted[field]))}, but it arrives as {sorted(_types(have))}"
                )
        available.update(step.output_schema.get("properties", {}))
    return problems


def _accepts(wanted: set[str], given: set[str]) -> bool:
    if "any" in wanted:
        return True
    widened = wanted | ({"integer"} if "number" in wanted else set())
    return given <= widened


def _types(schema: Mapping[str, Any]) -> set[str]:
    kind = schema.get("type")
    if kind is None:
        return {"any"} if not schema.get("enum") else {"string"}
    return {kind} if isinstance(kind, str) else set(kind)


def _input_of(spec: PipelineSpec) -> dict[str, Any]:
    declared = spec.source.get("input")
    if declared:
        return {
            "type": "object",
            "required": sorted(declared),
            "properties": {k: {"type": v} for k, v in declared.items()},
        }
    return dict(spec.steps[0].input_schema)


def _output_of(spec: PipelineSpec) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for step in spec.steps:
        properties.update(step.output_schema.get("properties", {}))
    return {"type": "object", "properties": properties}


def register_pipeline(registry: Any, path: Path, *, alias: str | None = "production") -> Any:
    """Validate the pipeline at ``path``, register the components it uses (unless registered with the same
    spec) and the pipeline itself, with lineage to each component version and the model version its alias
    points at now."""

    pipeline = load_pipeline(path)
    lineage = []
    for step in pipeline.spec.steps:
        if isinstance(step, ModelStep):
            model = registry.resolve(step.ref)
            lineage.append({"kind": "model", "name": model.name, "version": model.version, "ref": step.ref})
        else:
            used = register_component(registry, step)
            lineage.append({"kind": "component", "name": used.name, "version": used.version})
    tags = {"component.type": "pipeline", "steps": " → ".join(_label(s) for s in pipeline.spec.steps)}
    version = registry.register(
        "component", pipeline.name, path, description=pipeline.spec.description, tags=tags, lineage=lineage
    )
    return registry.set_alias(pipeline.name, alias, version.version) if alias else version


def load_registered(registry: Any, ref: str) -> Component:
    """A registered component or pipeline (``name@alias``, ``name/3``, ``name``), ready to set up."""
    stored = stored_spec(registry, ref)
    if isinstance(stored, str):
        return parse_pipeline(stored, ref)
    return component_from_spec(stored)


def _label(step: Component) -> str:
    return f"model {step.ref}" if isinstance(step, ModelStep) else step.name
