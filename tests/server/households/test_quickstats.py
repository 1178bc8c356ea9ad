"""The server's statistics lookups: cached statistics are found by the fingerprint the dataset's
metadata records, so a worker whose statistics are cached never reads the tables (about 100 MB
for the demo households), and warming reads them only for what is missing, then lets them go."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from server.households import catalogue as households_module
from server.households.catalogue import Households
from server.households.quickstats import QuickStats
from server.stats import COMMON_INTERVALS_S


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every dataset table read by the server's Households."""
    seen: list[Path] = []
    real = households_module.read_dataset

    def counting(path, **kwargs):  # noqa: ANN001, ANN003, ANN202
        seen.append(Path(path))
        return real(path, **kwargs)

    monkeypatch.setattr(households_module, "read_dataset", counting)
    return seen


def test_cached_statistics_are_served_without_reading_the_table(
    server_data_dir, stats_cache_dir, dataset, reads
):
    stats = QuickStats(Households(server_data_dir), stats_cache_dir, runner=lambda fn: fn())
    got = stats.get("A", 5)
    assert reads == []
    assert got.fingerprint == dataset.fingerprint and got.interval_s == 5
    # not cached: computed from the table, which is read once
    assert stats.cached("C", 7) is None
    computed = stats.get("C", 7)
    assert len(reads) == 1 and computed.interval_s == 7
    assert stats.cached("C", 7) is computed
    # unknown households and bad intervals are still reported by the full path
    with pytest.raises(Exception, match="unknown household"):
        stats.get("Z", 5)


def test_warming_reads_only_what_is_missing_and_lets_the_tables_go(
    server_data_dir, stats_cache_dir, tmp_path, reads
):
    cache_dir = tmp_path / "cache"
    shutil.copytree(stats_cache_dir, cache_dir)
    households = Households(server_data_dir)
    stats = QuickStats(households, cache_dir, runner=lambda fn: fn())
    stats.warm(["B"], should_stop=lambda: False)
    assert len(reads) == 1 and households._datasets == {}  # read for warming, then let go
    for interval_s in COMMON_INTERVALS_S:
        assert stats.cached("B", interval_s) is not None, interval_s
    # a second process (or restart) finds it all on disk and reads nothing
    again = QuickStats(Households(server_data_dir), cache_dir, runner=lambda fn: fn())
    again.warm(["B"], should_stop=lambda: False)
    assert len(reads) == 1


def test_tables_are_read_in_the_native_thread_pool_under_gevent(server_data_dir):
    """The alert evaluator reads tables through the statistics runner, a native thread pool
    under gunicorn's gevent worker, where gevent cannot start a subprocess (releasing memory once
    ran ``ldconfig`` there and failed with "child watchers are only available on the default
    loop")."""
    import subprocess
    import sys

    script = (
        "from gevent import monkey; monkey.patch_all()\n"
        "import sys\n"
        "from gevent.threadpool import ThreadPool\n"
        "from server.households.catalogue import Households\n"
        "households = Households(sys.argv[1])\n"
        "dataset = ThreadPool(1).apply(lambda: households.dataset('A'))\n"
        "print(len(dataset.frame('A')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(server_data_dir)],
        cwd=Path(__file__).resolve().parents[3],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) == 2 * 86_400


def test_a_dataset_rewritten_in_place_is_followed(tmp_path, reads):
    """Cached statistics are keyed by the fingerprint households.json records: rewritten under
    the same path, the new fingerprint is read (the old statistics no longer answer) and the
    tables kept of the old one are let go."""
    import os

    from generator.dataset import write_dataset
    from generator.synth import generate

    data = tmp_path / "data"
    write_dataset(generate(households=("A",), days=1, seed=1), data / "demo")
    households = Households(data)
    stats = QuickStats(households, tmp_path / "cache", runner=lambda fn: fn())
    old = stats.get("A", 900)
    assert stats.cached("A", 900) is old and len(reads) == 1
    write_dataset(generate(households=("A",), days=1, seed=2), data / "demo")
    meta = data / "demo" / "households.json"
    later = meta.stat().st_mtime_ns + 1_000_000_000  # a new stamp even on a coarse clock
    os.utime(meta, ns=(later, later))
    assert stats.cached("A", 900) is None  # the old statistics do not answer for the new data
    new = stats.get("A", 900)
    assert new.fingerprint != old.fingerprint and len(reads) == 2  # the new table was read
