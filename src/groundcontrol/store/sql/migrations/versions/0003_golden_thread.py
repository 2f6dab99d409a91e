"""The golden thread: each case keeps its open state, dark_since, promise and the time
its breach is due (indexed, so the clock finds breaches as it finds due messages);
breaches are kept one row each; callbacks to the source systems wait in an outbox.

Existing cases start their thread from what is known: opened when created, dark since
their last message (or creation). Their promise is set by their next status event.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def _ts(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


CASE_COLUMNS: tuple[sa.Column[object], ...] = (
    sa.Column("source", sa.String(100)),
    sa.Column("is_open", sa.Boolean(), nullable=False, server_default=sa.true()),
    _ts("opened_at"),
    _ts("dark_since"),
    sa.Column("promise_seconds", sa.Float()),
    sa.Column("deadline_epoch", sa.Float()),
    sa.Column("breach_due_epoch", sa.Float()),
    _ts("breached_at"),
    _ts("contact_at"),
    sa.Column("contact_kind", sa.String(20)),
    sa.Column("contact_channel", sa.String(10)),
    sa.Column("contact_notification_id", sa.String(40)),
)
CASE_INDEXES = {
    "ix_cases_breach_due": ["breach_due_epoch"],
    "ix_cases_deadline": ["deadline_epoch"],
    "ix_cases_open_dark": ["is_open", "dark_since"],
    "ix_cases_open_status_dark": ["is_open", "status", "dark_since"],
    "ix_cases_open_source_dark": ["is_open", "source", "dark_since"],
}


ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _breaches_table() -> None:
    op.create_table(
        "breaches",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(200), nullable=False),
        sa.Column("customer_id", sa.String(200), nullable=False),
        sa.Column("status", sa.String(100), nullable=False),
        sa.Column("source", sa.String(100)),
        sa.Column("dark_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_breaches_deadline", "breaches", ["deadline"])
    op.create_index("ix_breaches_case", "breaches", ["case_id"])


def _callbacks_table() -> None:
    op.create_table(
        "callbacks",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("case_id", sa.String(200), nullable=False),
        sa.Column("body", JSON, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(100)),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True)),
        sa.Column("lease_version", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_callbacks_due", "callbacks", ["state", "due_at"])


def upgrade() -> None:
    _breaches_table()
    _callbacks_table()
    for column in CASE_COLUMNS:
        op.add_column("cases", column)
    for name, columns in CASE_INDEXES.items():
        op.create_index(name, "cases", columns)
    op.execute(
        "UPDATE cases SET opened_at = created_at,"
        " dark_since = COALESCE(last_message_at, created_at),"
        " source = (SELECT events.source FROM events WHERE events.pk = cases.last_event_pk)"
    )


def downgrade() -> None:
    op.drop_table("callbacks")
    op.drop_table("breaches")
    for name in CASE_INDEXES:
        op.drop_index(name, "cases")
    for column in CASE_COLUMNS:
        op.drop_column("cases", column.name)
