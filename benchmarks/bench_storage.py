"""History queries: one household's year of 1-minute rollups at daily resolution, SQLite and PostgreSQL.

A household with three channels gets a year of 1-minute rollups (525,600 minutes x 3 channels,
about 1.6 million rows; a second household's year beside it, so the query must select), written
straight into ``rollups_1m`` and ``rollups_15m`` (on PostgreSQL into their monthly partitions). Then
:meth:`server.storage.ReadingStore.query` asks for the year at ``1d`` in a daylight-saving time
zone (Europe/Berlin) — what ``GET …/readings?resolution=1d`` does — and at ``1h`` for a month.
The days are aggregated in the database from the quarter-hour rollups (each local day's bounds
computed once, daylight-saving days included); the same-run baseline reads every minute of the year and groups them with pandas
(``1m`` rows, then local-day floors), as a store without that would.

Target: the yearly ``1d`` query answers in under 200 ms (median of ``--repeat``) on both backends.
PostgreSQL runs in a throw-away cluster (:class:`tests.services.PostgresServer`). Prints the
figures and PASS/FAIL; exits 1 on a missed target.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from server.storage import ReadingStore  # noqa: E402
from server.storage.database import Database, open_database, sqlite_url  # noqa: E402
from tests.services import PostgresServer  # noqa: E402

CHANNELS = ("AC", "Geyser", "Overall")
TIMEZONE = "Europe/Berlin"
YEAR_START = 1_735_689_600  # 2025-01-01T00:00:00Z
YEAR_S = 365 * 86_400
TARGET_MS = 200.0


def rollup_rows(household: str, seed: int) -> list[tuple]:
    rng = np.random.default_rng(seed)
    minutes = np.arange(YEAR_START, YEAR_START + YEAR_S, 60, dtype="int64")
    rows: list[tuple] = []
    for channel in CHANNELS:
        mean = rng.gamma(2.0, 0.4, len(minutes))
        spread = rng.uniform(0.0, 0.3, len(minutes))
        rows.extend(
            zip(
                [household] * len(minutes),
                [channel] * len(minutes),
                minutes.tolist(),
                (mean * 60).tolist(),
                (mean - spread).tolist(),
                (mean + spread).tolist(),
                [60] * len(minutes),
                [0] * len(minutes),
                strict=True,
            )
        )
    return rows


def load(db: Database, store: ReadingStore, rows: list[tuple]) -> float:
    start = time.perf_counter()
    if db.is_postgres:
        store.partitions.ensure(range(YEAR_START, YEAR_START + YEAR_S, 86_400))
        with db.write() as c:
            raw = c.connection.driver_connection
            with (
                raw.cursor() as cur,
                cur.copy(
                    "COPY rollups_1m (household, channel, ts_s, sum_kw, min_kw, max_kw, count,"
                    " missing) FROM STDIN"
                ) as copy,
            ):
                for row in rows:
                    copy.write_row(row)
    else:
        with db.write() as c:
            c.connection.driver_connection.executemany(
                "INSERT INTO rollups_1m VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows
            )
    with db.write() as c:  # the quarter hours, as ingest keeps them (and migration 0003 fills them)
        c.execute(
            sa.text(
                "INSERT INTO rollups_15m SELECT household, channel, ts_s - ts_s % 900,"
                " sum(sum_kw), min(min_kw), max(max_kw), sum(count), sum(missing)"
                " FROM rollups_1m GROUP BY household, channel, ts_s - ts_s % 900"
            )
        )
    with db.write() as c:
        c.exec_driver_sql("ANALYZE")
    return time.perf_counter() - start


def baseline_daily(db: Database, household: str, start_s: int, end_s: int) -> pd.DataFrame:
    """Every minute to pandas, then local days: the query without aggregation in the database."""
    with db.read() as c:
        rows = c.execute(
            sa.text(
                "SELECT ts_s, channel, sum_kw, min_kw, max_kw, count FROM rollups_1m"
                " WHERE household = :h AND ts_s >= :a AND ts_s < :b"
            ),
            {"h": household, "a": start_s, "b": end_s},
        ).all()
    minutes = pd.DataFrame.from_records(
        rows, columns=["ts_s", "channel", "sum_kw", "min_kw", "max_kw", "count"]
    )
    ts = pd.to_datetime(minutes["ts_s"], unit="s", utc=True)
    local = ts.dt.tz_convert(TIMEZONE).dt.floor("D", ambiguous=False, nonexistent="shift_forward")
    minutes["bucket"] = local.dt.tz_convert("UTC")
    grouped = minutes.groupby(["bucket", "channel"]).agg(
        sum_kw=("sum_kw", "sum"),
        min_kw=("min_kw", "min"),
        max_kw=("max_kw", "max"),
        count=("count", "sum"),
    )
    grouped["mean_kw"] = grouped["sum_kw"] / grouped["count"]
    return grouped[["mean_kw", "min_kw", "max_kw", "count"]].unstack("channel")


def timed(fn, repeat: int) -> tuple[float, object]:  # noqa: ANN001
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), out


def run(name: str, url: str, repeat: int) -> list[str]:
    failures = []
    db = open_database(url)
    try:
        store = ReadingStore(db)
        seconds = load(db, store, rollup_rows("H1", 1) + rollup_rows("H2", 2))
        print(
            f"[{name}] loaded 2 households x a year x {len(CHANNELS)} channels in {seconds:.1f} s"
        )
        end = YEAR_START + YEAR_S
        daily_ms, daily = timed(
            lambda: store.query("H1", YEAR_START, end, "1d", timezone=TIMEZONE), repeat
        )
        hourly_ms, hourly = timed(
            lambda: store.query("H1", YEAR_START, YEAR_START + 31 * 86_400, "1h"), repeat
        )
        base_ms, base = timed(
            lambda: baseline_daily(db, "H1", YEAR_START, end), max(1, repeat // 2)
        )
        assert len(daily) == len(base) == 366, (len(daily), len(base))  # local days touched
        assert len(hourly) == 31 * 24
        np.testing.assert_allclose(
            daily[("Overall", "mean_kw")].to_numpy(), base[("mean_kw", "Overall")].to_numpy()
        )
        assert int(daily[("AC", "count")].sum()) == 525_600 * 60
        print(f"  1d, a year ({TIMEZONE}):   {daily_ms:7.1f} ms  (median of {repeat})")
        print(f"  1h, a month (UTC):          {hourly_ms:7.1f} ms")
        print(
            f"  baseline 1d (pandas):       {base_ms:7.1f} ms  -> {base_ms / daily_ms:.1f}x faster"
        )
        if daily_ms >= TARGET_MS:
            failures.append(f"[{name}] 1d year query {daily_ms:.0f} ms >= {TARGET_MS:.0f} ms")
    finally:
        db.dispose()
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed repetitions (median)")
    parser.add_argument(
        "--backends", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql"
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-storage-"))
    failures: list[str] = []
    pg = None
    try:
        for name in args.backends.split(","):
            if name == "sqlite":
                url = sqlite_url(workdir / "sqlite" / "gridlight.sqlite3")
            else:
                (workdir / "postgres").mkdir()
                pg = PostgresServer(workdir / "postgres")
                pg.start()
                url = pg.create_database()
            failures += run(name, url, args.repeat)
    finally:
        if pg is not None:
            pg.__exit__(None, None, None)
        shutil.rmtree(workdir, ignore_errors=True)
    for failure in failures:
        print(f"FAIL: {failure}")
    print("PASS" if not failures else "FAIL")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
