"""Raw readings, 1-minute rollups, retention and range queries, on SQLite or PostgreSQL.

Writes are batched: one transaction inserts what is not stored yet (ingest is idempotent: a
reading is identified by household, channel and second) and folds exactly those rows into the
1-minute rollups (sum, min, max, count, missing). So ingest costs one transaction per batch, not
one per reading, and a reading counts once in the rollups whichever writer stored it.

* SQLite: ``executemany`` of ``INSERT OR IGNORE``; when a batch holds a reading already stored
  (a redelivery, a retried request) it is staged in a temporary table instead so that
  ``INSERT … SELECT … RETURNING`` yields exactly the new rows.
* PostgreSQL: the batch is copied (``COPY``) into a temporary staging table, then one statement
  inserts it in key order with ``ON CONFLICT DO NOTHING RETURNING`` and upserts the rollups of
  exactly the returned rows, sorted by key (so concurrent writers on several hosts lock rows in
  the same order and never deadlock). ``readings`` and the rollups are partitioned by month
  there (:mod:`server.storage.partitions`): a batch's months are created first and retention
  drops whole expired months.

Queries return pandas frames indexed by UTC timestamp: ``raw`` from the readings table, ``1m``
from the rollups, ``15m``/``1h`` aggregated from the rollups on UTC boundaries and ``1d`` on the
household's local midnights (aggregated in the database, so a year at daily resolution moves a
few hundred rows, not half a million).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import sqlalchemy as sa

from server.storage.database import Database
from server.storage.partitions import Partitions

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

#: The rollup tables and their period: 1-minute (``1m`` queries) and quarter-hour ones (``15m``,
#: ``1h`` and ``1d``: every time zone's midnights fall on quarter hours). [s]
ROLLUPS = {"rollups_1m": 60, "rollups_15m": 900}


def _rollup_set(table: str) -> str:
    return (
        " ON CONFLICT (household, channel, ts_s) DO UPDATE SET"
        f"  sum_kw = {table}.sum_kw + excluded.sum_kw,"
        f"  min_kw = CASE WHEN {table}.min_kw IS NULL THEN excluded.min_kw"
        f"   WHEN excluded.min_kw IS NULL OR {table}.min_kw <= excluded.min_kw"
        f"   THEN {table}.min_kw ELSE excluded.min_kw END,"
        f"  max_kw = CASE WHEN {table}.max_kw IS NULL THEN excluded.max_kw"
        f"   WHEN excluded.max_kw IS NULL OR {table}.max_kw >= excluded.max_kw"
        f"   THEN {table}.max_kw ELSE excluded.max_kw END,"
        f"  count = {table}.count + excluded.count,"
        f"  missing = {table}.missing + excluded.missing"
    )


#: SQLite, driver paramstyle (the hot ``executemany``).
_SQLITE_ROLLUP_UPSERT = {
    table: f"INSERT INTO {table}"
    " (household, channel, ts_s, sum_kw, min_kw, max_kw, count, missing)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)" + _rollup_set(table)
    for table in ROLLUPS
}
_SQLITE_STAGED = (
    "CREATE TEMP TABLE IF NOT EXISTS staged ("
    " household TEXT NOT NULL, channel TEXT NOT NULL, ts_s INTEGER NOT NULL,"
    " power_kw REAL, seq INTEGER NOT NULL)"
)
_PG_STAGED = (
    "CREATE TEMP TABLE readings_staged ("
    " household text NOT NULL, channel text NOT NULL, ts_s bigint NOT NULL,"
    " power_kw double precision, seq integer NOT NULL) ON COMMIT DELETE ROWS"
)
#: PostgreSQL: the staged batch's new readings, and their rollups, in one statement (the
#: rollup upserts run after the insert, in this order, each sorted by key).
_PG_INSERT = (
    "WITH new AS ("
    " INSERT INTO readings (household, channel, ts_s, power_kw)"
    " SELECT household, channel, ts_s, power_kw FROM readings_staged"
    " ORDER BY household, channel, ts_s, seq"
    " ON CONFLICT DO NOTHING"
    " RETURNING household, channel, ts_s, power_kw"
    ")"
    + "".join(
        f", {table}_up AS ("
        f" INSERT INTO {table}"
        " (household, channel, ts_s, sum_kw, min_kw, max_kw, count, missing)"
        f" SELECT household, channel, ts_s - ts_s % {period}, coalesce(sum(power_kw), 0),"
        "  min(power_kw), max(power_kw), count(power_kw), count(*) - count(power_kw)"
        f" FROM new GROUP BY household, channel, ts_s - ts_s % {period}"
        " ORDER BY 1, 2, 3" + _rollup_set(table) + ")"
        for table, period in ROLLUPS.items()
    )
    + " SELECT household, channel, ts_s FROM new"
)
_PG_INSERT_TEXT = sa.text(_PG_INSERT)
_PG_HAS_STAGED = sa.text("SELECT to_regclass('pg_temp.readings_staged')")
#: PostgreSQL errors a batch is retried after: a deadlock or serialization failure (another
#: writer), and a row with no partition (dropped by retention on another host meanwhile).
_PG_RETRY = {"40P01": "deadlock", "40001": "serialization", "23514": "no partition"}
_PG_ATTEMPTS = 5
_COPY_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


_NULL = "\\N"


def _copy_text(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPE)
    return value


def _copy(c: sa.Connection, lines: str) -> None:
    """COPY ``lines`` (text format) into the staging table, on ``c``'s psycopg connection; a
    driver error is raised as SQLAlchemy's (a lost connection then reads as unavailable)."""
    import psycopg

    raw = c.connection.driver_connection
    try:
        with (
            raw.cursor() as cur,
            cur.copy(
                "COPY readings_staged (household, channel, ts_s, power_kw, seq) FROM STDIN"
            ) as copy,
        ):
            copy.write(lines)
    except psycopg.Error as exc:
        if raw.broken or raw.closed:
            c.invalidate(exc)
        raise sa.exc.DBAPIError.instance(
            "COPY readings_staged", None, exc, psycopg.Error, connection_invalidated=raw.broken
        ) from exc


