"""Raw readings, rollups, idempotent batched writes, retention and range queries, on SQLite and
PostgreSQL; PostgreSQL's monthly partitions; concurrent writers keep the rollups exact."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from numpy.testing import assert_allclose

from server.storage import RESOLUTIONS, Reading, ReadingStore
from server.storage.database import Database, open_database
from server.storage.partitions import month_bounds

T0 = 1_763_769_600  # 2025-11-22T00:00:00Z, a multiple of 86400


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = open_database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def store(db: Database) -> ReadingStore:
    return ReadingStore(db)


def _batch(household="H1", channel="Overall", start=T0, n=120, values=None):
    values = values if values is not None else [float(i % 7) for i in range(n)]
    return [Reading(household, channel, start + i, v) for i, v in enumerate(values)]


def test_write_is_idempotent_and_dedupes_within_batch(store):
    batch = _batch(n=10)
    assert store.write(batch).accepted == 10
    again = store.write(batch + [Reading("H1", "Overall", T0 + 10, 1.0)] * 2)
    assert (again.accepted, again.duplicates) == (1, 11)
    raw = store.query("H1", T0, T0 + 60, "raw")
    assert len(raw) == 11


def test_rollups_match_raw_minutes(store):
    rng = np.random.default_rng(3)
    values = rng.gamma(2.0, 0.5, 600).tolist()
    values[5] = None  # an unavailable second is missing, not zero
    # Written in two overlapping batches, out of order, to exercise the upsert.
    readings = _batch(n=600, values=values)
    store.write(readings[300:])
    store.write(readings[:350])
    minutes = store.query("H1", T0, T0 + 600, "1m")["Overall"]
    series = pd.Series(values, dtype="float64")
    by_minute = series.groupby(np.arange(600) // 60)
    assert_allclose(minutes["mean_kw"].to_numpy(), by_minute.mean().to_numpy())
    assert_allclose(minutes["min_kw"].to_numpy(), by_minute.min().to_numpy())
    assert_allclose(minutes["max_kw"].to_numpy(), by_minute.max().to_numpy())
    assert minutes["count"].tolist() == [59] + [60] * 9


def test_coarser_resolutions_and_local_days(store):
    # Two days of one reading a minute at 1 kW, in a UTC+05:30 household.
    n = 2 * 1440
    store.write([Reading("H1", "AC", T0 + 60 * i, 1.0) for i in range(n)])
    hourly = store.query("H1", T0, T0 + 2 * 86_400, "1h")["AC"]
    assert len(hourly) == 48 and (hourly["count"] == 60).all()
    daily = store.query("H1", T0, T0 + 2 * 86_400, "1d", timezone="Asia/Kolkata")["AC"]
    # Local midnights fall at 18:30 UTC; T0 is 05:30 local: 18.5 h, a full day, then 5.5 h.
    assert daily["count"].tolist() == [1110, 1440, 330]
    assert daily.index[1] == pd.Timestamp("2025-11-22T18:30:00Z")


def test_retention(store):
    store.write(_batch(start=T0, n=10) + _batch(start=T0 + 8 * 86_400, n=10))
    raw_deleted, rollups_deleted = store.enforce_retention(now_s=T0 + 8 * 86_400 + 20)
    assert raw_deleted == 10 and rollups_deleted == 0
    assert store.query("H1", T0, T0 + 86_400, "1m").shape[0] == 1  # rollup kept a year
    assert store.enforce_retention(now_s=T0 + 400 * 86_400) == (10, 2)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_rejected_whole_batch_untouched(store, bad):
    with pytest.raises(ValueError, match="not finite"):
        store.write([Reading("H1", "Overall", T0, 1.0), Reading("H1", "Overall", T0 + 1, bad)])
    assert store.latest_ts("H1") is None


def test_bad_query_arguments(store):
    with pytest.raises(ValueError, match="resolution '5m' is not one of"):
        store.query("H1", T0, T0 + 60, "5m")
    with pytest.raises(ValueError, match="must be after its start"):
        store.query("H1", T0, T0, "raw")


def test_write_reports_the_readings_it_stored(store) -> None:
    first = store.write([Reading("H", "Overall", 100, 1.0), Reading("H", "AC", 100, None)])
    assert first.stored == (Reading("H", "Overall", 100, 1.0), Reading("H", "AC", 100, None))
    again = store.write([Reading("H", "Overall", 101, 2.0), Reading("H", "Overall", 100, 9.0)])
    assert (again.accepted, again.duplicates) == (1, 1)
    assert again.stored == (Reading("H", "Overall", 101, 2.0),)


def test_awkward_names_and_values_round_trip(store) -> None:
    rows = [
        Reading("H\t1", "a\\b", T0, 1e-300),
        Reading("H\t1", "a\\b", T0 + 1, None),
        Reading("H\t1", "line\nbreak", T0, -0.1234567890123),
    ]
    assert store.write(rows).stored == tuple(rows)
    raw = store.query("H\t1", T0, T0 + 2, "raw")
    assert raw.loc[pd.Timestamp(T0, unit="s", tz="UTC"), "a\\b"] == 1e-300
    assert raw["line\nbreak"].iloc[0] == -0.1234567890123


def test_daily_buckets_follow_daylight_saving(store) -> None:
    # Europe/Berlin: 2025-03-30 has 23 hours, 2025-10-26 has 25; one reading every 10 minutes.
    start = 1_742_860_800  # 2025-03-25T00:00:00Z
    end = 1_761_868_800  # 2025-10-31T00:00:00Z
    store.write([Reading("H1", "AC", ts, 1.0) for ts in range(start, end, 600)])
    daily = store.query("H1", start, end, "1d", timezone="Europe/Berlin")["AC"]
    ts = pd.Series(pd.to_datetime(np.arange(start, end, 600), unit="s", utc=True))
    local = ts.dt.tz_convert("Europe/Berlin").dt.floor("D", ambiguous=False)
    expected = local.dt.tz_convert("UTC").value_counts().sort_index()
    assert daily.index.tolist() == expected.index.tolist()
    assert daily["count"].astype(int).tolist() == expected.tolist()
    assert 138 in expected.tolist() and 150 in expected.tolist()  # 23 h and 25 h days


def _recompute(db: Database) -> dict[tuple, tuple]:
    with db.read() as c:
        rows = c.execute(
            sa.text(
                "SELECT household, channel, ts_s - ts_s % 60, sum(power_kw), min(power_kw),"
                " max(power_kw), count(power_kw), count(*) - count(power_kw) FROM readings"
                " GROUP BY 1, 2, 3"
            )
        ).all()
    return {tuple(r[:3]): (r[3] or 0.0, r[4], r[5], r[6], r[7]) for r in rows}


def _rollups(db: Database) -> dict[tuple, tuple]:
    with db.read() as c:
        rows = c.execute(
            sa.text(
                "SELECT household, channel, ts_s, sum_kw, min_kw, max_kw, count, missing"
                " FROM rollups_1m"
            )
        ).all()
    return {tuple(r[:3]): tuple(r[3:]) for r in rows}


def test_concurrent_overlapping_writers_count_each_reading_once(database_url) -> None:
    # Several writers (each with its own engine, as separate hosts would) store overlapping,
    # shuffled batches of the same readings at once.
    n_writers, per_batch = 4, 500
    rng = np.random.default_rng(7)
    universe = [
        Reading(f"H{h}", ch, T0 + s, None if s % 97 == 0 else float(rng.gamma(2.0, 0.5)))
        for h in range(2)
        for ch in ("AC", "Overall")
        for s in range(0, 1800)
    ]
    dbs = [open_database(database_url) for _ in range(n_writers)]
    stored: list[list[Reading]] = [[] for _ in range(n_writers)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(n_writers)

    def writer(i: int) -> None:
        try:
            store = ReadingStore(dbs[i])
            order = np.random.default_rng(i).permutation(len(universe))
            rows = [universe[j] for j in order]
            barrier.wait()
            for k in range(0, len(rows), per_batch):
                stored[i].extend(store.write(rows[k : k + per_batch]).stored)
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(n_writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    try:
        assert not errors, errors
        everything = [r for rows in stored for r in rows]
        assert len(everything) == len(set(everything)) == len(universe)
        assert set(everything) == set(universe)
        expected, actual = _recompute(dbs[0]), _rollups(dbs[0])
        assert expected.keys() == actual.keys()
        for key, (s, lo, hi, count, missing) in expected.items():
            got = actual[key]
            assert got[3:] == (count, missing), key
            assert got[0] == pytest.approx(s, rel=1e-9, abs=1e-12), key
            assert (got[1], got[2]) == (lo, hi), key
    finally:
        for database in dbs:
            database.dispose()


def test_partitions_are_created_per_month_and_dropped_by_retention(postgres_url) -> None:
    db = open_database(postgres_url)
    try:
        store = ReadingStore(db, raw_retention_s=7 * 86_400, rollup_retention_s=60 * 86_400)
        oct1, nov1 = month_bounds(2025, 10)
        _, dec1 = month_bounds(2025, 11)
        rows = [Reading("H1", "AC", ts, 1.0) for ts in (oct1, oct1 + 60, nov1, nov1 + 3600)]
        other = ReadingStore(db)  # another process: its own cache of the known months
        assert store.write(rows).accepted == 4
        assert other.write(rows).accepted == 0
        names = {name for name, _, _ in store.partitions.list("readings")}
        assert names == {"readings_202510", "readings_202511"}
        assert [p[0] for p in store.partitions.list("rollups_1m")] == [
            "rollups_1m_202510",
            "rollups_1m_202511",
        ]
        # raw cutoff inside November: October's partition dropped, one November row deleted
        raw, rollups = store.enforce_retention(nov1 + 1800 + 7 * 86_400)
        assert (raw, rollups) == (3, 0)
        assert [p[0] for p in store.partitions.list("readings")] == ["readings_202511"]
        assert store.query("H1", oct1, dec1, "raw")["AC"].count() == 1
        # a late reading for October recreates its partition, also from a process that still
        # believes it exists
        assert other.write([Reading("H1", "AC", oct1 + 5, 2.0)]).accepted == 1
        assert store.write([Reading("H1", "AC", oct1 + 6, 2.0)]).accepted == 1
        # rollups (4 minutes) all end more than 60 days before: both months dropped
        assert store.enforce_retention(dec1 + 61 * 86_400) == (3, 4)
        assert store.partitions.list("rollups_1m") == []
    finally:
        db.dispose()


def test_concurrent_partition_creation(postgres_url) -> None:
    dbs = [open_database(postgres_url) for _ in range(4)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(dbs))
    months = [month_bounds(2024, m)[0] for m in range(1, 13)]

    def create(db: Database) -> None:
        try:
            barrier.wait()
            ReadingStore(db).write([Reading("H1", "AC", ts, 1.0) for ts in months])
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=create, args=(db,)) for db in dbs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert not errors, errors
        assert len(ReadingStore(dbs[0]).partitions.list("readings")) == 12
        assert ReadingStore(dbs[0]).query("H1", months[0], months[-1] + 1, "raw").shape == (12, 1)
    finally:
        for db in dbs:
            db.dispose()


def test_dead_letters_keep_reason_and_cut_payload(db) -> None:
    from server.storage import DeadLetters

    dead = DeadLetters(db, clock=lambda: 100)
    dead.add("mqtt", "h1", "power_kw 'abc' is not a number", b"abc\x00")
    dead.add("http", None, "body is not JSON", "x" * 10_000)
    recent = dead.recent()
    assert [d.source for d in recent] == ["http", "mqtt"]
    assert recent[1].reason.startswith("power_kw") and recent[1].payload == "abc\ufffd"
    assert len(recent[0].payload) < 4200 and recent[0].payload.endswith("cut]")
    assert [d.source for d in dead.recent(household="h1")] == ["mqtt"]
    assert len(dead.recent(limit=1)) == 1
    assert dead.purge(older_than_s=101) == 2


@pytest.mark.parametrize(
    ("resolution", "timezone"), [("15m", "UTC"), ("1h", "UTC"), ("1d", "Asia/Kathmandu")]
)
def test_coarse_buckets_match_a_recomputation_with_ragged_ends(store, resolution, timezone) -> None:
    # quarter-hour rollups inside the range, minutes at its ends: the same as from every reading
    rng = np.random.default_rng(11)
    seconds = np.arange(T0, T0 + 3 * 86_400, 7)
    values = rng.gamma(2.0, 0.5, len(seconds))
    store.write(
        [Reading("H1", "AC", int(t), float(v)) for t, v in zip(seconds, values, strict=True)]
    )
    start, end = T0 + 1234, T0 + 2 * 86_400 + 777
    got = store.query("H1", start, end, resolution, timezone=timezone)["AC"]
    minute = seconds - seconds % 60
    keep = (minute >= start - start % 60) & (minute < end)
    ts = pd.Series(pd.to_datetime(seconds[keep], unit="s", utc=True))
    if resolution == "1d":
        local = ts.dt.tz_convert(timezone).dt.floor("D", ambiguous=False)
        buckets = local.dt.tz_convert("UTC")
    else:
        buckets = ts.dt.floor(f"{RESOLUTIONS[resolution]}s")
    expected = (
        pd.Series(values[keep]).groupby(buckets.to_numpy()).agg(["mean", "min", "max", "count"])
    )
    assert got.index.tolist() == expected.index.tolist()
    assert_allclose(got["mean_kw"].to_numpy(), expected["mean"].to_numpy())
    assert_allclose(got["min_kw"].to_numpy(), expected["min"].to_numpy())
    assert_allclose(got["max_kw"].to_numpy(), expected["max"].to_numpy())
    assert got["count"].astype(int).tolist() == expected["count"].tolist()
