"""Leader leases in the database (when there is no Redis) and the compatibility API's stream
setups (until now a table the setup store created itself, so it may exist already).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("expires_s", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    if not sa.inspect(op.get_bind()).has_table("stream_setups"):
        op.create_table(
            "stream_setups",
            sa.Column("stream_id", sa.Text(), nullable=False),
            sa.Column("setup", sa.Text(), nullable=False),
            sa.Column("created_at", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("stream_id"),
        )


def downgrade() -> None:
    op.drop_table("leases")
    op.drop_table("stream_setups")
