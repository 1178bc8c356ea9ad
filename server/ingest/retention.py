"""Retention as a scheduled job: raw readings (7 days), 1-minute rollups (a year) and dead
letters (``DEAD_LETTER_RETENTION_S``, 30 days) older than their retention are deleted.

Every process that writes (web workers, the ingest process) runs a :class:`RetentionJob` thread
that wakes every ``check_s``; the run itself is *claimed* in the installation's database
(:func:`server.storage.jobs.claim`: an atomic compare-and-set of the last run's time in
``job_runs``), so it happens once per period (``RETENTION_EVERY_S``, hourly) per database, never
once per worker or host. On PostgreSQL whole expired months of readings and rollups are dropped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import sqlalchemy as sa

from server.storage import DeadLetters, ReadingStore
from server.storage.database import Database, DatabaseUnavailable
from server.storage.jobs import claim

__all__ = ["RetentionJob", "claim"]

log = logging.getLogger(__name__)


class RetentionJob:
    def __init__(
        self,
        db: Database,
        store: ReadingStore,
        dead_letters: DeadLetters,
        *,
        every_s: float = 3600.0,
        dead_letter_retention_s: int = 30 * 86_400,
        check_s: float = 60.0,
        clock: Callable[[], float] = time.time,
        count: Callable[[str, float], None] = lambda name, amount: None,
        stopped: threading.Event | None = None,
        on_exit: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.store = store
        self.dead_letters = dead_letters
        self.every_s = every_s
        self.dead_letter_retention_s = dead_letter_retention_s
        self.check_s = min(check_s, every_s)
        self.clock = clock
        self.count = count
        self._stopped = threading.Event()
        self._external = stopped  # e.g. the worker's hub: stopping it ends this job too
        self._on_exit = on_exit
        self.thread = threading.Thread(target=self._loop, name="retention", daemon=True)

    def run_once(self) -> tuple[int, int, int] | None:
        """Run if this process claims the period; the rows deleted (raw, rollups, dead letters)."""
        now = self.clock()
        if not claim(self.db, "retention", now, self.every_s):
            return None
        raw, rollups = self.store.enforce_retention(now)
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
            except (DatabaseUnavailable, sa.exc.SQLAlchemyError) as err:
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
