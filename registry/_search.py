"""Paged MLflow registry searches and the filter strings citymind builds for them."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from citymind.errors import ValidationError
from registry._mlflow_support import retrying
from registry.kinds import KIND_TAG, Kind

_PAGE = 1000


def quote(value: str) -> str:
    return str(value).replace("'", "''")


def asset_filter(
    kind: Kind | str | None = None, tags: Mapping[str, str] | None = None, name_contains: str | None = None
) -> str:
    """One filter string that both ``search_registered_models`` and ``search_model_versions`` accept."""
    clauses = [f"tags.`{KIND_TAG}` = '{Kind.parse(kind).value}'"] if kind is not None else []
    for key, value in (tags or {}).items():
        if not key or "`" in key:
            raise ValidationError(f"Tag key {key!r} cannot be searched: use a non-empty key without backticks.")
        clauses.append(f"tags.`{key}` = '{quote(value)}'")
    if name_contains:
        clauses.append(f"name ILIKE '%{quote(name_contains)}%'")
    return " AND ".join(clauses)


def search_versions(
    client: Any, filter_string: str, order_by: list[str] | None = None, limit: int | None = None
) -> list[Any]:
    out: list[Any] = []
    token = None
    while True:
        page = retrying(
            partial(
                client.search_model_versions,
                filter_string,
                max_results=limit or _PAGE,
                order_by=order_by,
                page_token=token,
            )
        )
        out.extend(page)
        token = page.token
        if not token or (limit and len(out) >= limit):
            return out


def search_models(client: Any, filter_string: str) -> list[Any]:
    """Every registered model ``filter_string`` matches, page by page."""
    out: list[Any] = []
    token = None
    while True:
        page = retrying(
            partial(
                client.search_registered_models,
                filter_string=filter_string or None,
                max_results=_PAGE,
                page_token=token,
            )
        )
        out.extend(page)
        token = page.token
        if not token:
            return out


def search_names(client: Any, filter_string: str) -> list[str]:
    return [rm.name for rm in search_models(client, filter_string)]
