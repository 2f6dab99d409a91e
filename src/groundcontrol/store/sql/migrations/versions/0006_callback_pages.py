"""Callback pages and sweeps: the admin list reads callbacks newest first by
(created_at, id), and retention finds delivered or dead ones by (state, updated_at),
both by index once `notification.status` makes the table grow with every message.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_callbacks_created": ["created_at", "id"],
    "ix_callbacks_finished": ["state", "updated_at"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "callbacks", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, "callbacks")
