"""Speed of the quick statistics (``make bench``).

Targets (issue 3): cold statistics for 7 days of 1 s data, interval 5 s, three channels in at
most 2 s; a cached lookup in at most 5 ms (memory and disk). The seed's approach is
re-implemented below and timed in the same run on the same data: percentiles on the raw frame,
a Python loop of ``iloc`` slices to average, the interquartile filter, then ``norm`` and
``expon`` fits by scipy. Prints both, the ratio, PASS/FAIL per target; exits 1 on a failure.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from server.stats import StatsCache, compute_stats  # noqa: E402

DAYS = 7
INTERVAL_S = 5
COLD_TARGET_S = 2.0
CACHED_TARGET_S = 0.005
COLD_RUNS = 3


def household_frame():
    """(frame, timezone, dataset) of household A: 7 days at 1 s, channels AC, Geyser, Overall."""
    from generator.synth import generate

    dataset = generate(households=("A",), days=DAYS, seed=0)
    return dataset.frame("A"), dataset.household("A").timezone, dataset


def seed_stats(frame: pd.DataFrame, interval_s: int) -> dict[str, dict[str, float]]:
    """The seed's quick statistics, re-implemented: raw percentiles, iloc loop, IQR, norm/expon."""
    from scipy import stats as sst

    out: dict[str, dict[str, float]] = {}
    p25 = frame.quantile(0.25)
    median = frame.quantile(0.5)
    p75 = frame.quantile(0.75)
    rows = []
    for i in range(0, len(frame), interval_s):
        rows.append(frame.iloc[i : i + interval_s].mean())
    averaged = pd.DataFrame(rows)
    for channel in frame.columns:
        x = averaged[channel].dropna()
        q1, q3 = x.quantile(0.25), x.quantile(0.75)
        x = x[(x >= q1) & (x <= q3)]
        best, best_sse, best_params = "norm", np.inf, (np.nan, np.nan)  # NaN if nothing fits
        hist, edges = np.histogram(x, bins=100, density=True)
        centres = (edges[:-1] + edges[1:]) / 2
        for name in ("norm", "expon"):
            dist = getattr(sst, name)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                params = dist.fit(x)
                sse = float(np.sum((dist.pdf(centres, *params) - hist) ** 2))
            if sse < best_sse:
                best, best_sse, best_params = name, sse, params
        out[channel] = {
            "25p": float(p25[channel]),
            "median": float(median[channel]),
            "75p": float(p75[channel]),
            "rt_critical_value_0.01": float(getattr(sst, best).ppf(0.99, *best_params)),
        }
    return out


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def main() -> int:
    import_s, _ = timed(__import__, "fitter")  # fitter pulls in matplotlib: a one-off per process
    frame, timezone, dataset = household_frame()
    print(
        f"data: household A, {DAYS} days at 1 s ({len(frame)} rows x {frame.shape[1]} channels), "
        f"interval {INTERVAL_S} s; fitter import {import_s:.2f} s (once per process, not counted)"
    )
    compute_stats(frame.iloc[:86_400], 60, timezone=timezone)  # warm scipy's lazy imports

    cold = []
    for _ in range(COLD_RUNS):
        seconds, stats = timed(compute_stats, frame, INTERVAL_S, timezone=timezone, resolution_s=1)
        cold.append(seconds)
    hour_s, _ = timed(compute_stats, frame, INTERVAL_S, timezone=timezone, by_hour=True)

    with tempfile.TemporaryDirectory() as tmp:
        cache = StatsCache(Path(tmp))
        fill_s, _ = timed(cache.for_dataset, dataset, "A", INTERVAL_S)
        memory = [timed(cache.for_dataset, dataset, "A", INTERVAL_S)[0] for _ in range(1000)]
        disk = []
        for _ in range(50):
            fresh = StatsCache(Path(tmp))
            disk.append(timed(fresh.for_dataset, dataset, "A", INTERVAL_S)[0])

    seed_s, seed = timed(seed_stats, frame, INTERVAL_S)

    worst_cold = max(cold)
    mem_p99 = float(np.percentile(memory, 99))
    disk_p99 = float(np.percentile(disk, 99))
    print(f"{'measure':<46} {'seconds':>10}")
    print(
        f"{'gridlight cold (runs: ' + ', '.join(f'{c:.3f}' for c in cold) + ')':<46} {worst_cold:>10.3f}"
    )
    print(f"{'gridlight cold, by hour (info)':<46} {hour_s:>10.3f}")
    print(f"{'gridlight first lookup through the cache':<46} {fill_s:>10.3f}")
    print(f"{'gridlight cached, memory p50':<46} {statistics.median(memory):>10.6f}")
    print(f"{'gridlight cached, memory p99':<46} {mem_p99:>10.6f}")
    print(f"{'gridlight cached, from disk p50':<46} {statistics.median(disk):>10.6f}")
    print(f"{'gridlight cached, from disk p99':<46} {disk_p99:>10.6f}")
    print(f"{'seed approach (iloc loop, IQR, norm/expon)':<46} {seed_s:>10.3f}")
    print(f"speed-up, seed / gridlight cold: {seed_s / worst_cold:.1f}x")
    print("thresholds (gridlight vs seed), kW:")
    for channel, s in stats.channels.items():
        print(
            f"  {channel:8s} critical {s.critical_kw:7.3f} vs {seed[channel]['rt_critical_value_0.01']:7.3f}"
            f"   p75 {s.p75_kw:6.3f} vs {seed[channel]['75p']:6.3f}  ({s.method})"
        )

    results = [
        ("cold stats, 7 d at 1 s, 5 s, 3 channels", worst_cold, COLD_TARGET_S),
        ("cached lookup (memory, p99)", mem_p99, CACHED_TARGET_S),
        ("cached lookup (disk, p99)", disk_p99, CACHED_TARGET_S),
    ]
    failed = False
    for name, value, target in results:
        ok = value <= target
        failed |= not ok
        print(f"{'PASS' if ok else 'FAIL'} {name}: {value:.4f} s (target <= {target} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
