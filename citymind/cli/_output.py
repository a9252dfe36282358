"""Print tables for people and JSON for programs, from the same rows."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import typer

#: free-text columns: one line each in a table, cut with … (all of it in --json)
PROSE = frozenset({"description", "title", "reply", "summary", "text"})


def emit(
    rows: Sequence[Mapping[str, Any]] | Mapping[str, Any],
    *,
    as_json: bool,
    columns: Iterable[str] | None = None,
    title: str | None = None,
) -> None:
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    from rich.cells import cell_len
    from rich.console import Console
    from rich.table import Table

    if isinstance(rows, Mapping):
        _record(rows, list(columns or rows.keys()), title)
        return
    items = list(rows)
    cols = list(columns or (items[0].keys() if items else []))
    cells = [[_cell(item.get(col), col) for col in cols] for item in items]
    console = Console()
    widths = [max([cell_len(col), *(cell_len(row[i]) for row in cells)]) for i, col in enumerate(cols)]
    prose = [col in PROSE for col in cols]
    # free text gets the width the other columns leave (3 per column for borders and padding), at least 16
    left = console.width - 1 - sum(3 + w for w, p in zip(widths, prose, strict=True) if not p) - 3 * sum(prose)
    table = Table(title=title, show_lines=False)
    for col, is_prose in zip(cols, prose, strict=True):  # names and ids fold onto more lines, never lose their ends
        width = max(16, left // max(1, sum(prose))) if is_prose else None
        table.add_column(col, no_wrap=is_prose, overflow="ellipsis" if is_prose else "fold", max_width=width)
    for row in cells:
        table.add_row(*row)
    console.print(table)


def _record(record: Mapping[str, Any], fields: list[str], title: str | None) -> None:
    """One record as field/value lines: its tags and lineage one entry a line, so nothing wraps word by word."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_header=False, box=None, padding=(0, 2, 0, 0))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for field in fields:
        value = record.get(field)
        if isinstance(value, Mapping):
            text = "\n".join(f"{k}={v}" for k, v in value.items())
        elif isinstance(value, list | tuple) and value and all(isinstance(v, Mapping) for v in value):
            text = "\n".join(_cell(v) for v in value)
        else:
            text = _cell(value, field)
        table.add_row(field, text)
    Console().print(table)


def _cell(value: Any, column: str = "") -> str:
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool) and _is_time(column):
        return _when(value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def _is_time(column: str) -> bool:
    return column in ("at", "created", "updated") or column.endswith("_at")


def _when(epoch: float) -> str:
    """An epoch in seconds or, as MLflow keeps them, milliseconds, as local time to the minute."""
    from datetime import datetime

    return datetime.fromtimestamp(epoch / 1000 if epoch > 1e11 else epoch).strftime("%Y-%m-%d %H:%M")
