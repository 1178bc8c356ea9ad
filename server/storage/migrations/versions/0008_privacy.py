"""Privacy (issue #15): wrapped data keys for encryption at rest, consent per household and
purpose with its log, and push tokens found by a keyed hash.

``devices`` is rebuilt with the key ``(household, token_hash)``. The migration cannot compute the
keyed hash (the key is wrapped by the master key, which migrations never see): existing rows get
``token_hash = 'plain:' || token``, and the first start seals them and replaces the placeholder
(:func:`server.storage.sealing.seal_plaintext_rows`), as it does for users' emails and names and
alert settings stored in plaintext before this revision.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "data_keys",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("wrapped", sa.Text(), nullable=False),
        sa.Column("master_id", sa.Text(), nullable=False),
        sa.Column("created_s", sa.Float(), nullable=False),
        sa.Column("rotated_s", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "consents",
        sa.Column("household", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("granted", sa.Integer(), nullable=False),
        sa.Column("version", sa.Text(), nullable=False),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("ts_s", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["household"], ["households.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("household", "purpose"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "consent_log",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("household", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("granted", sa.Integer(), nullable=False),
        sa.Column("version", sa.Text(), nullable=False),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("ts_s", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("consent_log", schema=None) as batch_op:
        batch_op.create_index("consent_log_household", ["household", "ts_s"], unique=False)

    op.create_table(
        "devices_sealed",
        sa.Column("household", sa.Text(), nullable=False),
        sa.Column("token_hash", sa.Text(), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("platform", sa.Text(), nullable=False),
        sa.Column("created_s", sa.BigInteger(), nullable=False),
        sa.Column("updated_s", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("household", "token_hash"),
        sqlite_with_rowid=False,
    )
    op.execute(
        "INSERT INTO devices_sealed (household, token_hash, token, platform, created_s, updated_s)"
        " SELECT household, 'plain:' || token, token, platform, created_s, updated_s FROM devices"
    )
    op.drop_table("devices")
    op.rename_table("devices_sealed", "devices")
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.create_index("devices_token_hash", ["token_hash"], unique=False)


def downgrade() -> None:
    raise NotImplementedError("sealed push tokens cannot be turned back into plaintext here")
