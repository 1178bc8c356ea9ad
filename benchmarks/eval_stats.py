"""Evaluate the quick statistics and the traffic-light classification (``make bench``).

Real data (DESIGN.md "Classification"): thresholds from the first three weeks of the January 2007
UCI file, classification of its last week, at 60, 300 and 900 s, overall and by hour:

* whole-house ``Overall`` red share within 0.1%-5%;
* appliance ``HeaterAC`` red share at most 5% (the issue's stricter 0.3%-3% band is shown too);
* every threshold at most 1.5x the largest training value;
* injected spikes red or critical in at least 99% of cases. A spike is the reading x10 from at
  least the channel's usual on level (like the generator's spikes: ``10 x max(v, usual)``), where
  the usual on level is the median of the training readings above 10% of the channel's maximum;
  ``x10 raw`` shows plain ``10 x v`` too, which a near-zero reading cannot make unusual.

Synthetic data (``generator.synth``): thresholds from the clean table at 1 s, classification of
the faulty table: spikes at least x10 the usual on level red or critical >= 99% (all labelled
spikes shown too), negative and missing values critical in 100%, and the red share on the clean
data near 1% (whole-house 0.3%-3%, appliances at most 3%).

Prints tables and PASS/FAIL per check; exits 1 if any check fails.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from generator.importers.uci import UCI_TIMEZONE, read_uci  # noqa: E402
from server.stats import classify, compute_stats  # noqa: E402
from server.stats.windows import epoch_seconds, window_means  # noqa: E402

REAL_FILE = ROOT.parent / "shared" / "data" / "real" / "uci_household_power_2007-01.txt"
INTERVALS_S = (60, 300, 900)
TRAIN_DAYS = 21
MAX_FACTOR = 1.5
SPIKE_FACTOR = 10.0
BAD = ("red", "critical")


@dataclass
class Check:
    name: str
    value: float
    ok: bool
    band: str


def windows_frame(frame: pd.DataFrame, interval_s: int) -> pd.DataFrame:
    starts, means = window_means(frame.to_numpy(), epoch_seconds(frame.index), interval_s)
    index = pd.DatetimeIndex(pd.to_datetime(starts, unit="s", utc=True), name="ts")
    return pd.DataFrame(means, index=index, columns=frame.columns)


def usual_on_kw(values: np.ndarray) -> float:
    """Median of the readings above 10% of the channel's maximum. [kW]"""
    v = values[np.isfinite(values)]
    on = v[v > 0.1 * v.max()]
    return float(np.median(on)) if on.size else float(v.max())


def pct(mask: np.ndarray) -> float:
    return 100.0 * float(np.mean(mask)) if mask.size else float("nan")


def real_data(checks: list[Check]) -> None:
    frame = read_uci(REAL_FILE)
    cut = frame.index[0] + pd.Timedelta(days=TRAIN_DAYS)
    train, test = frame[frame.index < cut], frame[frame.index >= cut]
    print(
        f"real: {REAL_FILE.name}, train {train.index[0]:%Y-%m-%d} .. {cut:%Y-%m-%d} "
        f"({TRAIN_DAYS} d), test {cut:%Y-%m-%d} .. {test.index[-1]:%Y-%m-%d}"
    )
    header = (
        f"{'interval':>8} {'mode':>7} {'channel':>8} {'crit kW':>8} {'p99 kW':>7} "
        f"{'max kW':>7} {'crit/max':>8} {'red %':>6} {'yellow %':>8} {'spike %':>7} "
        f"{'x10 raw %':>9} {'cold s':>6}  method"
    )
    print(header)
    for interval_s in INTERVALS_S:
        train_w = windows_frame(train, interval_s)
        test_w = windows_frame(test, interval_s)
        for by_hour in (False, True):
            mode = "hour" if by_hour else "overall"
            start = time.perf_counter()
            stats = compute_stats(train, interval_s, timezone=UCI_TIMEZONE, by_hour=by_hour)
            cold_s = time.perf_counter() - start
            levels = classify(stats, test_w)
            for channel in frame.columns:
                s = stats.channels[channel]
                v = test_w[channel].to_numpy()
                ok = np.isfinite(v)
                lv = levels[channel].to_numpy()[ok]
                red = pct(lv == "red")
                usual = usual_on_kw(train_w[channel].to_numpy())
                spiked = test_w[[channel]].copy()
                spiked[channel] = SPIKE_FACTOR * np.maximum(v, usual)
                spike = pct(np.isin(classify(stats, spiked)[channel].to_numpy()[ok], BAD))
                raw = test_w[[channel]] * SPIKE_FACTOR
                raw_rate = pct(np.isin(classify(stats, raw)[channel].to_numpy()[ok], BAD))
                highest = max(
                    [s.critical_kw] + [h.critical_kw for h in stats.hours.get(channel, {}).values()]
                )
                ratio = highest / s.max_kw
                print(
                    f"{interval_s:>8} {mode:>7} {channel:>8} {s.critical_kw:>8.3f} "
                    f"{s.empirical_p99_kw:>7.3f} {s.max_kw:>7.3f} {ratio:>8.2f} {red:>6.2f} "
                    f"{pct(lv == 'yellow'):>8.1f} {spike:>7.1f} {raw_rate:>9.1f} {cold_s:>6.2f}  "
                    f"{s.method}"
                )
                tag = f"real {channel} {interval_s}s {mode}"
                checks.append(
                    Check(
                        f"{tag}: max threshold/training max", ratio, ratio <= MAX_FACTOR, "<= 1.5"
                    )
                )
                if channel == "Overall":
                    checks.append(Check(f"{tag}: red %", red, 0.1 <= red <= 5.0, "0.1-5"))
                if channel == "HeaterAC":
                    checks.append(Check(f"{tag}: red %", red, red <= 5.0, "<= 5"))
                    issue = 0.3 <= red <= 3.0
                    print(
                        f"{'':>8} {'':>7} {'':>8} issue band 0.3-3% for HeaterAC: {'in' if issue else 'OUT'}"
                    )
                if channel in ("Overall", "HeaterAC"):
                    checks.append(
                        Check(f"{tag}: spikes red/critical %", spike, spike >= 99.0, ">= 99")
                    )


