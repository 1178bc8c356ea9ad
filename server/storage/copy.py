"""Moving an installation between databases: every table, in foreign-key order, resumable.

:func:`copy_database` reads each table of :mod:`server.storage.schema` from the source in
primary-key order, a batch at a time, and inserts into the target with ``ON CONFLICT DO
NOTHING``; each batch is one transaction on the target. An interrupted copy started again
continues after the largest key the target already holds (rows already there are skipped, never
doubled). At the end it counts every table on both sides: a mismatch is an error.

On PostgreSQL the monthly partitions of the readings and rollups are created as rows
arrive, and the id sequences are moved past the copied ids so new rows do not collide.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from server.storage import schema
from server.storage.database import Database
from server.storage.partitions import PARTITIONED_TABLES, Partitions

__all__ = ["CopyMismatch", "TableCopy", "copy_database"]

#: Rows per batch (one transaction on the target each).
BATCH = 5000


class CopyMismatch(RuntimeError):
    """The target's row counts differ from the source's after the copy."""


@dataclass
class TableCopy:
    table: str
    copied: int  # rows inserted by this run
    source_rows: int
    target_rows: int


def copy_database(
    source: Database,
    target: Database,
    *,
    batch: int = BATCH,
    progress: Callable[[str, int], None] = lambda table, rows: None,
) -> list[TableCopy]:
    """Copy every table from ``source`` into ``target`` (both already at the same revision)."""
    out = []
    for table in schema.metadata.sorted_tables:
        copied = _copy_table(source, target, table, batch, progress)
        if target.is_postgres:
            _advance_sequences(target, table)
        with source.read() as c:
            source_rows = c.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        with target.read() as c:
            target_rows = c.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        out.append(TableCopy(table.name, copied, source_rows, target_rows))
    wrong = [t for t in out if t.source_rows != t.target_rows]
    if wrong:
        raise CopyMismatch(
            "row counts differ after the copy: "
            + ", ".join(f"{t.table} {t.source_rows} → {t.target_rows}" for t in wrong)
        )
    return out


def _copy_table(
    source: Database,
    target: Database,
    table: sa.Table,
    batch: int,
    progress: Callable[[str, int], None],
) -> int:
    pk = list(table.primary_key.columns)
    with target.read() as c:
        last = c.execute(sa.select(*pk).order_by(*(col.desc() for col in pk)).limit(1)).first()
    insert = _insert_ignoring_duplicates(target, table)
    partitions = Partitions(target) if table.name in PARTITIONED_TABLES else None
    copied = 0
    while True:
        query = sa.select(table).order_by(*pk).limit(batch)
        if last is not None:
            query = query.where(sa.tuple_(*pk) > sa.tuple_(*last))
        with source.read() as c:
            rows = [dict(r._mapping) for r in c.execute(query)]
        if not rows:
            return copied
        if partitions is not None:  # their months' partitions first (PostgreSQL)
            partitions.ensure(r["ts_s"] for r in rows)
        with target.write() as c:  # RETURNING counts what was new (rowcount does not, in bulk)
            copied += len(c.execute(insert, rows).all())
        last = tuple(rows[-1][col.name] for col in pk)
        progress(table.name, copied)


def _insert_ignoring_duplicates(db: Database, table: sa.Table) -> sa.Insert:
    if db.is_postgres:
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    pk = list(table.primary_key.columns)
    return insert(table).on_conflict_do_nothing().returning(*pk)


def _advance_sequences(db: Database, table: sa.Table) -> None:
    for col in table.primary_key.columns:
        if col.autoincrement is True:
            with db.write() as c:
                c.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', '{col.name}'),"
                        f" GREATEST((SELECT max({col.name}) FROM {table.name}), 1))"
                    )
                )
