"""Accounts: users (email found by a keyed hash), their roles on households, and an audit log
of sign-ins, household creation and role changes.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("email_hash", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("verified_s", sa.BigInteger(), nullable=True),
        sa.Column("created_s", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index("users_email_hash", ["email_hash"], unique=True)

    op.create_table(
        "memberships",
        sa.Column("household", sa.Text(), nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("created_s", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["household"], ["households.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("household", "user_id"),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.create_index("memberships_user", ["user_id"], unique=False)

    op.create_table(
        "audit_log",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("household", sa.Text(), nullable=True),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("event", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("ts_s", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("audit_log_household", ["household", "ts_s"], unique=False)
        batch_op.create_index("audit_log_user", ["user_id", "ts_s"], unique=False)


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("memberships")
    op.drop_table("users")
