"""``citymind events ...``: the event records (事件台账): migrate their database, list, purge."""

from __future__ import annotations

from typing import Annotated

import typer

from citymind.cli._output import emit
from citymind.errors import ValidationError
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
