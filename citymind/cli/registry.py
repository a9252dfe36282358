"""``citymind registry ...``: browse and curate the five libraries from a terminal."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from citymind.cli._output import emit
from registry import MlflowRegistry, ValidationError
from registry.artifacts import onnx_inputs
from rules.loader import load_rules
from rules.service import check_ruleset

app = typer.Typer(
    help="Browse the registry of models, algorithms, rules, knowledge and components.", no_args_is_help=True
)
#: the aliases gateways and rule services follow
SERVING_ALIASES = ("champion", "challenger", "production")
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _registry() -> Any:
    return MlflowRegistry.from_settings()


def _tags(pairs: list[str] | None) -> dict[str, str]:
    bad = [p for p in pairs or [] if "=" not in p or not p.split("=", 1)[0]]
    if bad:
        raise ValidationError(f"--tag takes KEY=VALUE, e.g. --tag city=pingdu. Got {bad[0]!r}.")
    return dict(p.split("=", 1) for p in pairs or [])


def _lineage(text: str | None) -> list[Any]:
    try:
        refs = json.loads(text) if text else []
    except json.JSONDecodeError as exc:
        example = '[{"kind": "dataset", "name": "tickets.xlsx"}]'
        raise ValidationError(f"--lineage must be a JSON list of refs, e.g. '{example}' ({exc}).") from None
    if not isinstance(refs, list):
        raise ValidationError(f"--lineage must be a JSON list of refs. Got {type(refs).__name__}.")
    return refs


@app.command("list")
def list_assets(
    kind: Annotated[str | None, typer.Argument(help="model|algorithm|rule|knowledge|component")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="KEY=VALUE, repeatable")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List assets, optionally of one kind and with given tags."""
    assets = _registry().search(kind=kind, tags=_tags(tag))
    emit(
        [a.to_dict() for a in assets],
        as_json=as_json,
        columns=["kind", "name", "latest_version", "aliases", "description"],
        title="citymind registry",
    )


@app.command()
def show(
    ref: Annotated[str, typer.Argument(help="name, name@alias, name/3 or models:/...")],
    as_json: JsonOpt = False,
) -> None:
    """Show one version (latest unless an alias or version is given)."""
    version = _registry().resolve(ref)
    emit(
        version.to_dict(),
        as_json=as_json,
        columns=["kind", "name", "version", "format", "aliases", "tags", "lineage", "source"],
    )


@app.command()
def versions(name: str, as_json: JsonOpt = False) -> None:
    """List every version of an asset with its aliases."""
    rows = [v.to_dict() for v in _registry().versions(name)]
    emit(rows, as_json=as_json, columns=["version", "format", "aliases", "created_at", "run_id"], title=name)


@app.command()
def alias(
    name: str,
    alias: str,
    version: Annotated[int | None, typer.Argument(help="version to point at")] = None,
    delete: Annotated[bool, typer.Option("--delete", help="remove the alias")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Point ALIAS of NAME at VERSION (e.g. promote to champion), or --delete it."""
    reg = _registry()
    if delete:
        reg.delete_alias(name, alias)
        emit({"name": name, "alias": alias, "deleted": True}, as_json=as_json)
        return
    if version is None:
        raise typer.BadParameter("give the VERSION to point the alias at, or --delete")
    existing = reg.get(name).aliases
    emit(
        _set_alias(reg, name, alias, version, existing.get(alias)).to_dict(),
        as_json=as_json,
        columns=["name", "version", "aliases"],
    )
    close = difflib.get_close_matches(alias, [*existing, *SERVING_ALIASES], n=1, cutoff=0.7)
    if alias not in existing and close and close[0] != alias:
        typer.echo(f"note: {alias!r} is a new alias of {name}; did you mean {close[0]!r}?", err=True)


@app.command()
def rollback(
    name: str,
    alias: Annotated[str, typer.Option(help="alias to move back")] = "champion",
    as_json: JsonOpt = False,
) -> None:
    """Move an alias back to the version it pointed at before."""
    reg = _registry()
    before = reg.get(name).aliases.get(alias)
    moved = reg.rollback(name, alias)
    emit(moved.to_dict(), as_json=as_json, columns=["name", "version", "aliases"])
    _note_new_inputs(reg, name, alias, before, moved.version)


def _set_alias(reg: Any, name: str, alias: str, version: int, before: int | None) -> Any:
    """Point the alias (at ``before`` until now) at the version, with a note when that changes the inputs its
    callers must send."""
    moved = reg.set_alias(name, alias, version)
    _note_new_inputs(reg, name, alias, before, moved.version)
    return moved


def _note_new_inputs(reg: Any, name: str, alias: str, before: int | None, after: int) -> None:
    """A note on stderr when the alias moved to an ONNX model that takes other inputs than the version it left:
    a gateway following the alias swaps within seconds, and every caller still sending the old inputs gets a 422."""
    if before is None or int(before) == int(after):
        return
    old, new = reg.version(name, before), reg.version(name, after)
    if old.kind.value != "model" or old.format != "onnx" or new.format != "onnx":
        return
    took, takes = (onnx_inputs(reg.load(f"{name}/{v.version}")) for v in (old, new))
    if took != takes:
        typer.echo(
            f"note: {name}/{after} takes inputs {_listed(takes)}; {name}/{before}, which @{alias} left, took "
            f"{_listed(took)}. Callers of {name}@{alias} must send the new inputs (a caller still sending the old "
            f"ones gets a 422); `citymind registry rollback {name} --alias {alias}` moves it back.",
            err=True,
        )


def _listed(inputs: dict[str, str]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in inputs.items())


@app.command()
def lineage(
    name: str,
    version: int,
    direction: Annotated[str, typer.Option(help="up (came from) or down (used by)")] = "up",
    as_json: JsonOpt = False,
) -> None:
    """Trace what a version came from, or what uses it."""
    refs = _registry().lineage(name, version, direction)
    emit(
        [r.to_dict() for r in refs],
        as_json=as_json,
        columns=["kind", "name", "version", "detail"],
        title=f"{name}/{version} {direction}",
    )


@app.command()
def register(
    file: Annotated[Path, typer.Option("--file", help=".onnx, .yaml, .json file or folder")],
    kind: Annotated[str, typer.Option(help="model|algorithm|rule|knowledge|component")],
    name: Annotated[str, typer.Option(help="asset name")],
    description: str = "",
    tag: Annotated[list[str] | None, typer.Option(help="KEY=VALUE, repeatable")] = None,
    lineage_json: Annotated[str | None, typer.Option("--lineage", help="JSON list of refs")] = None,
    alias: Annotated[str | None, typer.Option(help="alias to set on the new version")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Register a file or folder as a new version (a rule file is validated and its tests run first)."""
    tags, refs = _tags(tag), _lineage(lineage_json)
    reg = _registry()
    if kind == "rule":
        check_ruleset(load_rules(file))
    version = reg.register(kind, name, file, description=description, tags=tags, lineage=refs)
    if alias:
        version = _set_alias(reg, name, alias, version.version, reg.get(name).aliases.get(alias))
    emit(version.to_dict(), as_json=as_json, columns=["kind", "name", "version", "format", "aliases"])
