"""The alert log and the settings rows on SQLite and PostgreSQL: ids, keyset pages, deliveries,
retention, and the digest claim that holds once across concurrent workers."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from server.alerts.rules import SPIKE_MESSAGE, Alert
from server.alerts.settings import SettingsStore, default_settings
from server.alerts.store import RETENTION_S, AlertLog, Attempt
from server.storage import Database, open_database
from server.storage.crypto import Keyring, MasterKey

T0 = 1_763_792_760


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    db = open_database(database_url)
    yield db
    db.dispose()


def alert(ts_s: int, *, n: int = 0, quiet: bool = False, household: str = "A") -> Alert:
    return Alert(household, "spike", "alert", "red", ts_s, SPIKE_MESSAGE, {"n": n}, quiet=quiet)


def test_alerts_pages_and_deliveries(db: Database):
    log = AlertLog(db, clock=lambda: T0 + 0.5)
    ids = [log.add(alert(T0 + 60 * (i // 2), n=i)) for i in range(5)]
    log.add(alert(T0, household="B"))
    assert ids == sorted(ids) and len(set(ids)) == 5
    log.record(ids[0], Attempt("email", "o***@example.org", 1, "failed", "refused", T0 + 1.5))
    log.record(ids[0], Attempt("email", "o***@example.org", 2, "sent", None, T0 + 3.0))
    seen: list[int] = []
    cursor = None
    while True:
        page, cursor = log.page("A", cursor=cursor, limit=2)
        seen += [a["values"]["n"] for a in page]
        if cursor is None:
            break
        log.add(alert(T0 + 3600, n=99))  # logged meanwhile: never shifts a page
    assert seen == [4, 3, 2, 1, 0]
    first = log.page("A", from_s=T0, to_s=T0 + 1)[0]
    assert [a["values"]["n"] for a in first] == [1, 0]
    assert first[1]["logged_at"] == "2025-11-22T06:26:00Z"
    assert [(d["attempt"], d["status"], d["error"]) for d in first[1]["deliveries"]] == [
        (1, "failed", "refused"),
        (2, "sent", None),
    ]
    assert [a.status for a in log.attempts(ids[0])] == ["failed", "sent"]
    assert log.attempts(ids[0])[1].ts_s == T0 + 3.0


def test_purge_deletes_alerts_deliveries_and_claims_past_retention(db: Database):
    log = AlertLog(db)
    now = T0 + 400 * 86_400
    old = log.add(alert(now - RETENTION_S - 1))
    kept = log.add(alert(now - RETENTION_S + 1))
    for alert_id in (old, kept):
        log.record(alert_id, Attempt("webhook", "example.org", 1, "sent", None, now))
    end_s = now - RETENTION_S - 10
    assert log.claim_digest("A", end_s - 90, end_s, lambda rows: None) is None  # nothing held
    with db.read() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM alert_digests")).scalar_one() == 1
    assert log.purge(now) == 1
    assert log.attempts(old) == [] and len(log.attempts(kept)) == 1
    with db.read() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM alert_digests")).scalar_one() == 0


def digest_of(rows: list[dict]) -> Alert | None:
    if not rows:
        return None
    return Alert("A", "digest", "digest", "red", T0 + 3600, "held", {"count": len(rows)})


def test_a_digest_is_claimed_once_by_concurrent_workers(database_url: str, db: Database):
    """Eight workers (each its own engine and pool, like hosts) claim the same quiet period at
    once: one logs the digest, the others find it claimed; a later period is claimed anew."""
    log = AlertLog(db)
    for i in range(3):
        log.add(alert(T0 + 60 * i, n=i, quiet=True))
    log.add(alert(T0 + 120))  # not quiet: not in the digest
    workers = [open_database(database_url) for _ in range(8)]
    try:
        start = threading.Barrier(len(workers))
        results: list[object] = []

        def claim(worker: Database) -> None:
            start.wait(timeout=10)
            results.append(AlertLog(worker).claim_digest("A", T0, T0 + 3600, digest_of))

        threads = [threading.Thread(target=claim, args=(w,)) for w in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    finally:
        for worker in workers:
            worker.dispose()
    won = [r for r in results if r is not None]
    assert len(results) == 8 and len(won) == 1
    alert_id, digest = won[0]
    assert digest.values == {"count": 3}
    digests = [a for a in log.page("A")[0] if a["rule"] == "digest"]
    assert [a["id"] for a in digests] == [alert_id]
    with db.read() as conn:
        claims = conn.execute(sa.text("SELECT period_end_s, alert_id FROM alert_digests")).all()
    assert [tuple(c) for c in claims] == [(T0 + 3600, alert_id)]
    assert log.claim_digest("A", T0 + 3600, T0 + 7200, digest_of) is None  # nothing held
    assert log.claim_digest("A", T0 + 3600, T0 + 7200, digest_of) is None  # and claimed


def test_settings_rows(db: Database):
    store = SettingsStore(db, Keyring.load(db, MasterKey.generate()), clock=lambda: T0)
    assert store.get("A") is None
    doc = default_settings("Asia/Kolkata", ("Overall",))
    store.put("A", doc)
    doc["cooldown_min"] = 5
    store.put("A", doc)
    assert store.get("A") == doc and store.get("B") is None
    with db.read() as conn:
        assert conn.execute(sa.text("SELECT updated_s FROM alert_settings")).all() == [(T0,)]
