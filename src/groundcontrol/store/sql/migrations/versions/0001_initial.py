"""Initial schema: customers, cases, events, notifications, attempts, follow-ups, timeline.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("name", sa.Text()),
        sa.Column("email", sa.Text()),
        sa.Column("phone", sa.String(32)),
        sa.Column("chat_webhook", sa.Text()),
        sa.Column("locale", sa.String(35)),
        sa.Column("timezone", sa.String(64)),
        sa.Column("channels", JSON, nullable=False),
        sa.Column("opted_out", JSON, nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
    )
    op.create_index("ix_customers_phone", "customers", ["phone"])
    op.create_table(
        "cases",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("customer_id", sa.String(200), nullable=False),
        sa.Column("status", sa.String(100), nullable=False),
        sa.Column("previous_status", sa.String(100)),
        _ts("status_at"),
        sa.Column("sequence", sa.BigInteger()),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("last_event_pk", ID),
        _ts("last_message_at", nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
    )
    op.create_index("ix_cases_customer", "cases", ["customer_id"])
    op.create_table(
        "events",
        sa.Column("pk", ID, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("case_id", sa.String(200), nullable=False),
        sa.Column("status", sa.String(100), nullable=False),
        _ts("occurred_at"),
        _ts("received_at"),
        sa.Column("body_hash", sa.String(64), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("notification_ids", JSON, nullable=False),
        sa.UniqueConstraint("source", "event_id", name="uq_events_source_event_id"),
    )
    op.create_index("ix_events_case", "events", ["case_id"])
    op.create_table(
        "notifications",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("case_id", sa.String(200), nullable=False),
        sa.Column("customer_id", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("template", sa.String(200), nullable=False),
        sa.Column("status", sa.String(100), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        _ts("due_at"),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(100)),
        _ts("lease_expires_at", nullable=True),
        sa.Column("lease_version", sa.Integer(), nullable=False),
        sa.Column("message_key", sa.String(80), nullable=False),
        sa.Column("previous_id", sa.String(40)),
        sa.Column("tried_channels", JSON, nullable=False),
        sa.Column("provider_id", sa.String(100)),
        sa.Column("segments", sa.Integer()),
        sa.Column("last_error", sa.Text()),
        _ts("sent_at", nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
    )
    op.create_index("ix_notifications_due", "notifications", ["state", "priority", "due_at"])
    op.create_index("ix_notifications_lease", "notifications", ["state", "lease_expires_at"])
    op.create_index("ix_notifications_case", "notifications", ["case_id", "state"])
    op.create_index("ix_notifications_customer_sent", "notifications", ["customer_id", "sent_at"])
    op.create_index("ix_notifications_provider", "notifications", ["provider_id"])
    op.create_table(
        "attempts",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("notification_id", sa.String(40), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("lease_version", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(100), nullable=False),
        _ts("started_at"),
        _ts("finished_at", nullable=True),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("provider_id", sa.String(100)),
    )
    op.create_index("ix_attempts_notification", "attempts", ["notification_id", "lease_version"])
    op.create_table(
        "follow_ups",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(200), nullable=False),
        sa.Column("customer_id", sa.String(200), nullable=False),
        sa.Column("status", sa.String(100), nullable=False),
        sa.Column("template", sa.String(200), nullable=False),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        _ts("due_at"),
        sa.Column("every_seconds", sa.Float()),
        sa.Column("max_count", sa.Integer(), nullable=False),
        sa.Column("fired", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
    )
    op.create_index("ix_follow_ups_due", "follow_ups", ["state", "due_at"])
    op.create_index("ix_follow_ups_case", "follow_ups", ["case_id", "state"])
    op.create_table(
        "timeline",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(200), nullable=False),
        _ts("at"),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("notification_id", sa.String(40)),
        sa.Column("detail", JSON, nullable=False),
    )
    op.create_index("ix_timeline_case", "timeline", ["case_id", "id"])


def downgrade() -> None:
    for table in (
        "timeline",
        "follow_ups",
        "attempts",
        "notifications",
        "events",
        "cases",
        "customers",
    ):
        op.drop_table(table)
