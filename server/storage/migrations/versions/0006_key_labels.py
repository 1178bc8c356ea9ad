"""API keys get a label (what the owner called them: "meter", "Home Assistant") and the time
they were last used (written at most once a minute per key), for the keys view of the
dashboard and ``GET /api/v1/households/{h}/keys``.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("label", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("last_used_s", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("last_used_s")
        batch_op.drop_column("label")