def synthetic(checks: list[Check]) -> None:
    try:
        from generator.synth import generate
    except ImportError:
        print("synthetic: SKIPPED (generator.synth is not available)")
        checks.append(Check("synthetic: generator.synth available", 0.0, False, "importable"))
        return
    dataset = generate(households=("A", "B", "C"), days=7, seed=0, fault_rate=0.01)
    faults = dataset.faults
    print(f"\nsynthetic: A, B, C, 7 days at 1 s, seed 0, fault_rate 0.01 ({len(faults)} labels)")
    print(
        f"{'house':>5} {'mode':>7} {'channel':>8} {'crit kW':>8} {'clean red %':>11} "
        f"{'spike %':>7} {'all spikes %':>12} {'negative %':>10} {'missing %':>9}  method"
    )
    for household, info in dataset.households.items():
        clean = dataset.frame(household)
        faulty = dataset.frame(household, faulty=True)
        for by_hour in (False, True):
            mode = "hour" if by_hour else "overall"
            stats = compute_stats(
                clean, 1, timezone=info.timezone, by_hour=by_hour, resolution_s=info.resolution_s
            )
            clean_levels = classify(stats, clean)
            faulty_levels = classify(stats, faulty)
            for channel in info.channels:
                s = stats.channels[channel]
                labels = faults[(faults["household"] == household) & (faults["channel"] == channel)]
                at = clean.index.get_indexer(pd.DatetimeIndex(labels["ts"]))
                kinds = labels["kind"].to_numpy()
                lv = faulty_levels[channel].to_numpy()[at]
                values = faulty[channel].to_numpy()[at]
                usual = usual_on_kw(clean[channel].to_numpy())
                is_spike = kinds == "spike"
                big = is_spike & (values >= SPIKE_FACTOR * usual)
                spike = pct(np.isin(lv[big], BAD))
                all_spikes = pct(np.isin(lv[is_spike], BAD))
                negative = pct(lv[kinds == "negative"] == "critical")
                missing = pct(lv[kinds == "missing"] == "critical")
                red = pct(clean_levels[channel].to_numpy() == "red")
                print(
                    f"{household:>5} {mode:>7} {channel:>8} {s.critical_kw:>8.3f} {red:>11.2f} "
                    f"{spike:>7.1f} {all_spikes:>12.1f} {negative:>10.1f} {missing:>9.1f}  "
                    f"{s.method}"
                )
                tag = f"synthetic {household} {channel} {mode}"
                if big.any():
                    checks.append(
                        Check(
                            f"{tag}: spikes >= x10 usual red/critical %",
                            spike,
                            spike >= 99.0,
                            ">= 99",
                        )
                    )
                if (kinds == "negative").any():
                    checks.append(
                        Check(f"{tag}: negative critical %", negative, negative == 100.0, "100")
                    )
                if (kinds == "missing").any():
                    checks.append(
                        Check(f"{tag}: missing critical %", missing, missing == 100.0, "100")
                    )
                if channel == "Overall":
                    checks.append(Check(f"{tag}: clean red %", red, 0.3 <= red <= 3.0, "0.3-3"))
                else:
                    checks.append(Check(f"{tag}: clean red %", red, red <= 3.0, "<= 3"))


def main() -> int:
    start = time.perf_counter()
    import fitter  # noqa: F401  (pulls in matplotlib: once per process, kept out of "cold s")

    print(f"fitter import {time.perf_counter() - start:.2f} s (once per process)")
    checks: list[Check] = []
    real_data(checks)
    synthetic(checks)
    failed = [c for c in checks if not c.ok]
    print(f"\n{len(checks) - len(failed)}/{len(checks)} checks PASS")
    for c in failed:
        print(f"FAIL {c.name}: {c.value:.3f} (want {c.band})")
    print("eval_stats: " + ("PASS" if not failed else "FAIL"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
