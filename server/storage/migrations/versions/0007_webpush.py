"""Web Push: browsers' push subscriptions per household (the dashboard as an installed web app);
endpoint and keys sealed, the endpoint found by its keyed hash.

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
        sa.Column("endpoint_hash", sa.Text(), nullable=False),
        sa.Column("endpoint", sa.Text(), nullable=False),
        sa.Column("browser_keys", sa.Text(), nullable=False),
        sa.Column("created_s", sa.BigInteger(), nullable=False),
        sa.Column("updated_s", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("household", "endpoint_hash"),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "webpush_subscriptions_endpoint_hash", "webpush_subscriptions", ["endpoint_hash"]
    )


def downgrade() -> None:
    op.drop_index("webpush_subscriptions_endpoint_hash", table_name="webpush_subscriptions")
    op.drop_table("webpush_subscriptions")
