"""Leases of leader-only jobs in the database (the ``leases`` table), on SQLite and PostgreSQL:
one holder at a time, taken over after the TTL, handed over at once on release, and a database
that is down means "not the leader". Time is an injected clock: nothing here sleeps."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from server.leases import DatabaseLease, LeasedFollowers, LocalLease, RedisLease, lease_for
from server.storage.database import Database, open_database
from tests.services import free_port

NAME = "gridlight:test:leader"
TTL_S = 10.0


class Clock:
    def __init__(self, now_s: float = 1_800_000_000.0) -> None:
        self.now_s = now_s

    def __call__(self) -> float:
        return self.now_s


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    db = open_database(database_url)
    yield db
    db.dispose()


def owner_row(db: Database) -> tuple[str, float] | None:
    with db.read() as conn:
        row = conn.execute(
            sa.text("SELECT owner, expires_s FROM leases WHERE name = :name"), {"name": NAME}
        ).first()
    return None if row is None else (row[0], row[1])


def test_one_holder_and_a_takeover_after_the_ttl(db: Database):
    clock = Clock()
    a = DatabaseLease(db, NAME, TTL_S, clock=clock)
    b = DatabaseLease(db, NAME, TTL_S, clock=clock)
    assert a.owner != b.owner
    assert a.hold() and not b.hold()
    assert owner_row(db) == (a.owner, clock.now_s + TTL_S)
    # a renews within the TTL: it keeps the lease well past the first TTL
    for _ in range(5):
        clock.now_s += TTL_S / 2
        assert a.hold() and not b.hold()
    # a stops renewing (its worker died): b waits out the TTL, then takes over
    clock.now_s += TTL_S  # exactly at the expiry: still a's
    assert not b.hold()
    clock.now_s += 0.001
    assert b.hold()
    assert owner_row(db) == (b.owner, clock.now_s + TTL_S)
    assert not a.hold()  # a comes back: the lease is b's now
    assert b.hold()


def test_release_hands_the_lease_over_at_once(db: Database):
    clock = Clock()
    a = DatabaseLease(db, NAME, TTL_S, clock=clock)
    b = DatabaseLease(db, NAME, TTL_S, clock=clock)
    assert a.hold() and not b.hold()
    a.release()
    assert owner_row(db) is None
    assert b.hold() and not a.hold()
    a.release()  # not held: leaves b's row alone
    assert owner_row(db) == (b.owner, clock.now_s + TTL_S)


def test_a_release_after_losing_the_lease_keeps_the_new_holders_row(db: Database):
    clock = Clock()
    a = DatabaseLease(db, NAME, TTL_S, clock=clock)
    b = DatabaseLease(db, NAME, TTL_S, clock=clock)
    assert a.hold()
    clock.now_s += TTL_S + 1
    assert b.hold()
    a._held = True  # a has not noticed yet (its renewal is due later)
    a.release()
    assert owner_row(db) == (b.owner, clock.now_s + TTL_S)


def test_leases_of_different_jobs_are_independent(db: Database):
    a = DatabaseLease(db, NAME, TTL_S)
    b = DatabaseLease(db, NAME + ":other", TTL_S)
    assert a.hold() and b.hold()


def test_concurrent_contenders_elect_exactly_one(db: Database):
    """Eight workers try at the same instant (on PostgreSQL: eight connections racing for the
    same row): exactly one holds the lease."""
    clock = Clock()
    leases = [DatabaseLease(db, NAME, TTL_S, clock=clock) for _ in range(8)]
    start = threading.Barrier(len(leases))
    held: list[bool] = [False] * len(leases)

    def contend(i: int) -> None:
        start.wait(timeout=10)
        held[i] = leases[i].hold()

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(len(leases))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sum(held) == 1
    winner = leases[held.index(True)]
    assert owner_row(db) == (winner.owner, clock.now_s + TTL_S)


def test_a_database_that_is_down_means_not_the_leader(tmp_path: Path):
    (tmp_path / "a-directory").mkdir()
    for url in (
        f"postgresql://gridlight@127.0.0.1:{free_port()}/gridlight",  # nothing listens
        f"sqlite:///{tmp_path / 'a-directory'}",  # not a file SQLite can open
    ):
        db = Database(url)
        try:
            lease = DatabaseLease(db, NAME, TTL_S)
            assert lease.hold() is False
            lease.release()  # nothing held: nothing to do, no error
        finally:
            db.dispose()


def test_the_lease_is_lost_while_postgresql_is_down_and_taken_again_after(
    postgres_server, postgres_url: str
):
    db = open_database(postgres_url)
    try:
        clock = Clock()
        lease = DatabaseLease(db, NAME, TTL_S, clock=clock)
        assert lease.hold()
        postgres_server.stop()
        try:
            assert lease.hold() is False
        finally:
            postgres_server.start()
        clock.now_s += 1
        assert lease.hold()  # its row survived and is still its own
    finally:
        db.dispose()


def test_lease_for_picks_redis_then_the_database_then_local(tmp_path: Path):
    db = Database(f"sqlite:///{tmp_path / 'g.sqlite3'}")
    try:
        redis_lease = lease_for({"REDIS_URL": "redis://127.0.0.1:1/0"}, NAME, 3, db)
        assert isinstance(redis_lease, RedisLease) and redis_lease.key == NAME
        redis_lease.close()
        in_db = lease_for({"REDIS_URL": None}, NAME, 3, db)
        assert isinstance(in_db, DatabaseLease) and in_db.name == NAME and in_db.ttl_s == 3.0
        assert isinstance(lease_for({"REDIS_URL": None}, NAME, 3), LocalLease)
    finally:
        db.dispose()


def test_a_lease_needs_a_positive_ttl(tmp_path: Path):
    db = Database(f"sqlite:///{tmp_path / 'g.sqlite3'}")
    try:
        with pytest.raises(ValueError, match="ttl_s must be positive, got 0"):
            DatabaseLease(db, NAME, 0)
    finally:
        db.dispose()


def test_leased_followers_follow_each_household_at_its_own_interval():
    """With ``interval_of``, a household is followed at its interval and followed again (a new
    listener) when that changes; one no longer wanted is let go."""

    class Following:
        def __init__(self, household: str, interval_s: int, listener: object) -> None:
            self.household, self.interval_s, self.listener = household, interval_s, listener
            self.stopped = False

        def stop(self) -> None:
            self.stopped = True

    class Hub:
        def follow(self, household: str, interval_s: int, listener: object, **_: object):  # noqa: ANN202
            return Following(household, interval_s, listener)

    intervals = {"A": 60, "B": 1}
    job = LeasedFollowers(
        "test",
        LocalLease(),
        Hub(),
        60,
        listener_for=lambda household: object(),
        wanted=lambda: set(intervals),
        interval_of=lambda household: intervals[household],
    )
    job.sync()
    assert {h: f.interval_s for h, f in job.followings.items()} == {"A": 60, "B": 1}
    first_a, first_b = job.followings["A"], job.followings["B"]
    intervals["A"] = 300
    job.sync()
    assert first_a.stopped and job.followings["A"].interval_s == 300
    assert job.followings["B"] is first_b and not first_b.stopped
    del intervals["B"]
    job.sync()
    assert first_b.stopped and set(job.followings) == {"A"}
