"""``citymind rules ...``: validate rule files and publish their JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

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


@app.command("test")
def test_rules(files: list[Path]) -> None:
    """Run the tests written in rule files; a failure prints what was expected and what fired, exit 1."""
    from rules.loader import load_rules
    from rules.testing import run_tests

    failures = 0
    for path in files:
        results = run_tests(load_rules(path))
        for result in results:
            if not result.ok:
                failures += 1
                typer.echo(f"FAIL {path}: {result.diff()}", err=True)
        typer.echo(f"{path}: {sum(r.ok for r in results)}/{len(results)} tests passed")
    if failures:
        raise typer.Exit(1)


@app.command("backtest")
def backtest_rules(
    file: Path,
    data: Annotated[Path, typer.Option(help="CSV of history (one row per event or per hour)")],
    kind: Annotated[str, typer.Option(help="dispatch | alert | video")] = "alert",
    value_col: Annotated[str | None, typer.Option(help="column to expose as `value` (alert rules)")] = None,
    time_cols: Annotated[str, typer.Option(help="columns that make the timestamp, e.g. year,month,day,hour")] = "",
    compare: Annotated[Path | None, typer.Option(help="a second rule file to compare with")] = None,
) -> None:
    """Run rules over history with no side effects; per rule: would_fire, hit_rate, first and last firing."""
    from rules.loader import load_rules
    from rules.testing import backtest, events_from_csv

    events = events_from_csv(data, value_col=value_col, time_cols=[c for c in time_cols.split(",") if c])
    report = {str(file): backtest(load_rules(file), kind, events)}
    if compare is not None:
        report[str(compare)] = backtest(load_rules(compare), kind, events)
    typer.echo(json.dumps({"rows": len(events), "rules": report}, ensure_ascii=False, indent=2, default=str))
