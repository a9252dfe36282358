"""``citymind rules ...``: validate rule files and publish their JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import typer

app = typer.Typer(help="Rule files (规则库): validation and schema.", no_args_is_help=True)


@app.command()
def schema() -> None:
    """Print the JSON Schema of rule files (point your editor's YAML plugin at it)."""
    from rules.schema import SCHEMA

    typer.echo(json.dumps(SCHEMA, ensure_ascii=False, indent=2))


@app.command()
def validate(files: list[Path]) -> None:
    """Validate rule files; every problem is printed as file:line:col: message."""
    from rules.loader import RuleFileError, load_rules

    failed = False
    for path in files:
        try:
            rules = load_rules(path)
        except RuleFileError as exc:
            failed = True
            for problem in exc.problems:
                typer.echo(problem, err=True)
            continue
        typer.echo(f"{path}: {len(rules.rules)} rules OK")
    if failed:
        raise typer.Exit(1)
