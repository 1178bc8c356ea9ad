"""The deployment's catalog of disaggregation models (issue #18): model files the operator
publishes (``python -m server nilm publish``) for owners to attach over HTTP by name, so that the
HTTP API never takes a model file (a pickle) from a client.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nilm_catalog",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("appliance", sa.Text(), nullable=False),
        sa.Column("model", sa.LargeBinary(), nullable=False),
        sa.Column("header", sa.Text(), nullable=False),
        sa.Column("published_s", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("nilm_catalog")
