"""Raw readings, rollups, idempotent batched writes, retention and range queries."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from server.storage import Reading, ReadingStore, connect, db_path
from server.storage.legacy import MIGRATIONS

T0 = 1_763_769_600  # 2025-11-22T00:00:00Z, a multiple of 86400


@pytest.fixture
def store(tmp_path):
    return ReadingStore(connect(db_path(tmp_path)))


def _batch(household="H1", channel="Overall", start=T0, n=120, values=None):
    values = values if values is not None else [float(i % 7) for i in range(n)]
    return [Reading(household, channel, start + i, v) for i, v in enumerate(values)]


def test_schema_is_wal_and_versioned(tmp_path):
    conn = connect(db_path(tmp_path))
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    conn.close()
    again = connect(db_path(tmp_path))  # migrating twice is a no-op
    assert again.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


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


def test_write_reports_the_readings_it_stored(tmp_path) -> None:
    store = ReadingStore(connect(db_path(tmp_path)))
    first = store.write([Reading("H", "Overall", 100, 1.0), Reading("H", "AC", 100, None)])
    assert first.stored == (Reading("H", "Overall", 100, 1.0), Reading("H", "AC", 100, None))
    again = store.write([Reading("H", "Overall", 101, 2.0), Reading("H", "Overall", 100, 9.0)])
    assert (again.accepted, again.duplicates) == (1, 1)
    assert again.stored == (Reading("H", "Overall", 101, 2.0),)
