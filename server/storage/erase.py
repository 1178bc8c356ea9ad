"""Erasure of a household: every row about it in every table, its broker stream (Redis Streams
with ``REDIS_URL``), and the files the database points at (its monthly reports).

The tables are found from the schema (:mod:`server.storage.schema`): every table with a
``household`` column, the ``households`` row itself, the alerts' deliveries (keyed by alert) and
the compatibility set-ups made for it; so a table added later is erased without a change here.
The rows go in one transaction; the stream and the files after it commits.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from server.storage.database import Database
from server.storage.schema import metadata

__all__ = ["HOUSEHOLD_TABLES", "erase_household", "rows_about"]

log = logging.getLogger(__name__)

#: Tables with a ``household`` column, children before parents.
HOUSEHOLD_TABLES: tuple[str, ...] = tuple(
    t.name for t in reversed(metadata.sorted_tables) if "household" in t.c
)


def rows_about(db: Database, household: str) -> dict[str, int]:
    """How many rows each table holds about ``household`` (the erasure's check)."""
    out: dict[str, int] = {}
    with db.read() as c:
        for table in HOUSEHOLD_TABLES:
            out[table] = c.execute(
                sa.text(f"SELECT count(*) FROM {table} WHERE household = :h"), {"h": household}
            ).scalar_one()
        out["households"] = c.execute(
            sa.text("SELECT count(*) FROM households WHERE id = :h"), {"h": household}
        ).scalar_one()
        out["alert_deliveries"] = c.execute(
            sa.text(
                "SELECT count(*) FROM alert_deliveries WHERE alert_id IN"
                " (SELECT id FROM alerts WHERE household = :h)"
            ),
            {"h": household},
        ).scalar_one()
        out["stream_setups"] = len(setups_of(c, household))
    return out


def setup_household(raw: str | None) -> str | None:
    """The household a stored compatibility set-up (its JSON) was made for, if it says."""
    try:
        found = json.loads(raw) if raw else None
    except ValueError:
        return None
    return found.get("household") if isinstance(found, dict) else None


def setups_of(conn: Any, household: str) -> list[str]:
    """The ids of the ``stream_setups`` rows made for ``household``."""
    rows = conn.execute(sa.text("SELECT stream_id, setup FROM stream_setups"))
    return [stream_id for stream_id, raw in rows if setup_household(raw) == household]


def erase_household(
    db: Database, household: str, *, data_dir: str | os.PathLike[str], broker: Any = None
) -> dict[str, int]:
    """Erase ``household`` everywhere; the rows deleted per table (and ``stream``, ``files``)."""
    deleted: dict[str, int] = {}
    with db.write() as c:
        files = [
            r[0]
            for r in c.execute(
                sa.text("SELECT path FROM reports WHERE household = :h"), {"h": household}
            )
        ]
        deleted["alert_deliveries"] = c.execute(
            sa.text(
                "DELETE FROM alert_deliveries WHERE alert_id IN"
                " (SELECT id FROM alerts WHERE household = :h)"
            ),
            {"h": household},
        ).rowcount
        for table in HOUSEHOLD_TABLES:
            deleted[table] = c.execute(
                sa.text(f"DELETE FROM {table} WHERE household = :h"), {"h": household}
            ).rowcount
        setups = setups_of(c, household)
        for stream_id in setups:
            c.execute(sa.text("DELETE FROM stream_setups WHERE stream_id = :s"), {"s": stream_id})
        deleted["stream_setups"] = len(setups)
        deleted["households"] = c.execute(
            sa.text("DELETE FROM households WHERE id = :h"), {"h": household}
        ).rowcount
    if broker is not None:
        deleted["stream"] = int(broker.delete(household))
    root = Path(data_dir).resolve()
    removed = 0
    for rel in files:
        path = (root / rel).resolve()
        if root not in path.parents:  # never outside the data directory
            continue
        try:
            path.unlink()
            removed += 1
        except FileNotFoundError:
            pass
        try:
            path.parent.rmdir()  # the household's folder, once empty
        except OSError:
            pass
    deleted["files"] = removed
    log.info("erased household %s: %s", household, deleted)
    return deleted
