"""``citymind rules ...``: what a rule author runs: validate, test, try an event, backtest, publish, roll back."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from citymind.cli._output import emit
from citymind.cli.rule_checks import validate_file
from registry import MlflowRegistry
from rules.engine import RuleEngine
from rules.loader import RuleFileError, load_rules, rule_file_of
from rules.schema import SCHEMA, TESTS_SCHEMA
from rules.service import load_registered, register_ruleset
from rules.testing import backtest, compare_reports, events_from_csv, run_tests

app = typer.Typer(help="Rule files (规则库): validate, test, backtest, publish, roll back.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
NameOpt = Annotated[str, typer.Option(help="rule set name in the registry")]


def _rule_files(files: list[Path]) -> list[Path]:
    """The rule files ``files`` name, each once: a ``*.test.yaml`` stands for the rule file beside it."""

    return list(dict.fromkeys(rule_file_of(f) for f in files))


def _problems(exc: Any) -> None:
    for problem in exc.problems:
        typer.echo(problem, err=True)


@app.command()
def schema(tests: Annotated[bool, typer.Option("--tests", help="the schema of *.test.yaml files")] = False) -> None:
    """Print the JSON Schema of rule files (point your editor's YAML plugin at it)."""

    typer.echo(json.dumps(TESTS_SCHEMA if tests else SCHEMA, ensure_ascii=False, indent=2))


@app.command()
def validate(
    files: list[Path],
    data: Annotated[
        Path | None, typer.Option(help="CSV of backtest rows: warn on thresholds and values outside what it holds")
    ] = None,
    value_col: Annotated[str | None, typer.Option(help="with --data: the column to read as `value`")] = None,
    as_json: JsonOpt = False,
    strict: Annotated[bool, typer.Option("--strict", help="exit 1 on warnings too")] = False,
) -> None:
    """Check rule files (and the tests beside them) in one pass: every error and warning as
    file:line:col: severity: message (hint). Exit 1 on errors (with --strict, on warnings too)."""

    rows = None if data is None else [row for _, row in events_from_csv(data, value_col=value_col)]
    reports = [validate_file(path, rows) for path in _rule_files(files)]
    if as_json:
        typer.echo(json.dumps({"files": reports}, ensure_ascii=False, indent=2))
    else:
        for report in reports:
            for problem in report["problems"]:
                typer.echo(_line(problem), err=True)
            typer.echo(_summary(report))
    errors = sum(r["errors"] for r in reports)
    if errors or (strict and sum(r["warnings"] for r in reports)):
        raise typer.Exit(1)


def _line(problem: dict[str, Any]) -> str:
    hint = f" ({problem['hint']})" if problem["hint"] else ""
    where = f"{problem['file']}:{problem['line']}:{problem['column']}"
    return f"{where}: {problem['severity']}: {problem['message']}{hint}"


def _count(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def _summary(report: dict[str, Any]) -> str:
    errors, warnings = _count(report["errors"], "error"), _count(report["warnings"], "warning")
    if report["errors"]:
        return f"{report['file']}: {errors}, {warnings}"
    warned = f" ({warnings})" if report["warnings"] else ""
    return f"{report['file']}: {report['rules']} rules, {report['tests']} tests OK{warned}"


@app.command("test")
def test_rules(files: list[Path]) -> None:
    """Run the tests in rule files and beside them (x.yaml → x.test.yaml); a failure prints a diff, exit 1."""

    failures = 0
    for path in _rule_files(files):
        try:
            results = run_tests(load_rules(path))
        except RuleFileError as exc:
            failures += 1
            _problems(exc)
            continue
        for result in results:
            if not result.ok:
                failures += 1
                typer.echo(f"FAIL {path}: {result.diff()}", err=True)
        typer.echo(f"{path}: {sum(r.ok for r in results)}/{len(results)} tests passed")
    if failures:
        raise typer.Exit(1)


@app.command("eval")
def eval_event(
    file: Path,
    event: Annotated[str, typer.Option(help='the event as JSON, e.g. \'{"text": "有煤气味", "confidence": 0.9}\'')],
    kind: Annotated[str, typer.Option(help="dispatch | alert | video")] = "dispatch",
) -> None:
    """Show which rules fire on one event, each with its explanation (condition, values, thresholds)."""

    try:
        payload = json.loads(event)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"--event is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise typer.BadParameter("--event must be a JSON object of the event's fields")
    firings = RuleEngine(load_rules(file)).evaluate(kind, payload, float(payload.get("t", 0)))
    typer.echo(json.dumps([f.to_dict() for f in firings], ensure_ascii=False, indent=2, default=str))


@app.command("backtest")
def backtest_rules(
    rules_ref: Annotated[str, typer.Argument(metavar="RULES", help="a rule file, or name@alias / name/3 registered")],
    data: Annotated[Path | None, typer.Option(help="CSV of history (one row per event or per hour)")] = None,
    events: Annotated[
        bool, typer.Option("--events", help="replay the recorded reports (dispatch rules) instead of a CSV")
    ] = False,
    since: Annotated[str | None, typer.Option(help="with --events: reports from this ISO date on")] = None,
    kind: Annotated[str, typer.Option(help="dispatch | alert | video")] = "alert",
    value_col: Annotated[str | None, typer.Option(help="column to expose as `value` (alert rules)")] = None,
    time_cols: Annotated[str, typer.Option(help="columns that make the timestamp, e.g. year,month,day,hour")] = "",
    compare: Annotated[str | None, typer.Option(help="a second rule file or registered version")] = None,
    constants: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="FIELD=VALUE", help="a field every row gets, e.g. --set indicator=pm25"),
    ] = None,
) -> None:
    """Run rules over history with no side effects; per rule: would_fire, hit_rate, first and last firing.
    With ``--events``: how the rules would have decided the recorded reports (changed priority, SLA, transfer,
    review queue) next to what happened to those reports (escalated, overdue, returned, reassigned ...)."""

    if events == (data is not None):
        raise typer.BadParameter("give either --data FILE or --events")
    if data is None:
        typer.echo(json.dumps(_events_backtest(rules_ref, since), ensure_ascii=False, indent=2, default=str))
        return
    times = [c for c in time_cols.split(",") if c]
    rows = events_from_csv(data, value_col=value_col, time_cols=times, constants=_constants(constants or []))
    report: dict[str, Any] = {"rows": len(rows), "rules": {rules_ref: backtest(_ruleset(rules_ref), kind, rows)}}
    if compare is not None:
        report["rules"][compare] = backtest(_ruleset(compare), kind, rows)
        report["changes"] = compare_reports(report["rules"][rules_ref], report["rules"][compare])
    typer.echo(json.dumps(report, ensure_ascii=False, indent=2, default=str))
    for rule, row in report["rules"][rules_ref].items():
        if not row["would_fire"] and row["unseen"]:
            fields = ", ".join(row["unseen"])
            typer.echo(f"{rule} never fired: no row has {fields} (a column, or --set FIELD=VALUE)", err=True)


