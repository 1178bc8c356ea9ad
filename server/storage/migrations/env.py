"""Alembic's environment: migrations run on the connection :mod:`server.storage.migrate` passes
(already holding the lock that lets one process at a time upgrade), or on ``sqlalchemy.url``
when alembic's own command line is used."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from server.storage.schema import metadata

config = context.config


def run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # ALTER on SQLite copies the table
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as conn:
        run(conn)
