"""Print tables for people and JSON for programs, from the same rows."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import typer


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
    from rich.console import Console
    from rich.table import Table

    items = [rows] if isinstance(rows, Mapping) else list(rows)
    cols = list(columns or (items[0].keys() if items else []))
    table = Table(title=title, show_lines=False)
    for col in cols:
        table.add_column(col)
    for item in items:
        table.add_row(*[_cell(item.get(col)) for col in cols])
    Console().print(table)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)
