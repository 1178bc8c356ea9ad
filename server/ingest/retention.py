"""Retention as a scheduled job: raw readings (7 days), 1-minute rollups (a year) and dead
letters (``DEAD_LETTER_RETENTION_S``, 30 days) older than their retention are deleted.

Every process that writes (web workers, the ingest process) runs a :class:`RetentionJob` thread
that wakes every ``check_s``; the run itself is *claimed* in the shared SQLite database
(``job_runs``: an atomic compare-and-set of the last run's time), so it happens once per period
(``RETENTION_EVERY_S``, hourly) per database, never once per worker.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable

from server.storage import DeadLetters, ReadingStore

__all__ = ["RetentionJob", "claim"]

log = logging.getLogger(__name__)


def claim(conn: sqlite3.Connection, name: str, now_s: float, every_s: float) -> bool:
    """True for exactly one caller per ``every_s`` across every process sharing ``conn``'s file."""
    cur = conn.execute(
        "INSERT INTO job_runs (name, last_run_s) VALUES (?, ?)"
        " ON CONFLICT (name) DO UPDATE SET last_run_s = excluded.last_run_s"
        " WHERE job_runs.last_run_s <= excluded.last_run_s - ?",
        (name, int(now_s), int(every_s)),
    )
    return cur.rowcount == 1


class RetentionJob:
    def __init__(
        self,
        conn: sqlite3.Connection,
        store: ReadingStore,
        dead_letters: DeadLetters,
        *,
        every_s: float = 3600.0,
        dead_letter_retention_s: int = 30 * 86_400,
        check_s: float = 60.0,
        clock: Callable[[], float] = time.time,
        count: Callable[[str, float], None] = lambda name, amount: None,
        lock: threading.Lock | None = None,
        stopped: threading.Event | None = None,
        on_exit: Callable[[], None] | None = None,
    ) -> None:
        self.conn = conn
        self.store = store
        self.dead_letters = dead_letters
        self.every_s = every_s
        self.dead_letter_retention_s = dead_letter_retention_s
        self.check_s = min(check_s, every_s)
        self.clock = clock
        self.count = count
        self.lock = lock or threading.Lock()  # guards ``conn`` and the dead letters' connection
        self._stopped = threading.Event()
        self._external = stopped  # e.g. the worker's hub: stopping it ends this job too
        self._on_exit = on_exit
        self.thread = threading.Thread(target=self._loop, name="retention", daemon=True)

    def run_once(self) -> tuple[int, int, int] | None:
        """Run if this process claims the period; the rows deleted (raw, rollups, dead letters)."""
        now = self.clock()
        with self.lock:
            if not claim(self.conn, "retention", now, self.every_s):
                return None
        raw, rollups = self.store.enforce_retention(now)
        with self.lock:
            dead = self.dead_letters.purge(now - self.dead_letter_retention_s)
        self.count("gridlight_retention_runs_total", 1)
        log.info(
            "retention: deleted %d raw readings, %d rollups, %d dead letters", raw, rollups, dead
        )
        return raw, rollups, dead

    def _done(self) -> bool:
        return self._stopped.is_set() or (self._external is not None and self._external.is_set())

    def _loop(self) -> None:
        while not self._done():
            try:
                self.run_once()
            except sqlite3.Error as err:
                log.warning("retention failed (retrying later): %s", err)
            waiter = self._external if self._external is not None else self._stopped
            waiter.wait(self.check_s)
        if self._on_exit is not None and not self._stopped.is_set():
            self._on_exit()

    def start(self) -> RetentionJob:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
