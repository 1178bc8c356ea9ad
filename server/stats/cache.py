"""A cache of :class:`HouseholdStats`: persistent JSON files plus an in-memory LRU.

Entries are keyed by :class:`StatsKey` — dataset fingerprint, household, interval, mode
(overall or by hour) and :data:`~server.stats.model.ALGORITHM_VERSION` — so a changed dataset or
algorithm never serves stale thresholds. Files live in ``cache_dir`` (the server uses a
directory under its data directory), one per key, written atomically.

Concurrent requests for the same key share one computation: the first caller computes, the
others wait on its future. Only ``threading`` primitives are used, so under gevent (which patches
them) waiting is cooperative. The computation itself goes through ``run`` (default: call it
inline), which the server replaces with a function that runs it in a native thread pool off the
request greenlets, e.g. ``run=lambda fn: gevent.get_hub().threadpool.apply(fn)``. Failures are not
cached: the next request tries again.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from server.stats.model import ALGORITHM_VERSION, HouseholdStats, check_interval_s, compute_stats
from server.stats.windows import StatsInputError

if TYPE_CHECKING:
    from generator.dataset import Dataset

__all__ = ["COMMON_INTERVALS_S", "StatsCache", "StatsKey"]

#: Intervals the server warms up in the background. [s]
COMMON_INTERVALS_S: tuple[int, ...] = (5, 15, 30, 60, 300, 900)

_SAFE = re.compile(r"^[A-Za-z0-9-]{1,64}$")

Compute = Callable[[], HouseholdStats]
Runner = Callable[[Compute], HouseholdStats]


def _run_inline(compute: Compute) -> HouseholdStats:
    return compute()


@dataclass(frozen=True)
class StatsKey:
    """What a cached :class:`HouseholdStats` depends on."""

    fingerprint: str
    household: str
    interval_s: int
    by_hour: bool = False
    algorithm_version: int = ALGORITHM_VERSION

    def __post_init__(self) -> None:
        for name in ("fingerprint", "household"):
            value = getattr(self, name)
            if not isinstance(value, str) or not _SAFE.match(value):
                raise StatsInputError(f"invalid {name} {value!r} for a stats cache key")
        check_interval_s(self.interval_s)

    @property
    def filename(self) -> str:
        mode = "hour" if self.by_hour else "all"
        return (
            f"{self.fingerprint}_{self.household}_{self.interval_s}s_{mode}"
            f"_v{self.algorithm_version}.json"
        )


@dataclass
class CacheCounters:
    """How lookups were answered (for ``/metrics``)."""

    memory_hits: int = 0
    disk_hits: int = 0
    computations: int = 0
    shared_waits: int = 0


@dataclass
class StatsCache:
    """Stats cache under ``cache_dir`` (created on first write); see the module docstring.

    ``max_entries`` bounds the in-memory LRU; ``run`` executes each computation (inline by
    default); ``compute`` builds stats from a household frame (default :func:`compute_stats`).
    A computed entry's file replaces those of the same household, interval and mode under another
    fingerprint or algorithm version (a live household's re-read history, a regenerated dataset)
    once they are ``superseded_after_s`` old: workers that re-read at other times keep theirs
    meanwhile, and a live household no longer leaves a file per re-read behind for ever.
    """

    cache_dir: Path
    max_entries: int = 256
    run: Runner = _run_inline
    compute: Callable[..., HouseholdStats] = compute_stats
    counters: CacheCounters = field(default_factory=CacheCounters)
    superseded_after_s: float = 86_400.0

    def __post_init__(self) -> None:
        self.cache_dir = Path(self.cache_dir)
        if self.max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {self.max_entries}")
        self._lock = threading.Lock()
        self._memory: OrderedDict[StatsKey, HouseholdStats] = OrderedDict()
        self._inflight: dict[StatsKey, Future[HouseholdStats]] = {}

    # -- lookups -----------------------------------------------------------------------------

    def peek(self, key: StatsKey) -> HouseholdStats | None:
        """The cached stats for ``key`` (memory, then disk), or None; never computes."""
        with self._lock:
            hit = self._memory.get(key)
            if hit is not None:
                self._memory.move_to_end(key)
                self.counters.memory_hits += 1
                return hit
        stats = self._load(key)
        if stats is not None:
            self._count("disk_hits")
            self._remember(key, stats)
        return stats

    def get_or_compute(self, key: StatsKey, compute: Compute) -> HouseholdStats:
        """Cached stats for ``key``, else ``compute()`` them once (shared by concurrent callers)."""
        with self._lock:
            hit = self._memory.get(key)
            if hit is not None:
                self._memory.move_to_end(key)
                self.counters.memory_hits += 1
                return hit
            future = self._inflight.get(key)
            owner = future is None
            if future is None:
                future = self._inflight[key] = Future()
            else:
                self.counters.shared_waits += 1
        if not owner:
            return future.result()
        try:
            stats = self._load(key)
            if stats is not None:
                self._count("disk_hits")
            else:
                self._count("computations")
                stats = self.run(compute)
                self._store(key, stats)
                self.prune_superseded(key)
            self._remember(key, stats)
            future.set_result(stats)
            return stats
        except BaseException as err:
            future.set_exception(err)
            raise
        finally:
            with self._lock:
                self._inflight.pop(key, None)

    def for_dataset(
        self, dataset: Dataset, household: str, interval_s: int, *, by_hour: bool = False
    ) -> HouseholdStats:
        """Stats of a dataset household (validated first: unknown household, bad interval)."""
        info = dataset.household(household)
        key = StatsKey(dataset.fingerprint, household, check_interval_s(interval_s), by_hour)

        def compute() -> HouseholdStats:
            return self.compute(
                dataset.frame(household),
                interval_s,
                timezone=info.timezone,
                by_hour=by_hour,
                fingerprint=dataset.fingerprint,
                resolution_s=info.resolution_s,
            )

        return self.get_or_compute(key, compute)

    def precompute(
        self,
        dataset: Dataset,
        households: Iterable[str] | None = None,
        intervals: Iterable[int] = COMMON_INTERVALS_S,
        *,
        by_hour: Iterable[bool] = (False,),
        should_stop: Callable[[], bool] | None = None,
    ) -> list[StatsKey]:
        """Warm the cache for every household × interval × mode; returns the keys now cached.

        Synchronous: the server calls it from a background thread. Combinations that cannot be
        computed (an interval longer than the data, an empty channel) are skipped. ``should_stop``
        is polled between combinations to end early (e.g. at shutdown).
        """
        done: list[StatsKey] = []
        for household in list(households or dataset.households):
            for interval_s in intervals:
                for mode in by_hour:
                    if should_stop is not None and should_stop():
                        return done
                    try:
                        self.for_dataset(dataset, household, interval_s, by_hour=mode)
                    except StatsInputError:
                        continue
                    done.append(StatsKey(dataset.fingerprint, household, interval_s, mode))
        return done

    def forget(self, household: str | None) -> int:
        """A household was removed: drop its statistics from memory and its files (``None``:
        every household's in memory; the files stay, they cannot be told apart). The number of
        files deleted."""
        with self._lock:
            if household is None:
                self._memory.clear()
                return 0
            for key in [k for k in self._memory if k.household == household]:
                del self._memory[key]
        if not _SAFE.match(household):
            return 0
        removed = 0
        for path in self.cache_dir.glob(f"*_{household}_*.json"):
            if path.name.split("_")[1:2] != [household]:
                continue
            try:
                path.unlink()
                removed += 1
            except OSError:
                continue
        return removed

    def clear_memory(self) -> None:
        """Forget the in-memory entries (files stay)."""
        with self._lock:
            self._memory.clear()

    # -- storage -----------------------------------------------------------------------------

    def _count(self, counter: str) -> None:
        with self._lock:
            setattr(self.counters, counter, getattr(self.counters, counter) + 1)

    def _remember(self, key: StatsKey, stats: HouseholdStats) -> None:
        with self._lock:
            self._memory[key] = stats
            self._memory.move_to_end(key)
            while len(self._memory) > self.max_entries:
                self._memory.popitem(last=False)

    def _load(self, key: StatsKey) -> HouseholdStats | None:
        path = self.cache_dir / key.filename
        try:
            raw = json.loads(path.read_text())
            return HouseholdStats.from_json(raw)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            return None  # unreadable or from an incompatible writer: recompute and overwrite

    def prune_superseded(self, key: StatsKey, now: float | None = None) -> int:
        """Delete the files ``key``'s supersedes that are old enough; how many were deleted."""
        now = time.time() if now is None else now
        _, household, interval, mode, _ = key.filename.split("_")
        removed = 0
        for path in self.cache_dir.glob(f"*_{household}_{interval}_{mode}_v*.json"):
            parts = path.name.split("_")  # none of the fields has an underscore
            if len(parts) != 5 or parts[1:4] != [household, interval, mode]:
                continue
            if path.name == key.filename:
                continue
            try:
                if now - path.stat().st_mtime >= self.superseded_after_s:
                    path.unlink()
                    removed += 1
            except OSError:
                continue  # gone already, or a read-only directory
        return removed

    def _store(self, key: StatsKey, stats: HouseholdStats) -> None:
        text = json.dumps(stats.to_json(), allow_nan=False, separators=(",", ":"))
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".stats-", suffix=".tmp", dir=self.cache_dir)
            try:
                with os.fdopen(fd, "w") as fh:
                    fh.write(text)
                os.replace(tmp, self.cache_dir / key.filename)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError:
            return  # a read-only data directory still serves from memory
