"""The server's access to quick statistics: cached, computed off the request greenlets.

Statistics come from :mod:`server.stats` (pure) through its persistent
:class:`~server.stats.StatsCache` under ``STATS_CACHE_DIR``, which shares one computation among
concurrent requests for the same key. The computation (distribution fits take seconds) runs
through ``runner``: under gunicorn's gevent worker a native thread, so request greenlets keep
being served meanwhile.
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from server.errors import InvalidParameter
from server.households.catalogue import Households
from server.stats import (
    COMMON_INTERVALS_S,
    HouseholdStats,
    StatsCache,
    StatsInputError,
    StatsKey,
    household_stats,
    stats_report,
)

__all__ = ["QuickStats", "default_runner"]

log = logging.getLogger(__name__)
T = TypeVar("T")
Runner = Callable[[Callable[[], Any]], Any]


def _inline(fn: Callable[[], T]) -> T:
    return fn()


def default_runner() -> Runner:
    """Under gunicorn's gevent worker (threads monkey-patched): a dedicated one-thread native pool,
    so fits never block request greenlets and never run two at a time on the worker's cores;
    else a direct call.

    tqdm (used by fitter, even with progress off) starts a monitor thread from inside the fit;
    under gevent that thread becomes a greenlet on the pool thread's hub and later fits hang on
    it, so the monitor is turned off (``tqdm.monitor_interval = 0``, tqdm's documented switch).
    """
    from gevent import monkey

    if not monkey.is_module_patched("threading"):
        return _inline
    from gevent.threadpool import ThreadPool
    from tqdm import tqdm

    tqdm.monitor_interval = 0
    pool: list[ThreadPool] = []

    def run_in_pool(fn: Callable[[], T]) -> T:
        if not pool:
            pool.append(ThreadPool(1))
        return pool[0].apply(fn)

    return run_in_pool


class QuickStats:
    def __init__(self, households: Households, cache_dir: str | Path, runner: Runner) -> None:
        self.households = households
        self.runner = runner
        self.cache = StatsCache(Path(cache_dir), run=runner)

    def cached(
        self, household: str, interval_s: int, *, by_hour: bool = False
    ) -> HouseholdStats | None:
        """Statistics of a dataset household already cached (memory or disk), found by the
        fingerprint its metadata records, without reading its table (about 100 MB for the demo
        households); ``None`` if not cached, or for a live household."""
        fingerprint = self.households.stored_fingerprint(household)
        if fingerprint is None:
            return None
        try:
            key = StatsKey(fingerprint, household, interval_s, by_hour)
        except StatsInputError:
            return None  # the full path below reports what is wrong
        return self.cache.peek(key)

    def get(self, household: str, interval_s: int, *, by_hour: bool = False) -> HouseholdStats:
        found = self.cached(household, interval_s, by_hour=by_hour)
        if found is not None:
            return found
        # read here, not in the pool: Households' lock is a gevent lock bound to this thread
        dataset = self.households.dataset(household)
        try:
            return household_stats(
                dataset, household, interval_s, by_hour=by_hour, cache=self.cache
            )
        except StatsInputError as err:
            raise InvalidParameter(f"cannot compute statistics: {err}") from err

    def report(self, household: str, interval_s: int, *, by_hour: bool = False) -> dict[str, Any]:
        stats = self.get(household, interval_s, by_hour=by_hour)
        return stats_report(stats, household, self.households.info(household).estimated)

    def warm(self, households: list[str], should_stop: Callable[[], bool]) -> None:
        """Precompute the common intervals of ``households`` (called from a background thread).

        Only one process of a deployment warms at a time (an advisory lock in the cache
        directory); the others find the results on disk. Tables read for it are let go after.
        """
        self.cache.cache_dir.mkdir(parents=True, exist_ok=True)
        with open(self.cache.cache_dir / ".warming.lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return  # another worker is warming
            for household in households:
                if all(self.cached(household, i) is not None for i in COMMON_INTERVALS_S):
                    continue  # warm already: its table need not be read
                try:
                    dataset = self.households.dataset(household)
                    self.cache.precompute(dataset, [household], should_stop=should_stop)
                except Exception as err:  # best effort; requests compute on demand
                    log.warning("could not warm statistics of %s: %s", household, err)
            self.households.release_tables()
