"""Once-per-period job claims, on SQLite and PostgreSQL, with concurrent claimers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from server.storage.database import open_database
from server.storage.jobs import claim


def test_one_claim_per_period(database_url: str) -> None:
    db = open_database(database_url)
    try:
        assert claim(db, "retention", 1000, 3600)
        assert not claim(db, "retention", 1001, 3600)
        assert claim(db, "other", 1001, 3600)  # jobs are independent
        assert not claim(db, "retention", 4599, 3600)
        assert claim(db, "retention", 4600, 3600)
    finally:
        db.dispose()


def test_concurrent_claimers_win_once(database_url: str) -> None:
    db = open_database(database_url)
    try:
        for period in range(5):
            now = 10_000 + period * 3600
            with ThreadPoolExecutor(8) as pool:
                won = list(pool.map(lambda _, now=now: claim(db, "job", now, 3600), range(16)))
            assert sum(won) == 1, (period, won)
    finally:
        db.dispose()
