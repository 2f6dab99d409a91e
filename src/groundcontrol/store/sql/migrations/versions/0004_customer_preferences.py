"""Customer preferences from the case page: their own channel order and whether quiet
hours hold their messages. Existing customers keep the back office's order and quiet
hours on.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("customers") as table:
        table.add_column(sa.Column("channel_order", JSON, nullable=False, server_default="[]"))
        table.add_column(
            sa.Column("quiet_hours", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("customers") as table:
        table.drop_column("quiet_hours")
        table.drop_column("channel_order")
