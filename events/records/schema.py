"""The event records' tables (SQLAlchemy Core), one schema for SQLite and PostgreSQL; Alembic migrations
(``events/records/migrations``) create and change them. ``events`` holds each event as it was decided and, beside
it, where it stands now (status, department, category, the outcome times and counts), so listing and 综合评判
read one table; ``outcomes`` is the append-only timeline the dispatch system writes."""

from __future__ import annotations

from sqlalchemy import Column, Float, ForeignKey, Index, Integer, MetaData, String, Table, Text, UniqueConstraint

metadata = MetaData()
#: Alembic's revision table of these tables: not ``alembic_version``, which MLflow's own migrations use, so the
#: records may live in the registry's PostgreSQL database
VERSION_TABLE = "citymind_events_version"

events = Table(
    "events",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(16), nullable=False),  # report | warning | video
    Column("report_id", String(64)),  # the channel's own id, when it gave one
    Column("at", Float, nullable=False),  # when it happened (epoch s)
    Column("recorded_at", Float, nullable=False),
    Column("channel", String(30)),
    Column("area", String(50)),
    Column("text", Text),  # masked: personal data never reaches the store
    Column(
        "reporter", String(64)
    ),  # a keyed hash of the reporter's id, never the id (not indexed: nothing reads by it)
    Column("category", String(100)),  # as decided
    Column("confidence", Float),
    Column("model", String(100)),
    Column("model_version", String(20)),
    Column("model_arm", String(16)),  # champion | challenger
    Column("lead", String(100)),
    Column("assists", Text),  # JSON list
    Column("priority", String(4)),
    Column("sla_s", Integer),
    Column("due_at", Float),
    Column("escalate_after_s", Integer),
    Column("escalate_at", Float),
    Column("transfer", String(8)),
    Column("queue", String(30)),
    Column("merged_into", String(64)),  # 并单: the earlier report this one duplicates
    Column("knowledge_version", String(100)),
    Column("ruleset_version", String(100)),
    Column("rules_fired", Text),  # JSON list of rule ids
    Column("detail", Text),  # JSON: what a warning or video event came from
    # where it stands now, from its outcomes
    Column("status", String(16), nullable=False),
    Column("department", String(100)),
    Column("final_category", String(100)),
    Column("accepted_at", Float),
    Column("resolved_at", Float),
    Column("closed_at", Float),
    Column("satisfaction", String(8)),
    Column("returns", Integer, nullable=False, default=0),
    Column("reassigns", Integer, nullable=False, default=0),
    Column("corrected", Integer, nullable=False, default=0),
    Column("reopens", Integer, nullable=False, default=0),
    Column("escalated_at", Float),
    Column("revision", Integer, nullable=False, default=0),  # optimistic lock of the status columns
    Index("ix_events_at", "at"),
    Index("ix_events_open", "status", "due_at"),
    Index("ix_events_department_at", "department", "at"),
    Index("ix_events_area_at", "area", "at"),
    Index("ix_events_category_at", "category", "at"),
)

outcomes = Table(
    "outcomes",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(32), ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    Column("outcome_id", String(64), nullable=False),  # the caller's: a retried outcome is applied once
    Column("type", String(24), nullable=False),
    Column("at", Float, nullable=False),
    Column("recorded_at", Float, nullable=False),
    Column("department", String(100)),
    Column("category", String(100)),
    Column("reason", Text),
    Column("reply", Text),
    Column("satisfaction", String(8)),
    Column("rules", Text),  # escalated: JSON list of the overdue rules that fired
    Column("status", String(16), nullable=False),  # the event's status after it
    Column("by", String(40)),  # the API key that wrote it
    UniqueConstraint("event_id", "outcome_id", name="uq_outcomes_event_outcome"),
    Index("ix_outcomes_event", "event_id", "seq"),
)
