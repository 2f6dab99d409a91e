"""Notifications and follow-ups by (state, updated_at): the recent-notifications list
reads newest first per state, and the retention sweep reads only the old finished ones,
where both sorted or filtered every row ever stored (store/sql/notification_list.py,
store/sql/retention.py).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_notifications_state_updated": "notifications",
    "ix_follow_ups_finished": "follow_ups",
}


def upgrade() -> None:
    for name, table in INDEXES.items():
        op.create_index(name, table, ["state", "updated_at"])


def downgrade() -> None:
    for name, table in INDEXES.items():
        op.drop_index(name, table)
