"""Monthly partitions of ``readings``, ``rollups_1m`` and ``rollups_15m`` on PostgreSQL.

The tables are partitioned by RANGE on ``ts_s`` (UTC epoch seconds), one partition per UTC
calendar month, named ``readings_YYYYMM``, ``rollups_1m_YYYYMM`` and ``rollups_15m_YYYYMM``. A row can only be inserted
once its month's partition exists, so writers call :meth:`Partitions.ensure` with the seconds of a
batch first: it creates the missing months in a transaction of its own (committed before the
batch's transaction starts, so a writer never holds rows while it waits for the parent table's
lock), under a transaction-scoped advisory lock so that two hosts creating the same month at
once queue instead of colliding, with ``CREATE TABLE IF NOT EXISTS … PARTITION OF``. The months
known to exist are cached per process.

Retention drops whole partitions whose month ended before the cutoff (:meth:`Partitions.drop_before`)
and leaves the rows of the partially expired month to a plain ``DELETE``. SQLite has no
partitions: there every method does nothing.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from server.storage.database import Database

__all__ = ["PARTITIONED_TABLES", "Partitions", "month_bounds", "month_of"]

#: Tables partitioned by month on ``ts_s``.
PARTITIONED_TABLES = ("readings", "rollups_1m", "rollups_15m")
#: Key of the advisory lock taken while partitions are created or dropped.
LOCK_KEY = 0x6772_6964_7061_7274  # "gridpart"
_MONTH = re.compile(r"_(\d{4})(\d{2})$")
#: The partitions of the partitioned tables, with their parent's name.
_CHILDREN = sa.text(
    "SELECT child.relname, parent.relname FROM pg_inherits"
    " JOIN pg_class parent ON parent.oid = pg_inherits.inhparent"
    " JOIN pg_class child ON child.oid = pg_inherits.inhrelid"
    " WHERE parent.relname IN ('readings', 'rollups_1m', 'rollups_15m')"
    " AND pg_table_is_visible(parent.oid)"
)


def month_of(ts_s: int) -> tuple[int, int]:
    """The UTC ``(year, month)`` of an epoch second."""
    d = datetime.fromtimestamp(ts_s, UTC)
    return d.year, d.month


def month_bounds(year: int, month: int) -> tuple[int, int]:
    """``[start, end)`` of a UTC month in epoch seconds."""
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return int(start.timestamp()), int(end.timestamp())


def _name(table: str, year: int, month: int) -> str:
    return f"{table}_{year:04d}{month:02d}"


class Partitions:
    """Creates and drops the monthly partitions of one database (a no-op on SQLite)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._known: set[tuple[int, int]] = set()
        self._lock = threading.Lock()

    def forget(self) -> None:
        """Drop the cache (a partition this process knew may have been dropped elsewhere)."""
        with self._lock:
            self._known.clear()

    def months(self, seconds: Iterable[int]) -> set[tuple[int, int]]:
        """The UTC months of ``seconds`` (each distinct day converted once)."""
        days = {s - s % 86_400 for s in seconds}
        return {month_of(d) for d in days}

    def ensure(self, seconds: Iterable[int]) -> None:
        """Make sure the partitions of every month of ``seconds`` exist (both tables)."""
        if not self.db.is_postgres:
            return
        needed = self.months(seconds)
        with self._lock:
            missing = sorted(needed - self._known)
        if not missing:
            return
        with self.db.write() as c:
            c.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
            existing = self._existing(c)
            for year, month in missing:
                start, end = month_bounds(year, month)
                for table in PARTITIONED_TABLES:
                    if _name(table, year, month) in existing:
                        continue
                    c.exec_driver_sql(
                        f"CREATE TABLE IF NOT EXISTS {_name(table, year, month)}"
                        f" PARTITION OF {table} FOR VALUES FROM ({start}) TO ({end})"
                    )
        with self._lock:
            self._known.update(missing)

    def _existing(self, c: Connection) -> set[str]:
        return {name for name, _ in c.execute(_CHILDREN)}

    def list(self, table: str) -> list[tuple[str, int, int]]:
        """``(name, start_s, end_s)`` of ``table``'s monthly partitions, oldest first."""
        if not self.db.is_postgres:
            return []
        with self.db.read() as c:
            rows = c.execute(_CHILDREN).all()
        out = []
        for name, parent in rows:
            if parent != table:
                continue
            found = _MONTH.search(name)
            if found is None or name != _name(table, int(found[1]), int(found[2])):
                continue
            start, end = month_bounds(int(found[1]), int(found[2]))
            out.append((name, start, end))
        return sorted(out, key=lambda p: p[1])

    def drop_before(self, table: str, cutoff_s: int) -> int:
        """Drop ``table``'s partitions whose whole month is older than ``cutoff_s``; the number
        of rows they held."""
        if not self.db.is_postgres:
            return 0
        old = [p for p in self.list(table) if p[2] <= cutoff_s]
        if not old:
            return 0
        dropped = 0
        with self.db.write() as c:
            c.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
            for name, _, _ in old:
                exists = c.execute(sa.text("SELECT to_regclass(:n)"), {"n": name}).scalar()
                if exists is None:  # dropped by another host meanwhile
                    continue
                dropped += int(c.exec_driver_sql(f"SELECT count(*) FROM {name}").scalar() or 0)
                c.exec_driver_sql(f"DROP TABLE {name}")
        self.forget()
        return dropped