def _rollups(rows: Iterable[Reading], period_s: int) -> list[tuple]:
    """Per (household, channel, period): sum, min, max, count and missing of ``rows``, sorted by
    key."""
    acc: dict[tuple[str, str, int], list] = {}
    for household, channel, ts_s, value in rows:
        key = (household, channel, ts_s - ts_s % period_s)
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
    return [(*key, *a) for key, a in sorted(acc.items())]


_CHANNELS = sa.bindparam("chs", expanding=True)
_NEWEST = sa.text(
    "SELECT ts_s FROM readings WHERE household = :h AND channel = :c ORDER BY ts_s DESC LIMIT 1"
)


def _channels(c: sa.Connection, table: str, household: str) -> list[str]:
    """The channels ``household`` has rows of in ``table``, by one index seek each (the range
    queries then seek the primary key (household, channel, ts_s) per channel instead of
    scanning every row of the household, or every household's rows of the range)."""
    found: list[str] = []
    step = sa.text(
        f"SELECT channel FROM {table} WHERE household = :h AND channel > :c"
        " ORDER BY channel LIMIT 1"
    )
    last = ""
    first = c.execute(
        sa.text(f"SELECT channel FROM {table} WHERE household = :h ORDER BY channel LIMIT 1"),
        {"h": household},
    ).scalar()
    if first is None:
        return [""]  # no rows: an IN list that matches nothing (empty lists differ by backend)
    found.append(first)
    last = first
    while (last := c.execute(step, {"h": household, "c": last}).scalar()) is not None:
        found.append(last)
    return found


