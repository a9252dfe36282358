"""events and outcomes

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("report_id", sa.String(64)),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("recorded_at", sa.Float, nullable=False),
        sa.Column("channel", sa.String(30)),
        sa.Column("area", sa.String(50)),
        sa.Column("text", sa.Text),
        sa.Column("reporter", sa.String(64)),
        sa.Column("category", sa.String(100)),
        sa.Column("confidence", sa.Float),
        sa.Column("model", sa.String(100)),
        sa.Column("model_version", sa.String(20)),
        sa.Column("model_arm", sa.String(16)),
        sa.Column("lead", sa.String(100)),
        sa.Column("assists", sa.Text),
        sa.Column("priority", sa.String(4)),
        sa.Column("sla_s", sa.Integer),
        sa.Column("due_at", sa.Float),
        sa.Column("escalate_after_s", sa.Integer),
        sa.Column("escalate_at", sa.Float),
        sa.Column("transfer", sa.String(8)),
        sa.Column("queue", sa.String(30)),
        sa.Column("merged_into", sa.String(64)),
        sa.Column("knowledge_version", sa.String(100)),
        sa.Column("ruleset_version", sa.String(100)),
        sa.Column("rules_fired", sa.Text),
        sa.Column("detail", sa.Text),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("department", sa.String(100)),
        sa.Column("final_category", sa.String(100)),
        sa.Column("accepted_at", sa.Float),
        sa.Column("resolved_at", sa.Float),
        sa.Column("closed_at", sa.Float),
        sa.Column("satisfaction", sa.String(8)),
        sa.Column("returns", sa.Integer, nullable=False, server_default="0"),
        sa.Column("reassigns", sa.Integer, nullable=False, server_default="0"),
        sa.Column("corrected", sa.Integer, nullable=False, server_default="0"),
        sa.Column("reopens", sa.Integer, nullable=False, server_default="0"),
        sa.Column("escalated_at", sa.Float),
        sa.Column("revision", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("ix_events_at", "events", ["at"])
    op.create_index("ix_events_open", "events", ["status", "due_at"])
    op.create_index("ix_events_department_at", "events", ["department", "at"])
    op.create_index("ix_events_area_at", "events", ["area", "at"])
    op.create_index("ix_events_category_at", "events", ["category", "at"])
    op.create_index("ix_events_reporter_at", "events", ["reporter", "at"])
    op.create_table(
        "outcomes",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(32), sa.ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
        sa.Column("outcome_id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(24), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("recorded_at", sa.Float, nullable=False),
        sa.Column("department", sa.String(100)),
        sa.Column("category", sa.String(100)),
        sa.Column("reason", sa.Text),
        sa.Column("reply", sa.Text),
        sa.Column("satisfaction", sa.String(8)),
        sa.Column("rules", sa.Text),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("by", sa.String(40)),
        sa.UniqueConstraint("event_id", "outcome_id", name="uq_outcomes_event_outcome"),
    )
    op.create_index("ix_outcomes_event", "outcomes", ["event_id", "seq"])


def downgrade() -> None:
    op.drop_table("outcomes")
    op.drop_table("events")
