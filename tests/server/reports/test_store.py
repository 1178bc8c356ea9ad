"""The reports' index and claims on SQLite and PostgreSQL: a month is claimed once, even by
concurrent claimers, and a claim whose process died is taken over after its time."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from server.reports.store import ReportStore, report_path
from server.storage.database import Database, open_database

T0 = 1_769_904_001.0


class Clock:
    def __init__(self, now_s: float = T0) -> None:
        self.now_s = now_s

    def __call__(self) -> float:
        return self.now_s


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    db = open_database(database_url)
    yield db
    db.dispose()


def test_saved_reports_are_indexed_and_replaced(db: Database, tmp_path: Path) -> None:
    clock = Clock()
    store = ReportStore(db, tmp_path, clock=clock)
    assert (
        store.get("Z", "2026-01") is None and store.list("Z") == [] and store.months("Z") == set()
    )
    first = store.save("Z", "2026-01", b"%PDF-1 jan", {"energy_kwh": 310.5})
    assert first.path == report_path(tmp_path, "Z", "2026-01") and first.path.read_bytes()
    store.save("Z", "2025-12", b"%PDF-1 dec", {"energy_kwh": 290.0})
    clock.now_s += 60
    again = store.save("Z", "2026-01", b"%PDF-1 jan, again", {"energy_kwh": 311.0})
    got = store.get("Z", "2026-01")
    assert got == again and got.size_bytes == len(b"%PDF-1 jan, again")
    assert got.created_s == T0 + 60 and got.path.read_bytes() == b"%PDF-1 jan, again"
    assert [r.month for r in store.list("Z")] == ["2026-01", "2025-12"]
    assert store.months("Z") == {"2026-01", "2025-12"} and store.months("Y") == set()
    assert store.summaries("Z") == {
        "2026-01": {"energy_kwh": 311.0},
        "2025-12": {"energy_kwh": 290.0},
    }
    assert list(tmp_path.rglob("*.tmp")) == []


def test_a_month_is_claimed_once_and_a_dead_claim_taken_over(db: Database, tmp_path: Path) -> None:
    clock = Clock()
    store = ReportStore(db, tmp_path, clock=clock)
    assert store.claim("Z", "2026-01", "host-a:1", ttl_s=3600)
    assert not store.claim("Z", "2026-01", "host-b:2", ttl_s=3600)
    assert store.claim("Z", "2025-12", "host-b:2", ttl_s=3600)  # another month
    assert store.claim("Y", "2026-01", "host-b:2", ttl_s=3600)  # another household
    clock.now_s += 3599
    assert not store.claim("Z", "2026-01", "host-b:2", ttl_s=3600)
    clock.now_s += 2  # host-a never finished: its claim is stale
    assert store.claim("Z", "2026-01", "host-b:2", ttl_s=3600)
    assert not store.claim("Z", "2026-01", "host-a:1", ttl_s=3600)
    store.finish("Z", "2026-01", "host-a:1")  # not the owner any more: nothing changes
    clock.now_s += 7200
    assert store.claim("Z", "2026-01", "host-c:3", ttl_s=3600)
    store.finish("Z", "2026-01", "host-c:3")
    clock.now_s += 86_400 * 365  # a finished month is never claimed again
    assert not store.claim("Z", "2026-01", "host-d:4", ttl_s=3600)


def test_concurrent_claimers_of_a_month_win_once(db: Database, tmp_path: Path) -> None:
    clock = Clock()
    store = ReportStore(db, tmp_path, clock=clock)
    for month in ("2025-11", "2025-12", "2026-01"):
        start = threading.Barrier(8)

        def claim(i: int, month: str = month, start: threading.Barrier = start) -> bool:
            start.wait()
            return store.claim("Z", month, f"host-{i}:1", ttl_s=3600)

        with ThreadPoolExecutor(8) as pool:
            won = list(pool.map(claim, range(8)))
        assert sum(won) == 1, (month, won)
    # a stale claim is taken over by one of several concurrent claimers, too
    clock.now_s += 3601
    start = threading.Barrier(8)

    def take_over(i: int) -> bool:
        start.wait()
        return store.claim("Z", "2026-01", f"late-{i}:1", ttl_s=3600)

    with ThreadPoolExecutor(8) as pool:
        won = list(pool.map(take_over, range(8)))
    assert sum(won) == 1, won


def test_a_live_households_month_is_read_in_a_pool_process_from_the_database_url(make_app):  # noqa: ANN001
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import pandas as pd
    from numpy.testing import assert_allclose

    from generator.dataset import HouseholdInfo
    from server.reports.generate import load_frame
    from server.storage import Reading
    from tests.server.reports.conftest import ZONE, utc

    app = make_app()
    ts_s = int(utc("2026-01-10 12:00:00"))
    readings = [Reading("L1", "Overall", ts_s + i, 1.5 if i < 60 else 0.5) for i in range(120)]
    app.extensions["gridlight_ingest"].store.write(readings)
    info = HouseholdInfo(
        id="L1", name="Live", archetype="live", timezone=ZONE, channels=("Overall", "Heater"),
        resolution_s=60, source="live",
    )  # fmt: skip
    url = app.extensions["gridlight"].db.url
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        frame = pool.submit(load_frame, info, "2026-01", database=url).result(timeout=120)
    assert list(frame.columns) == ["Overall", "Heater"]
    assert list(frame.index) == [
        pd.Timestamp(ts_s, unit="s", tz="UTC"),
        pd.Timestamp(ts_s + 60, unit="s", tz="UTC"),
    ]
    assert_allclose(frame["Overall"].to_numpy(), [1.5, 0.5])
    assert frame["Heater"].isna().all()  # never reported: unavailable, not zero


def test_a_live_households_report_from_its_rollups_equals_the_datasets(  # noqa: ANN201
    database_url, reports_dataset, frame
):
    """The month's 1-minute rollups and the earlier months' 15-minute ones (as ingest stores
    them) give the figures the dataset's 1-minute readings give."""
    import sqlalchemy as sa

    from generator.dataset import read_meta
    from server.reports.generate import ReportTask, carbon_for, run_task
    from server.storage.database import open_database
    from server.storage.partitions import Partitions
    from tests.server.reports.conftest import FLAT

    url = database_url
    db = open_database(url)
    ts = frame.index.as_unit("s").asi8.tolist()
    Partitions(db).ensure(ts)  # PostgreSQL's monthly partitions (nothing on SQLite)
    rows = [
        {"c": channel, "t": t, "v": v}
        for channel in frame.columns
        for t, v in zip(ts, frame[channel].tolist(), strict=True)
    ]
    with db.write() as c:
        c.execute(
            sa.text(
                "INSERT INTO rollups_1m (household, channel, ts_s, sum_kw, min_kw, max_kw, count,"
                " missing) VALUES ('Z', :c, :t, :v, :v, :v, 1, 0)"
            ),
            rows,
        )
        c.execute(
            sa.text(
                "INSERT INTO rollups_15m (household, channel, ts_s, sum_kw, min_kw, max_kw, count,"
                " missing) SELECT household, channel, ts_s - ts_s % 900, sum(sum_kw), min(min_kw),"
                " max(max_kw), sum(count), sum(missing) FROM rollups_1m"
                " GROUP BY household, channel, ts_s - ts_s % 900"
            )
        )
    db.dispose()
    info = read_meta(reports_dataset)[0]["Z"]
    common = {
        "info": info.to_json(),
        "month": "2026-02",
        "tariff": FLAT,
        "carbon": carbon_for(info),
    }
    _, from_dataset = run_task(ReportTask(dataset=str(reports_dataset), **common))
    _, from_rollups = run_task(ReportTask(database=url, **common))
    from_dataset.pop("render_s")
    from_rollups.pop("render_s")
    assert from_dataset["saved_kwh"] is not None
    assert from_rollups.pop("currency") == from_dataset.pop("currency") == "EUR"
    assert from_rollups == pytest.approx(from_dataset, rel=1e-6)
