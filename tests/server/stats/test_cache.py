"""StatsCache: memory + disk, shared computations, keys, precompute."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from generator.dataset import DatasetError
from server.stats import ALGORITHM_VERSION, StatsCache, StatsInputError, StatsKey, compute_stats
from tests.server.stats.helpers import make_dataset, synthetic_frame


@pytest.fixture(scope="module")
def dataset():
    return make_dataset(synthetic_frame(days=2, resolution_s=10), resolution_s=10)


class CountingCompute:
    """compute_stats with a call counter, and the fit off (the cache does not care)."""

    def __init__(self):
        self.calls = 0

    def __call__(self, frame, interval_s, **kwargs):
        self.calls += 1
        return compute_stats(frame, interval_s, fit=False, **kwargs)


def test_memory_then_disk(tmp_path, dataset):
    counting = CountingCompute()
    cache = StatsCache(tmp_path / "stats", compute=counting)
    first = cache.for_dataset(dataset, "A", 60)
    assert counting.calls == 1 and first.fingerprint == dataset.fingerprint
    assert cache.for_dataset(dataset, "A", 60) is first
    assert cache.counters.memory_hits == 1
    files = list((tmp_path / "stats").glob("*.json"))
    assert [f.name for f in files] == [f"{dataset.fingerprint}_A_60s_all_v{ALGORITHM_VERSION}.json"]

    # A new process (new cache object) reads the file instead of computing.
    again = StatsCache(tmp_path / "stats", compute=counting)
    assert again.for_dataset(dataset, "A", 60) == first
    assert counting.calls == 1 and again.counters.disk_hits == 1
    # Another mode or interval is another entry.
    cache.for_dataset(dataset, "A", 60, by_hour=True)
    cache.for_dataset(dataset, "A", 300)
    assert counting.calls == 3


def test_cached_lookup_is_fast(tmp_path, dataset):
    cache = StatsCache(tmp_path, compute=CountingCompute())
    cache.for_dataset(dataset, "A", 60)
    timings = []
    for _ in range(50):
        start = time.perf_counter()
        cache.for_dataset(dataset, "A", 60)
        timings.append(time.perf_counter() - start)
    assert np.median(timings) < 0.005


def test_concurrent_requests_share_one_computation(tmp_path, dataset):
    release = threading.Event()
    counting = CountingCompute()

    def slow_compute(frame, interval_s, **kwargs):
        assert release.wait(10), "test never released the computation"
        return counting(frame, interval_s, **kwargs)

    cache = StatsCache(tmp_path, compute=slow_compute)
    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = [pool.submit(cache.for_dataset, dataset, "A", 30) for _ in range(6)]
        deadline = time.monotonic() + 10
        while cache.counters.shared_waits < 5:  # all but the owner are waiting on its future
            assert time.monotonic() < deadline, "callers did not queue behind one computation"
            time.sleep(0.001)
        release.set()
        results = [f.result(timeout=10) for f in futures]
    assert counting.calls == 1
    assert all(r is results[0] for r in results)


def test_failures_are_shared_but_not_cached(tmp_path, dataset):
    attempts = []

    def failing(frame, interval_s, **kwargs):
        attempts.append(interval_s)
        if len(attempts) == 1:
            raise RuntimeError("fit blew up")
        return compute_stats(frame, interval_s, fit=False, **kwargs)

    cache = StatsCache(tmp_path, compute=failing)
    with pytest.raises(RuntimeError, match="fit blew up"):
        cache.for_dataset(dataset, "A", 60)
    assert cache.for_dataset(dataset, "A", 60).interval_s == 60
    assert attempts == [60, 60]


def test_injected_runner_executes_the_computation(tmp_path, dataset):
    ran_in = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="stats-pool") as pool:

        def run(fn):
            ran_in.append(True)
            return pool.submit(fn).result()

        cache = StatsCache(tmp_path, run=run, compute=CountingCompute())
        cache.for_dataset(dataset, "A", 60)
        cache.for_dataset(dataset, "A", 60)
    assert ran_in == [True]


def test_corrupt_file_is_recomputed(tmp_path, dataset):
    counting = CountingCompute()
    cache = StatsCache(tmp_path, compute=counting)
    cache.for_dataset(dataset, "A", 60)
    path = next(tmp_path.glob("*.json"))
    path.write_text("{not json")
    fresh = StatsCache(tmp_path, compute=counting)
    assert fresh.for_dataset(dataset, "A", 60).interval_s == 60
    assert counting.calls == 2


def test_precompute_skips_impossible_intervals(tmp_path, dataset):
    counting = CountingCompute()
    cache = StatsCache(tmp_path, compute=counting)
    keys = cache.precompute(dataset, intervals=(5, 60, 10**7), by_hour=(False, True))
    assert [(k.interval_s, k.by_hour) for k in keys] == [
        (5, False),
        (5, True),
        (60, False),
        (60, True),
    ]
    assert all(cache.peek(k) is not None for k in keys)
    stopped = StatsCache(tmp_path / "other", compute=counting)
    assert stopped.precompute(dataset, should_stop=lambda: True) == []


def test_bad_keys(tmp_path, dataset):
    cache = StatsCache(tmp_path, compute=CountingCompute())
    with pytest.raises(DatasetError, match="unknown household 'Z'"):
        cache.for_dataset(dataset, "Z", 60)
    with pytest.raises(StatsInputError, match="positive"):
        cache.for_dataset(dataset, "A", 0)
    with pytest.raises(StatsInputError, match="invalid household"):
        StatsKey("abc", "../etc", 5)


def test_memory_is_a_bounded_lru(tmp_path, dataset):
    counting = CountingCompute()
    cache = StatsCache(tmp_path, max_entries=2, compute=counting)
    for interval_s in (60, 300, 60, 900):  # 60 is used again, so 300 is the one evicted
        cache.for_dataset(dataset, "A", interval_s)
    assert counting.calls == 3 and cache.counters.memory_hits == 1
    cache.for_dataset(dataset, "A", 300)  # gone from memory, still on disk
    assert cache.counters.disk_hits == 1 and counting.calls == 3
    with pytest.raises(ValueError, match="max_entries"):
        StatsCache(tmp_path, max_entries=0)


def test_superseded_files_are_pruned_once_old_enough(tmp_path, dataset):
    """A live household's history is re-read hourly under a new fingerprint: the files of its
    older fingerprints (and older algorithm versions) go once a day old; others stay."""
    import os

    cache = StatsCache(tmp_path, compute=CountingCompute())
    key = StatsKey(dataset.fingerprint, "A", 60)
    day_old = time.time() - 86_400 - 60

    def stale(name: str, age_s: float | None = day_old) -> object:
        path = tmp_path / name
        path.write_text("{}")
        if age_s is not None:
            os.utime(path, (age_s, age_s))
        return path

    v = ALGORITHM_VERSION
    superseded = [
        stale(f"0123456789abcdef_A_60s_all_v{v}.json"),
        stale("fedcba9876543210_A_60s_all_v0.json"),
    ]
    kept = [
        stale(f"1111111111111111_A_60s_all_v{v}.json", age_s=None),  # recent: another worker's
        stale(f"0123456789abcdef_A_300s_all_v{v}.json"),  # another interval
        stale(f"0123456789abcdef_A_60s_hour_v{v}.json"),  # another mode
        stale(f"0123456789abcdef_B-A_60s_all_v{v}.json"),  # another household
        stale(f"0123456789abcdef_XA_60s_all_v{v}.json"),
    ]
    cache.for_dataset(dataset, "A", 60)  # computed and stored: prunes what it supersedes
    assert not any(p.exists() for p in superseded)
    assert all(p.exists() for p in kept)
    assert (tmp_path / key.filename).exists()
    assert cache.prune_superseded(key) == 0  # nothing left to prune
    assert cache.prune_superseded(key, now=time.time() + 86_400) == 1  # the recent one, later
