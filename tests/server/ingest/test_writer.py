"""The batch writer acknowledges only after a successful write, in order; retention runs once
per period however many processes ask."""

from __future__ import annotations

import threading
import time

from generator.times import parse_ts
from server.ingest.retention import RetentionJob, claim
from server.ingest.writer import BatchWriter, group_by_second
from server.storage import DeadLetters, Reading, ReadingStore, WriteResult
from server.storage.database import DatabaseUnavailable, open_database


class FlakyIngestor:
    """Fails the first ``failures`` writes like a database that is down, then records batches."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.batches: list[list[Reading]] = []
        self.acked_before_write: list[int] = []

    def write(self, rows: list[Reading]) -> WriteResult:
        if self.failures:
            self.failures -= 1
            raise DatabaseUnavailable("connection refused")
        self.batches.append(list(rows))
        return WriteResult(len(rows), 0)


def test_acks_follow_the_write_in_order_and_failures_are_retried() -> None:
    ingestor = FlakyIngestor(failures=2)
    writer = BatchWriter(ingestor, max_rows=1000, max_delay_s=0.05)  # type: ignore[arg-type]
    acks: list[int] = []
    done = threading.Event()
    for i in range(10):
        rows = [] if i == 4 else [Reading("L1", "Overall", 100 + i, float(i))]

        def ack(i: int = i) -> None:
            assert ingestor.batches, f"message {i} acknowledged before any write succeeded"
            acks.append(i)
            if i == 9:
                done.set()

        writer.submit(rows, ack)
    writer.start()
    assert done.wait(10)
    writer.stop()
    assert acks == list(range(10))
    assert sum(len(b) for b in ingestor.batches) == 9


def test_batches_are_bounded_by_size() -> None:
    ingestor = FlakyIngestor(failures=0)
    writer = BatchWriter(ingestor, max_rows=100, max_delay_s=5.0)  # type: ignore[arg-type]
    for i in range(250):
        writer.submit([Reading("L1", "Overall", i, 1.0)])
    writer.start()
    deadline = time.monotonic() + 10
    while sum(len(b) for b in ingestor.batches) < 200 and time.monotonic() < deadline:
        time.sleep(0.01)  # polling interval of a bounded wait
    assert [len(b) for b in ingestor.batches[:2]] == [100, 100]
    writer.stop()
    assert sum(len(b) for b in ingestor.batches) == 250


def test_group_by_second() -> None:
    rows = [
        Reading("L1", "AC", 11, 1.0),
        Reading("L1", "Overall", 10, 2.0),
        Reading("L1", "Overall", 11, 3.0),
    ]
    assert group_by_second(rows) == [
        ("L1", {"ts": "1970-01-01T00:00:10Z", "power_kw": {"Overall": 2.0}}),
        ("L1", {"ts": "1970-01-01T00:00:11Z", "power_kw": {"AC": 1.0, "Overall": 3.0}}),
    ]


def test_retention_is_claimed_once_per_period(database_url) -> None:  # noqa: ANN001
    now = 1_800_000_000
    dbs = [open_database(database_url) for _ in range(3)]  # three processes or hosts
    try:
        store = ReadingStore(dbs[0], raw_retention_s=3600, rollup_retention_s=7200)
        store.write(
            [Reading("L1", "Overall", now - 5000, 1.0), Reading("L1", "Overall", now - 10, 2.0)]
        )
        dead = DeadLetters(dbs[0], clock=lambda: now - 40 * 86_400)
        dead.add("mqtt", "L1", "old", b"x")
        jobs = [
            RetentionJob(
                db,
                ReadingStore(db, raw_retention_s=3600, rollup_retention_s=7200),
                DeadLetters(db),
                clock=lambda: now,
            )
            for db in dbs
        ]
        results = [job.run_once() for job in jobs]
        assert results.count(None) == 2
        assert [r for r in results if r is not None] == [(1, 0, 1)]
        assert not claim(dbs[1], "retention", now + 3599, 3600)
        assert claim(dbs[2], "retention", now + 3600, 3600)
    finally:
        for db in dbs:
            db.dispose()


class BuggyIngestor(FlakyIngestor):
    """Raises a non-database error for the first batch (a bug), then works."""

    def __init__(self) -> None:
        super().__init__(failures=0)
        self.rejected: list[tuple[str, int]] = []
        self.broken = True

    def write(self, rows: list[Reading]) -> WriteResult:
        if self.broken:
            self.broken = False
            raise ValueError("unexpected")
        return super().write(rows)

    def reject(self, source, household, reason, payload, n=1) -> None:  # noqa: ANN001
        self.rejected.append((reason, n))


def test_a_bug_in_one_batch_does_not_stop_the_writer() -> None:
    ingestor = BuggyIngestor()
    writer = BatchWriter(ingestor, max_rows=1, max_delay_s=0.01)  # type: ignore[arg-type]
    acked = threading.Event()
    writer.submit([Reading("L1", "Overall", 1, 1.0)])
    writer.submit([Reading("L1", "Overall", 2, 1.0)], acked.set)
    writer.start()
    assert acked.wait(10)
    writer.stop()
    assert ingestor.rejected == [("internal error while storing: unexpected", 1)]
    assert ingestor.batches == [[Reading("L1", "Overall", 2, 1.0)]]


def test_dead_letters_cli(tmp_path, capsys, monkeypatch) -> None:  # noqa: ANN001
    import json

    from server.cli import main
    from server.storage.database import database_url

    monkeypatch.delenv("GRIDLIGHT_DATABASE_URL", raising=False)
    db = open_database(database_url({"DATA_DIR": tmp_path}))
    letters = DeadLetters(db)
    letters.add("mqtt", "L1", "ts 'x' is not a timestamp", b'{"ts": "x"}')
    letters.add("http", "L2", "unknown channel 'Fridge'", "[...]")
    db.dispose()
    assert main(["dead-letters", "--data-dir", str(tmp_path), "--household", "L1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(x)["reason"] for x in lines] == ["ts 'x' is not a timestamp"]
    assert main(["dead-letters", "--data-dir", str(tmp_path), "--limit", "0"]) == 2
    assert "--limit must be positive" in capsys.readouterr().err


def test_a_broker_that_comes_back_empty_gets_the_last_readings_again(tmp_path) -> None:  # noqa: ANN001
    """A Redis restarted without persistence loses what its readers had not read: the readings
    published in the ``resend_s`` before the outage go out again, first, once it is back."""
    from server.errors import BrokerUnavailable
    from server.ingest.writer import Ingestor
    from server.storage import KeyStore

    db = open_database(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    now = [1_800_000_000.0]
    stream: list[tuple[str, dict]] = []
    down = {"left": 0}

    def publish(household: str, reading: dict) -> None:
        if down["left"]:
            down["left"] -= 1
            raise BrokerUnavailable("Redis is restarting")
        stream.append((household, reading))

    counts: dict[str, int] = {}
    ingestor = Ingestor(
        ReadingStore(db),
        KeyStore(db),
        DeadLetters(db),
        publish,
        lambda name, n=1: counts.__setitem__(name, counts.get(name, 0) + n),
        clock=lambda: now[0],
        publish_backoff_s=0.001,
        resend_s=5.0,
    )

    def write(ts: int) -> None:
        ingestor.write([Reading("L1", "Overall", ts, 1.0)])
        now[0] += 1

    for ts in range(100, 110):
        write(ts)
    del stream[7:]  # the broker restarts: the readers had read 7, the last 3 are gone
    down["left"] = 2
    write(110)
    ts_sent = [parse_ts(r["ts"]) for _, r in stream]
    # the 5 s before the outage (105-109) again, then the reading that met it
    assert ts_sent == [*range(100, 107), *range(105, 111)]
    assert sorted(set(ts_sent)) == list(range(100, 111))  # nothing lost
    assert "gridlight_ingest_stream_failures_total" not in counts
    write(111)  # one outage, one re-send
    assert [parse_ts(r["ts"]) for _, r in stream][-1] == 111 and len(stream) == 14
    db.dispose()
