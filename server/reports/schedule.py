"""The monthly schedule: ``0 0 1 * *`` in each household's time zone, run by the leader.

:class:`ReportScheduler` is a leader-only job (a lease: :class:`~server.leases.LocalLease` in
the embedded default, :class:`~server.leases.RedisLease` with ``REDIS_URL``). Every ``check_s``
its holder asks, for every household, which months have ended in the household's zone and have
no report yet (:func:`~server.reports.months.due_months`: at most ``catch_up`` months back, none
before the household's readings start, none after a dataset's readings end), so months missed
while no server ran are caught up. Each month is claimed in the database first
(:meth:`~server.reports.store.ReportStore.claim`), so it is made once across workers and hosts
even when two leaders overlap for a moment.

Reports are rendered in a process pool (``concurrent.futures.ProcessPoolExecutor`` started with
``spawn`` or ``forkserver``: never on a request greenlet, never a ``fork`` of a gevent worker);
one household's months one after another, oldest first (each adds to the next one's cumulative
saving), households side by side. The scheduler's thread stores each PDF and delivers it
(:class:`~server.reports.deliver.Delivery`). ``workers=0`` renders in the scheduler's own
thread (tests).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from generator.dataset import HouseholdInfo
from server.leases import Lease, control_loop
from server.reports.control_runs import schedule_runs
from server.reports.generate import ReportTask, TariffFor, carbon_for, run_task
from server.reports.months import due_months, month_bounds
from server.reports.store import ReportStore, StoredReport
from server.storage.database import Database

__all__ = ["ReportScheduler", "Sources"]

log = logging.getLogger(__name__)


@dataclass
class Sources:
    """Where the scheduler finds households, their readings' span, tariffs and alerts."""

    households: Any  # server.households.catalogue.Households
    db: Database  # the installation's database (live households' rollups)
    store: ReportStore
    tariff_for: Callable[[], TariffFor]  # read at each use: a tariff store may replace it
    alerts: Callable[[str, int, int], list[dict[str, Any]]]  # household, from_s, to_s

    def all(self) -> list[HouseholdInfo]:
        return self.households.all()

    def span(self, info: HouseholdInfo) -> tuple[float | None, float | None]:
        """First and (for a dataset, whose readings end) last reading [epoch s]."""
        if self.households.dataset_path(info.id) is not None:
            start_s, span_s, rows = self.households.data_span(info.id)
            if rows == 0:
                return None, None
            return float(start_s), float(start_s + span_s - 1)
        with self.db.read() as c:
            first = c.execute(
                sa.text("SELECT MIN(ts_s) FROM rollups_1m WHERE household = :h"), {"h": info.id}
            ).scalar()
        return (None if first is None else float(first)), None

    def task(self, info: HouseholdInfo, month: str) -> ReportTask:
        start, end = month_bounds(month, info.timezone)
        dataset = self.households.dataset_path(info.id)
        tariff = self.tariff_for()(info)
        return ReportTask(
            info=info.to_json(),
            month=month,
            dataset=None if dataset is None else str(dataset),
            database=None if dataset is not None else self.db.url,
            tariff=None if tariff is None else tariff.to_json(),
            carbon=carbon_for(info),
            alerts=self.alerts(info.id, int(start.timestamp()), int(end.timestamp())),
            prior=self.store.summaries(info.id),
            joined_s=self.span(info)[0],
            schedules=schedule_runs(self.db, info.id, int(start.timestamp()), int(end.timestamp())),
        )


