"""``citymind events ...``: the event records (事件台账): migrate their database, list, purge, and report on them
(综合评判)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from citymind.cli._output import emit
from citymind.errors import ValidationError
from events.evaluation import GROUP_BY, RATES, evaluate
from events.records import EventFilter, EventRecords

app = typer.Typer(help="Event records: every triaged report, warning and video event, and their outcomes.",
                  no_args_is_help=True)  # fmt: skip
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def open_records(migrate: bool = True) -> EventRecords:
    """The store the settings name (``CITYMIND_EVENTS_URL``, default ``<home>/events.db``)."""
    records = EventRecords.from_settings(migrate=migrate)
    if records is None:
        raise ValidationError("CITYMIND_EVENTS_URL is 'off': there are no event records to read")
    return records


@app.command("migrate")
def migrate() -> None:
    """Create or upgrade the event records' tables to this version's schema (Alembic; safe to run again)."""
    records = open_records(migrate=False)
    revision = records.migrate()
    typer.echo(f"event records at {records.status()['url']}: schema {revision}")


@app.command("purge")
def purge() -> None:
    """Delete events older than ``CITYMIND_RETENTION_DAYS`` (default 365) with their outcomes."""
    records = open_records()
    typer.echo(f"purged {records.purge()} events older than {records.retention_days} days")


@app.command("list")
def list_events(
    status: Annotated[str | None, typer.Option()] = None,
    department: Annotated[str | None, typer.Option()] = None,
    area: Annotated[str | None, typer.Option()] = None,
    category: Annotated[str | None, typer.Option()] = None,
    overdue: Annotated[bool | None, typer.Option("--overdue/--not-overdue")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
    as_json: JsonOpt = False,
) -> None:
    """The newest recorded events, filtered."""
    page = open_records().page(EventFilter(status, department, area, category, overdue=overdue), limit)
    columns = ("id", "at", "kind", "area", "category", "department", "priority", "status", "due_at")
    emit(page["events"], as_json=as_json, columns=None if as_json else columns, title="events")


@app.command("report")
def report(
    since: Annotated[str | None, typer.Option("--from", help="ISO 8601 day or time (default: 30 days ago).")] = None,
    until: Annotated[str | None, typer.Option("--to", help="ISO 8601, excluded (default: now).")] = None,
    by: Annotated[str, typer.Option(help=f"Group by: {', '.join(GROUP_BY)}.")] = "department",
    kind: Annotated[str, typer.Option(help="report, warning, video or any.")] = "report",
    chart: Annotated[Path | None, typer.Option(help="Also draw the rates to this file (.svg or .png).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """综合评判: first-time-right dispatch, category accuracy, SLA compliance, median times, satisfaction and
    reopen rate of the recorded events, per department, area, category, model version or rule set."""
    result = evaluate(open_records(), by=by, since=_epoch(since), until=_epoch(until),
                      kind=None if kind == "any" else kind)  # fmt: skip
    if as_json:
        emit(result, as_json=True)
    else:
        rows = [_row(g) for g in [*result["groups"], result["overall"]]]
        columns = ("group", "volume", *(m for m, _, _ in RATES), "returned", "reassigned", "accept_h", "resolve_h")
        emit(rows, as_json=False, columns=columns, title=f"evaluation by {by}")
    if chart is not None:
        from citymind.cli.report_chart import draw

        for short, name in draw(result, chart):
            typer.echo(f"{short} = {name}", err=True)
        typer.echo(f"chart written to {chart}", err=True)


def _epoch(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        raise ValidationError(f"times are ISO 8601, e.g. 2026-11-30 or 2026-11-30T08:00; got {value!r}") from None


def _row(group: dict[str, Any]) -> dict[str, Any]:
    """A group as the table shows it: rates in per cent, median times in hours."""
    rates = {m: "–" if group[m] is None else f"{group[m]:.1%}" for m, _, _ in RATES}
    hours = {f"{t}_h": "–" if group[f"median_{t}_s"] is None else f"{group[f'median_{t}_s'] / 3600:.1f}"
             for t in ("accept", "resolve")}  # fmt: skip
    return {**group, **rates, **hours}
