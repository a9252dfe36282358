"""``citymind components ...``: the component library (组件库): list, show, run, register components and pipelines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from citymind.cli._output import emit
from models.components.base import SPEC_FORMAT, available_components, component_from_spec, described, register_component
from models.components.pipeline import ModelStep, Pipeline, load_pipeline, load_registered, register_pipeline
from registry import MlflowRegistry

app = typer.Typer(help="Components (组件库) and pipelines: list, show, run, register.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _registry() -> Any:
    return MlflowRegistry.from_settings()


def _component(target: str, params: list[str] | None) -> Any:
    """An installed component by name, a pipeline file, or a registered component/pipeline (name@alias, name/3)."""

    if Path(target).is_file():
        return load_pipeline(Path(target))
    if target in available_components():
        values = {k: json.loads(v) if v[:1] in "[{0123456789-tfn" else v for k, v in _pairs(params).items()}
        return component_from_spec({"format": SPEC_FORMAT, "component": target, "params": values})

    return load_registered(_registry(), target)


def _pairs(items: list[str] | None) -> dict[str, str]:
    bad = [i for i in items or [] if "=" not in i]
    if bad:
        raise typer.BadParameter(f"give parameters as KEY=VALUE, got {bad}")
    return dict(i.split("=", 1) for i in items or [])


@app.command("list")
def list_components(as_json: JsonOpt = False) -> None:
    """Installed components, and the components and pipelines registered in the registry."""

    rows = [
        {
            "name": name,
            "where": "installed",
            "kind": "component",
            "input": sorted(cls.input_schema.get("properties", {})),
        }
        for name, cls in sorted(available_components().items())
    ]
    try:
        registered = _registry().search(kind="component")
    except Exception as exc:  # the installed list is still useful without a registry
        typer.echo(f"(registry not reachable: {exc})", err=True)
        registered = []
    rows += [
        {"name": a.name, "where": "registry", "kind": "pipeline/component", "aliases": a.aliases} for a in registered
    ]
    emit(rows, as_json=as_json, columns=["name", "where", "kind", "input", "aliases"], title="citymind components")


@app.command()
def show(target: str) -> None:
    """Schemas, parameters, tags and an example run of a component or pipeline, as JSON."""
    component = _component(target, None)
    info = component.describe()
    if component.examples:
        info["example"] = {"input": component.examples[0], "output": component(component.examples[0])}
    typer.echo(json.dumps(described(info), ensure_ascii=False, indent=2, default=str))


@app.command()
def run(
    target: Annotated[str, typer.Argument(help="component name, pipeline file, or registered name@alias")],
    record: Annotated[str | None, typer.Option(help="the input record as JSON")] = None,
    text: Annotated[str | None, typer.Option(help="shortcut for --record '{\"text\": ...}'")] = None,
    param: Annotated[list[str] | None, typer.Option(help="KEY=VALUE parameter of an installed component")] = None,
) -> None:
    """Run a component or pipeline on one record and print the output record as JSON."""
    if (record is None) == (text is None):
        raise typer.BadParameter("give exactly one of --record JSON or --text TEXT")
    try:
        payload = json.loads(record) if record is not None else {"text": text}
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"--record is not JSON: {exc}") from None
    component = _component(target, param)
    component.setup(_registry() if _needs_registry(component) else None)
    typer.echo(json.dumps(described(component(payload)), ensure_ascii=False, indent=2, default=str))


@app.command()
def register(
    target: Annotated[str, typer.Argument(help="a pipeline YAML file, or an installed component's name")],
    param: Annotated[list[str] | None, typer.Option(help="KEY=VALUE parameter of an installed component")] = None,
    alias: str = "production",
    as_json: JsonOpt = False,
) -> None:
    """Register a pipeline (validated, with lineage to its components and model) or an installed component."""
    reg = _registry()
    if Path(target).is_file():
        version = register_pipeline(reg, Path(target), alias=alias or None)
    else:
        version = register_component(reg, _component(target, param), alias=alias or None)
    emit(version.to_dict(), as_json=as_json, columns=["kind", "name", "version", "aliases", "lineage"])


def _needs_registry(component: Any) -> bool:
    if isinstance(component, Pipeline):
        return any(isinstance(s, ModelStep) or getattr(s, "knowledge", None) for s in component.spec.steps)
    return bool(getattr(component, "knowledge", None))
