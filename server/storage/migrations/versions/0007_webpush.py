"""Web Push: browsers' push subscriptions per household (the dashboard as an installed web app).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webpush_subscriptions",
        sa.Column("household", sa.Text(), nullable=False),
        sa.Column("endpoint", sa.Text(), nullable=False),
        sa.Column("p256dh", sa.Text(), nullable=False),
        sa.Column("auth", sa.Text(), nullable=False),
        sa.Column("created_s", sa.BigInteger(), nullable=False),
        sa.Column("updated_s", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("household", "endpoint"),
        sqlite_with_rowid=False,
    )
    op.create_index("webpush_subscriptions_endpoint", "webpush_subscriptions", ["endpoint"])


def downgrade() -> None:
    op.drop_index("webpush_subscriptions_endpoint", table_name="webpush_subscriptions")
    op.drop_table("webpush_subscriptions")
