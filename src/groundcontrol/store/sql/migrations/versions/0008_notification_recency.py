"""The recent-notifications list and the notifications' retention sweep read by index:
newest first per state by (state, updated_at), where both sorted or filtered every
notification ever stored (store/sql/notification_list.py, store/sql/retention.py).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_notifications_state_updated", "notifications", ["state", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_notifications_state_updated", "notifications")