def _day_buckets(start_s: int, end_s: int, timezone: str) -> tuple[str, bool]:
    """SQL for the start of the local day (in ``timezone``) of ``ts_s``, for ``start_s <= ts_s
    < end_s``: runs of 24-hour days share one modulo, DST days (23 or 25 h) are constants; and
    whether every midnight falls on a quarter hour."""
    first = start_s - start_s % 3600 - 2 * DAY_S
    grid = np.arange(first, end_s + 2 * DAY_S, 3600, dtype="int64")
    local = (
        pd.to_datetime(grid, unit="s", utc=True)
        .tz_convert(timezone)
        .floor("D", ambiguous=False, nonexistent="shift_forward")
    )
    mids = np.unique(local.tz_convert("UTC").as_unit("s").asi8).tolist()
    cases = []
    i = 0
    while i < len(mids) - 1:
        if mids[i + 1] - mids[i] != DAY_S:
            cases.append(f"WHEN ts_s < {mids[i + 1]} THEN {mids[i]}")
            i += 1
            continue
        j = i
        while j < len(mids) - 1 and mids[j + 1] - mids[j] == DAY_S:
            j += 1
        cases.append(f"WHEN ts_s < {mids[j]} THEN ts_s - (ts_s - {mids[i]}) % {DAY_S}")
        i = j
    aligned = all(m % 900 == 0 for m in mids)
    return (f"CASE {' '.join(cases)} ELSE {mids[-1]} END" if cases else str(mids[-1])), aligned


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
    """Readings and rollups of every household in the installation's database.

    ``raw_retention_s`` (7 days) and ``rollup_retention_s`` (a year) bound what
    :meth:`enforce_retention` keeps. The store is safe to share between threads, greenlets,
    processes and hosts: each write is one transaction on a pooled connection of its own.
    """

    def __init__(
        self,
        db: Database,
        *,
        raw_retention_s: int = 7 * DAY_S,
        rollup_retention_s: int = 365 * DAY_S,
    ) -> None:
        if raw_retention_s <= 0 or rollup_retention_s <= 0:
            raise ValueError("retention periods must be positive numbers of seconds")
        self.db = db
        self.raw_retention_s = raw_retention_s
        self.rollup_retention_s = rollup_retention_s
        self.partitions = Partitions(db)

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
        if self.db.is_postgres:
            stored = self._write_postgres(batch)
        else:
            with self.db.write() as c:
                raw = c.connection.driver_connection
                stored = self._insert_new_sqlite(raw, batch)
                for table, period_s in ROLLUPS.items():
                    raw.executemany(_SQLITE_ROLLUP_UPSERT[table], _rollups(stored, period_s))
        accepted = len(stored)
        return WriteResult(accepted=accepted, duplicates=len(batch) - accepted, stored=stored)

    @staticmethod
    def _insert_new_sqlite(raw: Any, batch: list[Reading]) -> tuple[Reading, ...]:
        """Insert the readings not stored yet (the first of a key within the batch wins) and
        return them, in batch order. Inside the caller's transaction, on its sqlite3 connection.

        Fast path, the usual case: plain ``INSERT OR IGNORE``; if every row was inserted they
        are all new. Otherwise (a redelivery, a retried request) undo it and stage the batch in a
        temporary table, so ``INSERT … SELECT … RETURNING`` yields exactly the rows inserted.
        """
        raw.execute("SAVEPOINT fast")
        before = raw.total_changes
        raw.executemany("INSERT OR IGNORE INTO readings VALUES (?, ?, ?, ?)", batch)
        if raw.total_changes - before == len(batch):
            raw.execute("RELEASE fast")
            return tuple(batch)
        raw.execute("ROLLBACK TO fast")
        raw.execute("RELEASE fast")
        raw.execute(_SQLITE_STAGED)
        raw.execute("DELETE FROM staged")
        raw.executemany(
            "INSERT INTO staged VALUES (?, ?, ?, ?, ?)",
            [(*r, seq) for seq, r in enumerate(batch)],
        )
        stored = tuple(
            Reading(*row)
            for row in raw.execute(
                "INSERT OR IGNORE INTO readings (household, channel, ts_s, power_kw)"
                " SELECT household, channel, ts_s, power_kw FROM staged WHERE true"
                " ORDER BY seq RETURNING household, channel, ts_s, power_kw"
            ).fetchall()
        )
        raw.execute("DELETE FROM staged")
        return stored

    def _write_postgres(self, batch: list[Reading]) -> tuple[Reading, ...]:
        """COPY into the staging table, then insert the new rows and their rollups at once;
        retried after a deadlock or a partition dropped meanwhile."""
        self.partitions.ensure(r.ts_s for r in batch)
        lines = "".join(
            f"{_copy_text(h)}\t{_copy_text(ch)}\t{ts}\t"
            f"{_NULL if v is None else repr(float(v))}\t{seq}\n"
            for seq, (h, ch, ts, v) in enumerate(batch)
        )
        for attempt in range(1, _PG_ATTEMPTS + 1):
            try:
                with self.db.write() as c:
                    if c.execute(_PG_HAS_STAGED).scalar() is None:
                        c.exec_driver_sql(_PG_STAGED)
                    _copy(c, lines)
                    new = set(map(tuple, c.execute(_PG_INSERT_TEXT).all()))
                break
            except sa.exc.DBAPIError as exc:
                why = _PG_RETRY.get(getattr(exc.orig, "sqlstate", None) or "")
                if why is None or attempt == _PG_ATTEMPTS:
                    raise
                if why == "no partition":
                    self.partitions.forget()
                    self.partitions.ensure(r.ts_s for r in batch)
                time.sleep(0.01 * attempt)
        if len(new) == len(batch):
            return tuple(batch)
        out = []
        for r in batch:
            key = (r.household, r.channel, r.ts_s)
            if key in new:
                new.discard(key)  # the first of a key in the batch is the one stored
                out.append(r)
        return tuple(out)

    def enforce_retention(self, now_s: float) -> tuple[int, int]:
        """Delete raw readings and rollups older than their retention; return both counts.

        On PostgreSQL the months that ended before the cutoff are dropped whole (partitions) and
        only the expired rows of the month the cutoff falls in are deleted row by row.
        """
        raw_cutoff = int(now_s) - self.raw_retention_s
        rollup_cutoff = int(now_s) - self.rollup_retention_s
        raw = self.partitions.drop_before("readings", raw_cutoff)
        rollups = self.partitions.drop_before("rollups_1m", rollup_cutoff)
        self.partitions.drop_before("rollups_15m", rollup_cutoff)
        with self.db.write() as c:
            raw += c.execute(
                sa.text("DELETE FROM readings WHERE ts_s < :cutoff"), {"cutoff": raw_cutoff}
            ).rowcount
            rollups += c.execute(
                sa.text("DELETE FROM rollups_1m WHERE ts_s < :cutoff"), {"cutoff": rollup_cutoff}
            ).rowcount
            c.execute(
                sa.text("DELETE FROM rollups_15m WHERE ts_s < :cutoff"), {"cutoff": rollup_cutoff}
            )
        return raw, rollups

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
        start_s, end_s = int(start_s), int(end_s)
        params: dict[str, Any] = {"h": household, "a": start_s, "b": end_s}
        if resolution == "raw":
            with self.db.read() as c:
                params["chs"] = _channels(c, "readings", household)
                rows = c.execute(
                    sa.text(
                        "SELECT ts_s, channel, power_kw FROM readings"
                        " WHERE household = :h AND channel IN :chs AND ts_s >= :a AND ts_s < :b"
                        " ORDER BY ts_s"
                    ).bindparams(_CHANNELS),
                    params,
                ).all()
            frame = pd.DataFrame.from_records(rows, columns=["ts_s", "channel", "power_kw"])
            frame["power_kw"] = frame["power_kw"].astype("float64")
            wide = frame.pivot(index="ts_s", columns="channel", values="power_kw")
            wide.index = pd.to_datetime(wide.index.astype("int64"), unit="s", utc=True).rename("ts")
            wide.columns.name = None
            return wide.astype("float64")
        params["a"] = start_s - start_s % 60
        if resolution == "1m":
            sql = (
                "SELECT ts_s, channel, sum_kw, min_kw, max_kw, count FROM rollups_1m"
                " WHERE household = :h AND channel IN :chs AND ts_s >= :a AND ts_s < :b"
            )
            table = "rollups_1m"
        else:
            bucket_s = RESOLUTIONS[resolution]
            if resolution == "1d":
                bucket, aligned = _day_buckets(params["a"], end_s, timezone)
            else:
                bucket, aligned = f"ts_s - ts_s % {bucket_s}", True
            if aligned:
                # quarter hours inside the range, minutes at its ragged ends
                qa, qb = -(-params["a"] // 900) * 900, end_s - end_s % 900
                if qa >= qb:
                    qa = qb = end_s
            else:  # a zone whose midnights are not on quarter hours: minutes throughout
                qa = qb = end_s
            params.update(qa=qa, qb=qb)
            cols = "ts_s, channel, sum_kw, min_kw, max_kw, count"
            where = "household = :h AND channel IN :chs AND ts_s >= {} AND ts_s < {}"
            sql = (
                f"SELECT {bucket} AS bucket, channel, sum(sum_kw), min(min_kw), max(max_kw),"
                f" sum(count) FROM ("
                f" SELECT {cols} FROM rollups_15m WHERE {where.format(':qa', ':qb')}"
                f" UNION ALL SELECT {cols} FROM rollups_1m WHERE {where.format(':a', ':qa')}"
                f" UNION ALL SELECT {cols} FROM rollups_1m WHERE {where.format(':qb', ':b')}"
                ") AS parts GROUP BY 1, 2"
            )
            table = "rollups_1m"
        with self.db.read() as c:
            params["chs"] = _channels(c, table, household)
            rows = c.execute(sa.text(sql).bindparams(_CHANNELS), params).all()
        grouped = pd.DataFrame.from_records(
            rows, columns=["bucket", "channel", "sum_kw", "min_kw", "max_kw", "count"]
        )
        grouped["bucket"] = pd.to_datetime(grouped["bucket"].astype("int64"), unit="s", utc=True)
        for col in ("sum_kw", "min_kw", "max_kw"):
            grouped[col] = grouped[col].astype("float64")
        grouped["count"] = grouped["count"].astype("int64")
        grouped = grouped.set_index(["bucket", "channel"]).sort_index()
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
        with self.db.read() as c:
            newest = [
                c.execute(_NEWEST, {"h": household, "c": channel}).scalar()
                for channel in _channels(c, "readings", household)
            ]
        newest = [v for v in newest if v is not None]
        return int(max(newest)) if newest else None
