"""The ingest pipeline after validation: store in batches, then publish to the streams.

::

    HTTP request ──────────────► Ingestor.write(rows)            (one transaction per request)
    MQTT messages ─► BatchWriter ─► Ingestor.write(rows) ─► acks  (one per N readings or T ms)
                                         │
                        ReadingStore.write (idempotent) ─► broker.publish, newly stored only

Only readings that storage newly accepted are published, grouped by household and second into
the broker's reading shape ``{"ts", "power_kw": {channel: value}}``, so a redelivered MQTT message
or a retried HTTP batch never counts twice in a stream's averages. Storage is written first (it is
the record); if the process dies between the commit and the publish, the readings are stored but
missing from the live streams (they are in ``GET …/readings``).

A broker outage may also take readings published just before it (a Redis restarted without
persistence comes back with empty streams, whatever its readers had not read is gone), so at the
first failure of an outage the readings published in the last ``resend_s`` seconds are published
again, first, once the broker is back. Windows count each channel's second once
(:class:`server.streaming.aggregate.WindowAggregator`), so a reading the readers had is harmless.

Rejected input goes to the dead-letter table with its reason and is counted in ``/metrics``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from generator.times import format_ts
from server.errors import BrokerUnavailable, ConsentRequired
from server.metrics import register_counter
from server.storage import DeadLetters, KeyStore, Reading, ReadingStore, WriteResult
from server.storage.consent import ConsentStore
from server.storage.database import DatabaseUnavailable

__all__ = ["COUNTERS", "BatchWriter", "Ingestor"]

log = logging.getLogger(__name__)

COUNTERS = {
    "gridlight_ingest_readings_accepted_total": "Channel readings stored by ingest (HTTP + MQTT).",
    "gridlight_ingest_duplicates_total": "Channel readings ingested again (idempotent; not stored).",
    "gridlight_ingest_rejected_total": "Channel readings or messages refused by ingest validation.",
    "gridlight_ingest_mqtt_messages_total": "MQTT messages received by the ingest subscriber.",
    "gridlight_ingest_batches_total": "Storage transactions written by ingest.",
    "gridlight_ingest_stream_failures_total": "Stored readings that could not be published to a stream.",
    "gridlight_retention_runs_total": "Retention jobs run (raw readings, rollups, dead letters).",
}
for _name, _help in COUNTERS.items():
    register_counter(_name, _help)

Count = Callable[[str, float], None]
#: Storage failures a write is retried after (the database down, restarting or locked).
TRANSIENT = (DatabaseUnavailable, sa.exc.OperationalError, sa.exc.InterfaceError)
PUBLISH_ATTEMPTS = 5


def group_by_second(rows: Iterable[Reading]) -> list[tuple[str, dict]]:
    """Rows → broker readings ``(household, {"ts", "power_kw"})`` in time order per household."""
    grouped: dict[tuple[str, int], dict[str, float | None]] = {}
    for household, channel, ts_s, power_kw in rows:
        key = (household, ts_s)
        power = grouped.get(key)
        if power is None:
            power = grouped[key] = {}
        power[channel] = power_kw
    stamps: dict[int, str] = {}
    out = []
    for (household, ts_s), power in sorted(grouped.items(), key=lambda kv: kv[0][1]):
        ts = stamps.get(ts_s)
        if ts is None:
            ts = stamps[ts_s] = format_ts(ts_s)
        out.append((household, {"ts": ts, "power_kw": power}))
    return out


class Ingestor:
    """Stores validated rows and publishes them; looks up live households; keeps dead letters.

    ``publish(household, reading)`` is the broker's (``BrokerUnavailable`` while it is down).
    ``count(name, amount)`` feeds the metrics. The stores are safe to share between threads.
    """

    def __init__(
        self,
        store: ReadingStore,
        keys: KeyStore,
        dead_letters: DeadLetters,
        publish: Callable[[str, dict], object],
        count: Count,
        *,
        clock: Callable[[], float] = time.time,
        lookup_ttl_s: float = 5.0,
        publish_backoff_s: float = 0.1,
        resend_s: float = 5.0,
        consent: ConsentStore | None = None,
    ) -> None:
        self.store = store
        self.keys = keys
        self.dead_letters = dead_letters
        self.publish = publish
        self.count = count
        self.clock = clock
        self.lookup_ttl_s = lookup_ttl_s
        self.publish_backoff_s = publish_backoff_s
        self.resend_s = resend_s
        self.consent = consent  # None: every household collects (a bare pipeline in tests)
        self._channels: dict[str, tuple[float, tuple[str, ...] | None]] = {}
        # what went out in the last resend_s seconds: (clock time, household, reading)
        self._recent: deque[tuple[float, str, dict]] = deque()
        self._recent_lock = threading.Lock()
        self._in_outage = False

    @property
    def max_age_s(self) -> int:
        return self.store.raw_retention_s

    def channels_of(self, household: str) -> tuple[str, ...] | None:
        """Channels of a live (registered) household, ``None`` if unknown; cached briefly."""
        now = time.monotonic()
        found = self._channels.get(household)
        if found is not None and now - found[0] < self.lookup_ttl_s:
            return found[1]
        try:
            info = self.keys.get(household)
        except TRANSIENT:
            if found is not None:  # the database is away: what was known a moment ago
                return found[1]
            raise
        channels = None if info is None else info.channels
        if len(self._channels) > 10_000:
            self._channels.clear()
        self._channels[household] = (now, channels)
        return channels

    def forget(self, household: str | None) -> None:
        """A household was removed: its channels are looked up again (``None``: every one's), so
        its readings are refused from now on, not for up to ``lookup_ttl_s``."""
        if household is None:
            self._channels.clear()
        else:
            self._channels.pop(household, None)

    def collecting(self, household: str) -> bool:
        """Whether ``household`` consents to its readings being stored (read at every batch, so
        a withdrawal holds from the next one)."""
        return self.consent is None or self.consent.granted(household, "collection")

    def require_collection(self, household: str) -> None:
        """:class:`ConsentRequired` (403 ``consent_required``) unless :meth:`collecting`."""
        if self.consent is not None:
            refusal = self.consent.refusal(household, "collection", "its readings are not stored")
            if refusal is not None:
                raise ConsentRequired(refusal)

    def reject(
        self, source: str, household: str | None, reason: str, payload: str | bytes, n: int = 1
    ) -> None:
        """Keep a refused payload with its reason; count ``n`` rejections."""
        self.count("gridlight_ingest_rejected_total", n)
        try:
            self.dead_letters.add(source, household, reason, payload)
        except (
            DatabaseUnavailable,
            sa.exc.SQLAlchemyError,
        ) as err:  # the reason is logged even if the table cannot be written
            log.warning("cannot keep a dead letter (%s): %s", reason, err)

    def write(self, rows: list[Reading]) -> WriteResult:
        """Store ``rows`` in one transaction, then publish the newly stored ones."""
        result = self.store.write(rows)
        self.count("gridlight_ingest_batches_total", 1)
        self.count("gridlight_ingest_readings_accepted_total", result.accepted)
        self.count("gridlight_ingest_duplicates_total", result.duplicates)
        self._publish(result.stored)
        return result

    def _publish(self, stored: tuple[Reading, ...]) -> None:
        pending = group_by_second(stored)
        again = 0  # how many at the front of pending are re-sent ones (published before)
        attempts = 0
        while pending:
            household, reading = pending[0]
            try:
                self.publish(household, reading)
            except BrokerUnavailable as err:
                recent = self._outage_begins()
                pending[:0] = recent
                again += len(recent)
                attempts += 1
                if attempts >= PUBLISH_ATTEMPTS:
                    unsent = pending[again:]
                    log.warning(
                        "stream publish failed, %d readings stored only: %s", len(unsent), err
                    )
                    self.count(
                        "gridlight_ingest_stream_failures_total",
                        sum(len(r["power_kw"]) for _, r in unsent),
                    )
                    return
                time.sleep(self.publish_backoff_s * 2**attempts)
                continue
            pending.pop(0)
            again = max(again - 1, 0)
            self._published(household, reading)

    def _outage_begins(self) -> list[tuple[str, dict]]:
        """At the first failure of an outage, the recently published readings (to send again);
        nothing at the later ones."""
        with self._recent_lock:
            if self._in_outage:
                return []
            self._in_outage = True
            since = self.clock() - self.resend_s
            again = [(h, r) for t, h, r in self._recent if t >= since]
            self._recent.clear()
        return again

    def _published(self, household: str, reading: dict) -> None:
        if self.resend_s <= 0:
            return
        now = self.clock()
        with self._recent_lock:
            self._in_outage = False
            self._recent.append((now, household, reading))
            while self._recent and self._recent[0][0] < now - self.resend_s:
                self._recent.popleft()


@dataclass
class _Item:
    rows: list[Reading] | None
    done: Callable[[], None] | None
    #: computes ``rows`` when the writer takes the item (it needed the database, which was down)
    later: Callable[[], list[Reading]] | None = None


class BatchWriter:
    """A thread that writes queued rows every ``max_rows`` readings or ``max_delay_s``.

    :meth:`submit` queues one message's rows with a ``done`` callback (the MQTT ack), called in
    submission order after the rows are durably stored (or were nothing to store). A failing
    write is retried with backoff and never acknowledged before it succeeds.
    """

    def __init__(
        self,
        ingestor: Ingestor,
        *,
        max_rows: int = 2000,
        max_delay_s: float = 0.05,
        max_backoff_s: float = 5.0,
    ) -> None:
        if max_rows <= 0 or max_delay_s <= 0:
            raise ValueError("the batch size and delay must be positive")
        self.ingestor = ingestor
        self.max_rows = max_rows
        self.max_delay_s = max_delay_s
        self.max_backoff_s = max_backoff_s
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
        self.written = 0

    def start(self) -> BatchWriter:
        self.thread.start()
        return self

    def submit(self, rows: list[Reading], done: Callable[[], None] | None = None) -> None:
        self._queue.put(_Item(rows, done))

    def submit_later(
        self, rows: Callable[[], list[Reading]], done: Callable[[], None] | None = None
    ) -> None:
        """Queue a message whose rows ``rows()`` computes in the writer's thread, retried like a
        write while the database is unavailable (validation needs the household's channels)."""
        self._queue.put(_Item(None, done, rows))

    def stop(self, timeout_s: float = 10.0) -> None:
        """Write what is queued, then end the thread."""
        self._queue.put(None)
        self.thread.join(timeout=timeout_s)
        self._stopped.set()

    def _collect(self) -> tuple[list[_Item], bool]:
        first = self._queue.get()
        if first is None:
            return [], True
        items = [first]
        rows = len(first.rows or ())
        deadline = time.monotonic() + self.max_delay_s
        while rows < self.max_rows:
            remaining = deadline - time.monotonic()
            try:
                item = (
                    self._queue.get(timeout=remaining)
                    if remaining > 0
                    else self._queue.get_nowait()
                )
            except queue.Empty:
                break
            if item is None:
                return items, True
            items.append(item)
            rows += len(item.rows or ())
        return items, False

    def _run(self) -> None:
        stopping = False
        while not stopping:
            items, stopping = self._collect()
            if items:
                self._write(items)

    def _write(self, items: list[_Item]) -> None:
        backoff_s = 0.05
        rows: list[Reading] = []
        while True:
            try:
                for item in items:
                    if item.rows is None and item.later is not None:
                        item.rows = item.later()
                rows = [r for item in items for r in item.rows or ()]
                if rows:
                    self.ingestor.write(rows)
                    self.written += len(rows)
                break
            except TRANSIENT as err:
                log.warning("ingest write failed, retrying in %.2f s: %s", backoff_s, err)
                if self._stopped.wait(backoff_s):
                    return  # not acknowledged: the MQTT broker redelivers them
                backoff_s = min(backoff_s * 2, self.max_backoff_s)
            except Exception as err:  # a bug: keep the rows as a dead letter, keep ingesting
                log.exception(
                    "ingest write failed; keeping %d readings as a dead letter", len(rows)
                )
                payload = "\n".join(repr(r) for r in rows[:50])
                self.ingestor.reject(
                    "mqtt", None, f"internal error while storing: {err}", payload, len(rows)
                )
                break
        for item in items:
            if item.done is not None:
                try:
                    item.done()
                except Exception:
                    log.exception("acknowledging an ingested message failed")