def _constants(pairs: list[str]) -> dict[str, object]:
    """``FIELD=VALUE`` pairs; a VALUE that reads as JSON (a number, true) is that value, else the text."""
    out: dict[str, object] = {}
    for pair in pairs:
        field, sep, text = pair.partition("=")
        if not sep or not field:
            raise typer.BadParameter(f"--set takes FIELD=VALUE, e.g. --set indicator=pm25. Got {pair!r} instead.")
        try:
            out[field] = json.loads(text)
        except ValueError:
            out[field] = text
    return out


def _events_backtest(rules_ref: str, since: str | None) -> dict[str, Any]:
    from citymind.cli.events import open_records
    from events.backtest import backtest_events  # the event store's and triage's libraries: here only

    start = None
    if since is not None:
        try:
            start = datetime.fromisoformat(since).timestamp()
        except ValueError:
            raise typer.BadParameter(f"--since must be an ISO date, e.g. 2026-01-01. Got {since!r} instead.") from None
    records = open_records()
    try:
        return backtest_events(records, _ruleset(rules_ref), since=start)
    finally:
        records.close()


def _ruleset(ref: str) -> Any:
    if Path(ref).is_file():
        return load_rules(Path(ref))

    return load_registered(_registry(), ref)


def _registry() -> Any:
    return MlflowRegistry.from_settings()


@app.command()
def register(
    file: Path,
    name: NameOpt = "pingdu-rules",
    alias: Annotated[str, typer.Option(help="alias to move to the new version ('' for none)")] = "production",
    description: str = "",
    as_json: JsonOpt = False,
) -> None:
    """Validate FILE, run its tests, and register it as a new version of NAME (alias production by default)."""

    version = register_ruleset(_registry(), name, file, alias=alias or None, description=description)
    emit(version.to_dict(), as_json=as_json, columns=["kind", "name", "version", "aliases", "tags"])


@app.command()
def rollback(name: NameOpt = "pingdu-rules", alias: str = "production", as_json: JsonOpt = False) -> None:
    """Move the alias back to the rule set it served before; services follow within their refresh interval."""
    emit(_registry().rollback(name, alias).to_dict(), as_json=as_json, columns=["name", "version", "aliases"])
