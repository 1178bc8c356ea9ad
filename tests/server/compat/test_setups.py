"""Stream set-ups in the database (``stream_setups``) on SQLite and PostgreSQL: shared by every
engine on the database, replaced by id, expired after their TTL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from server.compat.setups import DatabaseSetups, Setup
from server.storage import Database, open_database


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    db = open_database(database_url)
    yield db
    db.dispose()


def test_setups_are_shared_replaced_and_expire(database_url: str, db: Database):
    now = [1_800_000_000.0]
    setups = DatabaseSetups(db, ttl_s=3600, clock=lambda: now[0])
    first = Setup("A", 5, start_index=10, key_id="0123456789ab")
    setups.put("stream-one-id", first)
    other = open_database(database_url)  # another worker or host
    try:
        assert DatabaseSetups(other, ttl_s=3600, clock=lambda: now[0]).get("stream-one-id") == first
    finally:
        other.dispose()
    assert setups.get("stream-two-id") is None
    second = Setup("A", 60, speed=2.0)
    setups.put("stream-one-id", second)
    assert setups.get("stream-one-id") == second
    now[0] += 3000
    setups.put("stream-two-id", first)
    now[0] += 601  # stream-one-id is 3601 s old: gone; stream-two-id is kept
    assert setups.get("stream-one-id") is None and setups.get("stream-two-id") == first
    setups.put("stream-three-id", second)  # a put purges what expired
    with db.read() as conn:
        ids = conn.execute(sa.text("SELECT stream_id FROM stream_setups ORDER BY stream_id"))
        assert [r[0] for r in ids] == ["stream-three-id", "stream-two-id"]
