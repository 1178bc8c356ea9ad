"""Raw readings, 1-minute rollups, retention and range queries, in SQLite.

Writes are batched: one transaction inserts what is not stored yet (ingest is idempotent: a
reading is identified by household, channel and second; a batch with a duplicate is staged in a
temporary table to find which rows are new) and folds exactly those rows into the 1-minute
rollups (sum, min, max, count, missing). So ingest costs one transaction per batch, not one per
reading.

Queries return pandas frames indexed by UTC timestamp: ``raw`` from the readings table, ``1m``
from the rollups, ``15m``/``1h`` re-aggregated from the rollups on UTC boundaries and ``1d`` on
the household's local midnights.
"""

from __future__ import annotations

import math
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

__all__ = [
    "DAY_S",
    "RESOLUTIONS",
    "Reading",
    "ReadingStore",
    "WriteResult",
]

DAY_S = 86_400
#: Query resolutions and their bucket length. [s]
RESOLUTIONS = {"raw": 0, "1m": 60, "15m": 900, "1h": 3600, "1d": DAY_S}


ROLLUP_UPSERT = (
    "INSERT INTO rollups_1m VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (household, channel, ts_s) DO UPDATE SET"
    "  sum_kw = sum_kw + excluded.sum_kw,"
    "  min_kw = CASE WHEN min_kw IS NULL THEN excluded.min_kw"
    "   WHEN excluded.min_kw IS NULL THEN min_kw"
    "   ELSE min(min_kw, excluded.min_kw) END,"
    "  max_kw = CASE WHEN max_kw IS NULL THEN excluded.max_kw"
    "   WHEN excluded.max_kw IS NULL THEN max_kw"
    "   ELSE max(max_kw, excluded.max_kw) END,"
    "  count = count + excluded.count,"
    "  missing = missing + excluded.missing"
)


def _minute_rollups(rows: Iterable[Reading]) -> list[tuple]:
    """Per (household, channel, minute): sum, min, max, count and missing of ``rows``."""
    acc: dict[tuple[str, str, int], list] = {}
    for household, channel, ts_s, value in rows:
        key = (household, channel, ts_s - ts_s % 60)
        a = acc.get(key)
        if a is None:
            a = acc[key] = [0.0, None, None, 0, 0]
        if value is None:
            a[4] += 1
            continue
        a[0] += value
        a[1] = value if a[1] is None or value < a[1] else a[1]
        a[2] = value if a[2] is None or value > a[2] else a[2]
        a[3] += 1
    return [(*key, *a) for key, a in acc.items()]


class Reading(NamedTuple):
    """One channel's average power over one second. ``power_kw`` None: unavailable."""

    household: str
    channel: str
    ts_s: int
    power_kw: float | None


@dataclass(frozen=True)
class WriteResult:
    """What a batch write did; ``stored`` lists the readings newly stored, in batch order
    (what ingest publishes to the streams: never a duplicate)."""

    accepted: int
    duplicates: int
    stored: tuple[Reading, ...] = ()


