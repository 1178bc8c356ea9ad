"""Generator speed and memory: 30 days x 3 households x 3 channels at 1 s.

Prints values/s and peak memory of ``generator.synth.generate`` against a baseline measured in
the same run: a re-implementation of the seed's ``gen_fake_data.py`` approach (a Python loop
over seconds calling per-household pattern functions and appending to lists, then one
DataFrame), timed on one day and extrapolated as values/s.

End to end, it also times the command a user runs, ``python -m generator synth --households A
B C --days 30 --out DIR`` (a fresh interpreter: start-up, generation, the Parquet write and the
fingerprint), against the seed's loop plus its ``to_csv`` of the same day.

Targets: >= 5e7 values/s, >= 200x the baseline, peak traced memory <= 2x the output table, and
the command >= 20x the seed's loop plus CSV. Exits 1 if a target fails. ``--days`` and
``--baseline-days`` shorten it for a smoke run.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from generator.synth import generate  # noqa: E402

HOUSEHOLDS = ("A", "B", "C")
CHANNELS = ("AC", "Geyser", "Overall")
TARGET_VALUES_PER_S = 5e7
TARGET_SPEEDUP = 200.0
TARGET_MEMORY_RATIO = 2.0
TARGET_COMMAND_SPEEDUP = 20.0


# --------------------------------------------------------------------------- the seed's way


def _seed_ac_kw(household: str, hour: int) -> float:
    if household == "A":  # evening and night
        return 1.5 if hour >= 18 and hour < 23 or hour < 7 else 0.0
    if household == "B":  # office hours
        return 2.0 if 9 <= hour < 17 else 0.0
    if household == "C":  # night, or the middle of the day
        return 1.5 if hour >= 22 or hour < 6 or 10 <= hour < 14 else 0.0
    return 0.0


def _seed_geyser_kw(household: str, hour: int) -> float:
    if household == "A":
        return 3.0 if 6 <= hour < 8 or 18 <= hour < 20 else 0.0
    if household == "C":
        return 3.0 if 5 <= hour < 7 or 21 <= hour < 23 else 0.0
    return 0.0


def _seed_overall_kw(household: str, hour: int, ac_kw: float, geyser_kw: float) -> float:
    # The legacy global RNG, as the seed used it (a faithful baseline, not a recommendation).
    return 0.5 + ac_kw + geyser_kw + np.random.uniform(0.1, 1.0)  # noqa: NPY002


def _seed_fault(value: float) -> float:
    kind = np.random.choice(["negative", "large", "missing"])  # noqa: NPY002
    if kind == "negative":
        return -abs(value)
    if kind == "large":
        return value * np.random.uniform(10, 100)  # noqa: NPY002
    return float("nan")


def seed_generate(days: int, introduce_errors: str = "N", error_interval: int = 0) -> pd.DataFrame:
    """The seed's approach: one Python iteration per second, lists, then a DataFrame.

    Like the seed, the error check sits inside the household loop (clean mode: ``"N"``).
    """
    columns: dict[str, list[float]] = {f"{h}_{c}": [] for h in HOUSEHOLDS for c in CHANNELS}
    for second in range(days * 86400):
        hour = (second // 3600) % 24
        for h in HOUSEHOLDS:
            ac = _seed_ac_kw(h, hour)
            geyser = _seed_geyser_kw(h, hour)
            overall = _seed_overall_kw(h, hour, ac, geyser)
            if introduce_errors == "Y" and second % error_interval == 0:
                ac, geyser, overall = _seed_fault(ac), _seed_fault(geyser), _seed_fault(overall)
            columns[f"{h}_AC"].append(ac)
            columns[f"{h}_Geyser"].append(geyser)
            columns[f"{h}_Overall"].append(overall)
    return pd.DataFrame(columns)


# --------------------------------------------------------------------------- measurements


def time_ours(days: int, repeats: int) -> tuple[float, int]:
    """Best wall time of ``generate`` over ``repeats`` runs (after one warm-up) and values."""
    generate(households=HOUSEHOLDS, days=days, seed=0)  # warm-up: imports, page mapping
    best = float("inf")
    values = 0
    for i in range(repeats):
        began = time.perf_counter()
        ds = generate(households=HOUSEHOLDS, days=days, seed=i + 1)
        best = min(best, time.perf_counter() - began)
        values = ds.table.size
        del ds
    return best, values


def time_baseline(days: int, repeats: int) -> tuple[float, float, int]:
    """Best wall times of the seed's approach over ``repeats`` runs: the loop, the loop plus
    its CSV file (as the seed wrote it), and the values."""
    best = best_csv = float("inf")
    values = 0
    with tempfile.TemporaryDirectory(prefix="gridlight-bench-") as tmp:
        for _ in range(repeats):
            np.random.seed(0)  # noqa: NPY002
            began = time.perf_counter()
            frame = seed_generate(days)
            looped = time.perf_counter()
            frame.to_csv(Path(tmp) / "realistic_fake_energy_data_without_errors.csv", index=False)
            best = min(best, looped - began)
            best_csv = min(best_csv, time.perf_counter() - began)
            values = frame.size
    return best, best_csv, values


def command(days: int, out: Path) -> list[str]:
    """The end-to-end command: ``python -m generator synth --households A B C --days N``."""
    return [
        *(sys.executable, "-m", "generator", "synth", "--households", *HOUSEHOLDS),
        *("--days", str(days), "--out", str(out)),
    ]


def time_command(days: int, repeats: int) -> tuple[float, int]:
    """Best wall time of the end-to-end command in a fresh interpreter, and its values."""
    best = float("inf")
    with tempfile.TemporaryDirectory(prefix="gridlight-bench-") as tmp:
        for i in range(repeats):
            began = time.perf_counter()
            subprocess.run(command(days, Path(tmp) / f"ds{i}"), check=True, cwd=ROOT,
                           capture_output=True)  # fmt: skip
            best = min(best, time.perf_counter() - began)
    return best, days * 86400 * len(HOUSEHOLDS) * len(CHANNELS)


_MEMORY_CHILD = """
import json, resource, sys, tracemalloc
sys.path.insert(0, {root!r})
from generator.synth import generate
generate(households=("A",), days=1, seed=0)  # imports and caches outside the measurement
tracemalloc.start()
ds = generate(households={households!r}, days={days}, seed=0)
current, peak = tracemalloc.get_traced_memory()
print(json.dumps({{
    "peak_traced_b": peak,
    "table_b": int(ds.table.memory_usage(deep=True).sum()),
    "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
}}))
"""


def measure_memory(days: int) -> dict[str, float]:
    """Peak traced memory of one ``generate`` call, in a fresh interpreter."""
    code = _MEMORY_CHILD.format(root=str(ROOT), households=HOUSEHOLDS, days=days)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--baseline-days", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--baseline-repeats", type=int, default=2)
    parser.add_argument("--command-repeats", type=int, default=2)
    args = parser.parse_args(argv)

    print(
        f"generator benchmark: {args.days} days x {len(HOUSEHOLDS)} households x "
        f"{len(CHANNELS)} channels at 1 s"
    )
    base_s, base_csv_s, base_values = time_baseline(args.baseline_days, args.baseline_repeats)
    base_rate = base_values / base_s
    print(
        f"baseline (seed's per-second Python loop, {args.baseline_days} day, best of "
        f"{args.baseline_repeats}): {base_values} values in {base_s:.2f} s = {base_rate:.3g} values/s"
    )
    ours_s, ours_values = time_ours(args.days, args.repeats)
    ours_rate = ours_values / ours_s
    print(
        f"generate(): {ours_values} values in {ours_s:.3f} s (best of {args.repeats}) "
        f"= {ours_rate:.3g} values/s"
    )
    began = time.perf_counter()
    faulty = generate(households=HOUSEHOLDS, days=args.days, seed=0, fault_rate=0.001)
    print(
        f"generate(fault_rate=0.001): clean + faulty tables and {len(faulty.faults)} labels "
        f"in {time.perf_counter() - began:.3f} s (not a target)"
    )
    del faulty
    mem = measure_memory(args.days)
    ratio = mem["peak_traced_b"] / mem["table_b"]
    print(
        f"memory: peak traced {mem['peak_traced_b'] / 1e6:.0f} MB for an output table of "
        f"{mem['table_b'] / 1e6:.0f} MB (ratio {ratio:.2f}); child max RSS "
        f"{mem['maxrss_kb'] / 1024:.0f} MB incl. interpreter and libraries"
    )
    base_csv_rate = base_values / base_csv_s
    print(
        f"end to end, the seed's loop + to_csv ({args.baseline_days} day, best of "
        f"{args.baseline_repeats}): {base_values} values in {base_csv_s:.2f} s "
        f"= {base_csv_rate:.3g} values/s"
    )
    cmd_s, cmd_values = time_command(args.days, args.command_repeats)
    cmd_rate = cmd_values / cmd_s
    print(
        f"end to end, python -m generator synth --households {' '.join(HOUSEHOLDS)} --days "
        f"{args.days} --out DIR (fresh interpreter, best of {args.command_repeats}): "
        f"{cmd_values} values in {cmd_s:.2f} s = {cmd_rate:.3g} values/s"
    )
    speedup = ours_rate / base_rate
    cmd_speedup = cmd_rate / base_csv_rate
    checks = [
        (f"throughput >= {TARGET_VALUES_PER_S:.0e} values/s", ours_rate >= TARGET_VALUES_PER_S,
         f"{ours_rate:.3g}"),
        (f"speed-up >= {TARGET_SPEEDUP:.0f}x baseline", speedup >= TARGET_SPEEDUP,
         f"{speedup:.0f}x"),
        (f"peak memory <= {TARGET_MEMORY_RATIO:.0f}x output table", ratio <= TARGET_MEMORY_RATIO,
         f"{ratio:.2f}x"),
        (f"command speed-up >= {TARGET_COMMAND_SPEEDUP:.0f}x seed loop + CSV",
         cmd_speedup >= TARGET_COMMAND_SPEEDUP, f"{cmd_speedup:.1f}x"),
    ]  # fmt: skip
    for name, ok, value in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {value}")
    print(
        f"(this process: max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)"
    )
    return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
