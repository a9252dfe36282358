"""Alembic's environment for the event records: the connection comes from ``EventRecords.migrate`` (never a URL
in an ini file), so ``citymind events migrate`` and the gateway's start migrate the same way."""

from __future__ import annotations

from alembic import context

from events.records.schema import VERSION_TABLE, metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True, version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()