class ReportScheduler:
    """A leader-only job (see the module doc). ``run_once(now_s)`` does one check and waits for
    what it started; tests call it with the time they want."""

    def __init__(
        self,
        sources: Sources,
        lease: Lease,
        *,
        deliver: Callable[[HouseholdInfo, StoredReport, bytes], Any] | None = None,
        workers: int = 1,
        context: str = "spawn",
        check_s: float = 60.0,
        catch_up: int = 12,
        claim_ttl_s: float = 3600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if context not in ("spawn", "forkserver"):
            raise ValueError(
                f"REPORTS_POOL_CONTEXT must be 'spawn' or 'forkserver', got {context!r}"
            )
        self.sources = sources
        self.store = sources.store
        self.lease = lease
        self.deliver = deliver
        self.workers = max(0, int(workers))
        self.context = context
        self.check_s = check_s
        self.catch_up = catch_up
        self.claim_ttl_s = claim_ttl_s
        self.clock = clock
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.stopped = threading.Event()
        self._pool: ProcessPoolExecutor | None = None
        self._thread: threading.Thread | None = None

    # -- the job ----------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(
            target=control_loop,
            args=(self.sync, self.stopped, self.check_s, "reports"),
            name="reports",
            daemon=True,
        )
        self._thread.start()

    def sync(self) -> None:
        if self.lease.hold() and not self.stopped.is_set():
            self.run_once()

    def stop(self) -> None:
        self.stopped.set()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self.lease.release()

    # -- one check --------------------------------------------------------------------------------
    def due(self, info: HouseholdInfo, now_s: float) -> list[str]:
        start_s, end_s = self.sources.span(info)
        months = due_months(info.timezone, now_s, start_s, data_end_s=end_s, catch_up=self.catch_up)
        have = self.store.months(info.id)
        return [m for m in months if m not in have]

    def run_once(self, now_s: float | None = None) -> list[StoredReport]:
        """Claim every owed month, render, store and deliver them; the reports stored."""
        now = self.clock() if now_s is None else now_s
        queues: dict[str, tuple[HouseholdInfo, deque[str]]] = {}
        for info in self.sources.all():
            try:
                months = self.due(info, now)
            except Exception as err:  # noqa: BLE001 - one household must not stop the others
                log.warning("reports: cannot tell what %s is owed: %s", info.id, err)
                continue
            claimed = [
                m for m in months if self.store.claim(info.id, m, self.owner, self.claim_ttl_s)
            ]
            if claimed:
                queues[info.id] = (info, deque(claimed))
        stored: list[StoredReport] = []
        running: dict[Future, tuple[HouseholdInfo, str]] = {}

        def submit(household: str) -> None:
            info, months = queues[household]
            month = months.popleft()
            try:
                running[self._submit(self.sources.task(info, month))] = (info, month)
            except Exception as err:  # noqa: BLE001
                log.warning("reports: %s %s not started: %s", household, month, err)

        for household in list(queues):
            submit(household)
        while running and not self.stopped.is_set():
            done, _ = wait(list(running), timeout=self.check_s, return_when=FIRST_COMPLETED)
            for future in done:
                info, month = running.pop(future)
                report = self._finish(info, month, future)
                if report is not None:
                    stored.append(report)
                if queues[info.id][1] and not self.stopped.is_set():
                    submit(info.id)
        self._release_pool()
        return stored

    def _release_pool(self) -> None:
        """Let the pool's processes go once a check's reports are done: reports are due once a
        month, and an idle renderer (pandas, matplotlib, the app's modules) holds ~200 MB."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def _submit(self, task: ReportTask) -> Future:
        if self.workers == 0:
            future: Future = Future()
            try:
                future.set_result(run_task(task))
            except Exception as err:  # noqa: BLE001 - reported by _finish
                future.set_exception(err)
            return future
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context(self.context)
            )
        try:
            return self._pool.submit(run_task, task)
        except RuntimeError:  # a broken pool (a process died): a fresh one
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context(self.context)
            )
            return self._pool.submit(run_task, task)

    def _finish(self, info: HouseholdInfo, month: str, future: Future) -> StoredReport | None:
        try:
            pdf, summary = future.result()
        except Exception as err:  # noqa: BLE001 - the claim expires and a later check retries
            log.error("reports: %s %s failed: %s: %s", info.id, month, type(err).__name__, err)
            if self._pool is not None and type(err).__name__ == "BrokenProcessPool":
                self._pool = None
            return None
        render_s = summary.pop("render_s", None)
        report = self.store.save(info.id, month, pdf, summary)
        self.store.finish(info.id, month, self.owner)
        log.info(
            "reports: %s %s stored (%d bytes, rendered in %s s)",
            info.id,
            month,
            report.size_bytes,
            render_s,
        )
        if self.deliver is not None:
            try:
                self.deliver(info, report, pdf)
            except Exception as err:  # noqa: BLE001 - stored either way
                log.error("reports: delivering %s %s failed: %s", info.id, month, err)
        return report
