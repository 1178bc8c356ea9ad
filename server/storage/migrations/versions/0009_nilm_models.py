"""Disaggregation models attached to live households (issue #18): the model file, its header and
the live estimator's state, one row per household and appliance.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nilm_models",
        sa.Column("household", sa.Text(), nullable=False),
        sa.Column("appliance", sa.Text(), nullable=False),
        sa.Column("model", sa.LargeBinary(), nullable=False),
        sa.Column("header", sa.Text(), nullable=False),
        sa.Column("attached_s", sa.Float(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("household", "appliance"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("nilm_models")
