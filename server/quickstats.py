"""The server's access to quick statistics: cached, computed off the request greenlets.

Statistics come from :mod:`server.stats` (pure) through its persistent
:class:`~server.stats.StatsCache` under ``STATS_CACHE_DIR``, which shares one computation among
concurrent requests for the same key. The computation (distribution fits take seconds) and the
first read of a dataset run through ``runner``: under gunicorn's gevent worker the hub's native
thread pool, so request greenlets keep being served meanwhile.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from server.errors import InvalidParameter
from server.households import Households
from server.stats import HouseholdStats, StatsCache, StatsInputError, household_stats, stats_report

__all__ = ["QuickStats", "default_runner"]

log = logging.getLogger(__name__)
T = TypeVar("T")
Runner = Callable[[Callable[[], Any]], Any]


def _inline(fn: Callable[[], T]) -> T:
    return fn()


def default_runner() -> Runner:
    """gevent's native thread pool when threads are monkey-patched (gunicorn -k gevent), else
    a direct call."""
    from gevent import monkey

    if monkey.is_module_patched("threading"):
        import gevent

        def run_in_pool(fn: Callable[[], T]) -> T:
            return gevent.get_hub().threadpool.apply(fn)

        return run_in_pool
    return _inline


class QuickStats:
    def __init__(self, households: Households, cache_dir: str | Path, runner: Runner) -> None:
        self.households = households
        self.runner = runner
        self.cache = StatsCache(Path(cache_dir), run=runner)

    def get(self, household: str, interval_s: int, *, by_hour: bool = False) -> HouseholdStats:
        dataset = self.runner(lambda: self.households.dataset(household))
        try:
            return household_stats(
                dataset, household, interval_s, by_hour=by_hour, cache=self.cache
            )
        except StatsInputError as err:
            raise InvalidParameter(f"cannot compute statistics: {err}") from err

    def report(self, household: str, interval_s: int, *, by_hour: bool = False) -> dict[str, Any]:
        return stats_report(self.get(household, interval_s, by_hour=by_hour), household)

    def warm(self, households: list[str], should_stop: Callable[[], bool]) -> None:
        """Precompute the common intervals of ``households`` (called from a background thread)."""
        for household in households:
            try:
                dataset = self.runner(lambda h=household: self.households.dataset(h))
                self.cache.precompute(dataset, [household], should_stop=should_stop)
            except Exception as err:  # warming is best effort; requests compute on demand
                log.warning("could not warm statistics of %s: %s", household, err)
