"""drop ix_events_reporter_at: no query reads events by reporter (repeat callers are counted by the recent-report
store, refilled by time; backtests count them over rows read by time), and every record paid a write at a random
place of it (docs/benchmarks/event_store.json)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_events_reporter_at", table_name="events")


def downgrade() -> None:
    op.create_index("ix_events_reporter_at", "events", ["reporter", "at"])
