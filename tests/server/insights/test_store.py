"""Insights' rows on SQLite and PostgreSQL: tariffs with their revisions, the insights' versions."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from server.insights.store import InsightsState, TariffStore
from server.storage.database import Database, open_database

T0 = 1_763_792_700.0


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    db = open_database(database_url)
    yield db
    db.dispose()


def test_tariff_revisions_count_the_puts(db: Database) -> None:
    store = TariffStore(db)
    assert store.get("H1") is None and store.revision("H1") == 0
    assert store.put("H1", {"currency": "EUR", "rates": [0.25]}, T0) == 1
    assert store.put("H1", {"currency": "EUR", "rates": [0.30]}, T0 + 5) == 2
    assert store.put("H2", {"currency": "INR"}, T0) == 1
    got = store.get("H1")
    assert got is not None
    assert (got.document, got.revision, got.updated_s) == (
        {"currency": "EUR", "rates": [0.30]},
        2,
        T0 + 5,
    )
    assert store.revision("H1") == 2 and store.revision("H2") == 1
    with pytest.raises(ValueError, match="Out of range float values"):
        store.put("H1", {"rate": float("nan")}, T0)
    assert store.revision("H1") == 2


def test_concurrent_tariff_puts_get_distinct_revisions(db: Database) -> None:
    store = TariffStore(db)
    start = threading.Barrier(8)

    def put(i: int) -> int:
        start.wait()
        return store.put("H1", {"i": i}, T0 + i)

    with ThreadPoolExecutor(8) as pool:
        revisions = sorted(pool.map(put, range(8)))
    assert revisions == list(range(1, 9))
    assert store.revision("H1") == 8


def test_insights_versions_bump_when_changed(db: Database) -> None:
    state = InsightsState(db)
    assert state.versions() == {} and state.rows() == {} and state.refreshed() == {}
    assert state.record("H1", T0, "data", changed=False) == 0
    assert state.record("H1", T0 + 60, "data", changed=True) == 1
    assert state.record("H1", T0 + 120, "daily", changed=False) == 1
    assert state.record("H2", T0, "tariff", changed=True) == 1
    assert state.versions() == {"H1": 1, "H2": 1}
    assert state.rows() == {"H1": (1, "daily"), "H2": (1, "tariff")}
    assert state.refreshed() == {"H1": T0 + 120, "H2": T0}
