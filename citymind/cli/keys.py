"""``citymind keys create|list|revoke``: API keys for the gateway and for registry-changing commands."""

from __future__ import annotations

from typing import Annotated

import typer

from citymind.access import ROLES, key_store
from citymind.cli._output import emit

app = typer.Typer(help=f"API keys (hashed at rest) with roles: {', '.join(ROLES)}.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@app.command()
def create(
    name: Annotated[str, typer.Option(help="who or what uses it, e.g. 12345-intake-service")],
    role: Annotated[str, typer.Option(help=" | ".join(ROLES))] = "consumer",
) -> None:
    """Create a key and print it once (only its salted hash is kept). The first key must be an admin's."""

    store = key_store()
    if not store.active() and role != "admin":
        raise typer.BadParameter("the first key must be an admin key (--role admin): keys are needed once any exist")
    record, secret = store.create(name, role)
    typer.echo(f"created key {record.id} ({record.role}) for {record.name}; it is shown only now:\n{secret}")


@app.command("list")
def list_keys(as_json: JsonOpt = False) -> None:
    """Keys by id, name, role, creation time and whether revoked (never the secrets)."""

    rows = [k.public() for k in key_store().keys().values()]
    emit(rows, as_json=as_json, columns=["id", "name", "role", "created", "revoked"], title="citymind keys")


@app.command()
def revoke(key_id: str) -> None:
    """Revoke a key; gateways reading the keys file refuse it within a second."""

    record = key_store().revoke(key_id)
    typer.echo(f"revoked key {record.id} ({record.role}) of {record.name}")