class ReadingStore:
    """Readings and rollups of every household in one SQLite database.

    ``raw_retention_s`` (7 days) and ``rollup_retention_s`` (a year) bound what
    :meth:`enforce_retention` keeps. The store is safe to share between threads and greenlets:
    writes are serialised by a lock and each runs as one transaction.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        raw_retention_s: int = 7 * DAY_S,
        rollup_retention_s: int = 365 * DAY_S,
    ) -> None:
        if raw_retention_s <= 0 or rollup_retention_s <= 0:
            raise ValueError("retention periods must be positive numbers of seconds")
        self.conn = conn
        self.raw_retention_s = raw_retention_s
        self.rollup_retention_s = rollup_retention_s
        self._lock = threading.Lock()
        #: held while a write or query uses the connection
        self.lock = self._lock
        conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS staged ("
            " household TEXT NOT NULL, channel TEXT NOT NULL, ts_s INTEGER NOT NULL,"
            " power_kw REAL, seq INTEGER NOT NULL)"
        )

    # -- writing -----------------------------------------------------------------------------

    def write(self, readings: Iterable[Reading]) -> WriteResult:
        """Store a batch; readings already stored (same household, channel, second) are skipped.

        Within the batch the first reading of a key wins. Non-finite values must have been
        rejected by the caller; ``None`` stores an unavailable reading.
        """
        batch = []
        for r in readings:
            value = r.power_kw
            if value is not None and not math.isfinite(value):
                raise ValueError(
                    f"power_kw {value!r} for {r.household}/{r.channel} at {r.ts_s} is not finite"
                )
            batch.append(Reading(r.household, r.channel, int(r.ts_s), value))
        if not batch:
            return WriteResult(0, 0)
        c = self.conn
        with self._lock:
            c.execute("BEGIN IMMEDIATE")
            try:
                stored = self._insert_new(batch)
                c.executemany(ROLLUP_UPSERT, _minute_rollups(stored))
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise
        accepted = len(stored)
        return WriteResult(accepted=accepted, duplicates=len(batch) - accepted, stored=stored)

    def _insert_new(self, batch: list[Reading]) -> tuple[Reading, ...]:
        """Insert the readings not stored yet (the first of a key within the batch wins) and
        return them, in batch order. Inside the caller's transaction.

        Fast path, the usual case: plain ``INSERT OR IGNORE``; if every row was inserted they
        are all new. Otherwise (a redelivery, a retried request) undo it and stage the batch in a
        temporary table, so ``INSERT … SELECT … RETURNING`` yields exactly the rows inserted.
        """
        c = self.conn
        c.execute("SAVEPOINT fast")
        before = c.total_changes
        c.executemany("INSERT OR IGNORE INTO readings VALUES (?, ?, ?, ?)", batch)
        if c.total_changes - before == len(batch):
            c.execute("RELEASE fast")
            return tuple(batch)
        c.execute("ROLLBACK TO fast")
        c.execute("RELEASE fast")
        c.executemany(
            "INSERT INTO staged VALUES (?, ?, ?, ?, ?)",
            [(*r, seq) for seq, r in enumerate(batch)],
        )
        stored = tuple(
            Reading(*row)
            for row in c.execute(
                "INSERT OR IGNORE INTO readings (household, channel, ts_s, power_kw)"
                " SELECT household, channel, ts_s, power_kw FROM staged WHERE true"
                " ORDER BY seq RETURNING household, channel, ts_s, power_kw"
            ).fetchall()
        )
        c.execute("DELETE FROM staged")
        return stored

    def enforce_retention(self, now_s: float) -> tuple[int, int]:
        """Delete raw readings and rollups older than their retention; return both counts."""
        raw_cutoff = int(now_s) - self.raw_retention_s
        rollup_cutoff = int(now_s) - self.rollup_retention_s
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                raw = self.conn.execute("DELETE FROM readings WHERE ts_s < ?", (raw_cutoff,))
                rollups = self.conn.execute(
                    "DELETE FROM rollups_1m WHERE ts_s < ?", (rollup_cutoff,)
                )
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
        return raw.rowcount, rollups.rowcount

    # -- reading -----------------------------------------------------------------------------

    def query(
        self,
        household: str,
        start_s: int,
        end_s: int,
        resolution: str = "1m",
        *,
        timezone: str = "UTC",
    ) -> pd.DataFrame:
        """Readings of ``household`` with ``start_s <= ts < end_s`` at ``resolution``.

        ``raw``: one row per second and channel column (power_kw). Other resolutions: a frame
        with a column MultiIndex ``(channel, stat)`` where stat is ``mean_kw``, ``min_kw``,
        ``max_kw``, ``count``; buckets with no reading are absent. ``1d`` buckets start at
        local midnight in ``timezone``.
        """
        if resolution not in RESOLUTIONS:
            raise ValueError(f"resolution {resolution!r} is not one of {', '.join(RESOLUTIONS)}")
        if end_s <= start_s:
            raise ValueError(f"the range end {end_s} must be after its start {start_s}")
        if resolution == "raw":
            with self._lock:  # the connection is shared with the writer
                frame = pd.read_sql_query(
                    "SELECT ts_s, channel, power_kw FROM readings"
                    " WHERE household = ? AND ts_s >= ? AND ts_s < ? ORDER BY ts_s",
                    self.conn,
                    params=(household, int(start_s), int(end_s)),
                )
            wide = frame.pivot(index="ts_s", columns="channel", values="power_kw")
            wide.index = pd.to_datetime(wide.index, unit="s", utc=True).rename("ts")
            wide.columns.name = None
            return wide.astype("float64")
        with self._lock:
            minutes = pd.read_sql_query(
                "SELECT ts_s, channel, sum_kw, min_kw, max_kw, count FROM rollups_1m"
                " WHERE household = ? AND ts_s >= ? AND ts_s < ? ORDER BY ts_s",
                self.conn,
                params=(household, int(start_s) - int(start_s) % 60, int(end_s)),
            )
        bucket_s = RESOLUTIONS[resolution]
        ts = pd.to_datetime(minutes["ts_s"], unit="s", utc=True)
        if resolution == "1d":
            local = ts.dt.tz_convert(timezone).dt.floor(
                "D", ambiguous=False, nonexistent="shift_forward"
            )
            minutes["bucket"] = local.dt.tz_convert("UTC")
        else:
            minutes["bucket"] = ts.dt.floor(f"{bucket_s}s")
        grouped = minutes.groupby(["bucket", "channel"]).agg(
            sum_kw=("sum_kw", "sum"),
            min_kw=("min_kw", "min"),
            max_kw=("max_kw", "max"),
            count=("count", "sum"),
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            grouped["mean_kw"] = np.where(
                grouped["count"] > 0, grouped["sum_kw"] / grouped["count"], np.nan
            )
        wide = grouped[["mean_kw", "min_kw", "max_kw", "count"]].unstack("channel")
        wide = wide.swaplevel(0, 1, axis=1).sort_index(axis=1)
        wide.index = pd.DatetimeIndex(wide.index).rename("ts")
        return wide

    def latest_ts(self, household: str) -> int | None:
        """The newest stored second of ``household``, or None."""
        with self._lock:
            row = self.conn.execute(
                "SELECT max(ts_s) FROM readings WHERE household = ?", (household,)
            ).fetchone()
        return None if row[0] is None else int(row[0])
