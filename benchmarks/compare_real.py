"""Synthetic AC + Geyser against the real UCI house's water-heater + AC sub-meter.

The UCI house (Sceaux, France) meters its electric water heater and air conditioner together on
``Sub_metering_3`` (``HeaterAC`` after import), at 1 minute. The synthetic households' AC +
Geyser is the same kind of load, so this script averages it to 1 minute and reports, side by
side: the share of minutes "on" (above ``ON_KW``), the typical lengths of on-runs, the daily
energy, and the hourly profile (mean kW by local hour). Missing real minutes are left out.

    python benchmarks/compare_real.py [--real-dir ../shared/data/real] > table.md

The output is the Markdown that ``data/README.md`` quotes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from generator.importers.uci import UCI_TIMEZONE, read_uci  # noqa: E402
from generator.synth import generate  # noqa: E402

ON_KW = 0.3  # a minute averaging more than this counts as "on" (the UCI idle is <= 0.06 kW)
REAL_FILES = {
    "UCI Jan 2007": "uci_household_power_2007-01.txt",
    "UCI Apr-May 2007": "uci_household_power_2007-04-21_to_05-04_with_gap.txt",
}
SEED = 2007
SYNTH_SPANS = {"Jan": ("2026-01-05", 28), "Apr": ("2026-04-20", 14)}


def describe(power_kw: pd.Series, timezone: str) -> dict[str, object]:
    """Metrics of a 1-minute power series [kW] with a UTC index (NaN = missing)."""
    valid = power_kw.dropna()
    on = power_kw > ON_KW
    on_valid = on[power_kw.notna()]
    # Runs of consecutive "on" minutes (a missing minute ends a run).
    flags = on.to_numpy().astype(np.int8)
    edges = np.diff(np.concatenate(([0], flags, [0])))
    lengths = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
    hours = valid.index.tz_convert(timezone).hour
    hourly = valid.groupby(hours).mean().reindex(range(24))
    return {
        "days": len(valid) / 1440,
        "on_share": float(on_valid.mean()),
        "runs_per_day": len(lengths) / (len(valid) / 1440),
        "run_median_min": float(np.median(lengths)) if len(lengths) else float("nan"),
        "run_p90_min": float(np.quantile(lengths, 0.9)) if len(lengths) else float("nan"),
        "daily_kwh": float(valid.mean() * 24),
        "peak_kw": float(valid.max()),
        "hourly_kw": hourly.to_numpy(),
    }


def real_columns(real_dir: Path) -> dict[str, dict[str, object]]:
    out = {}
    for label, name in REAL_FILES.items():
        frame = read_uci(real_dir / name)
        out[label] = describe(frame["HeaterAC"], UCI_TIMEZONE)
    return out


def synthetic_columns() -> dict[str, dict[str, object]]:
    out = {}
    for season, (start, days) in SYNTH_SPANS.items():
        ds = generate(households=("A", "B", "C"), days=days, seed=SEED, start=start)
        minutes = ds.table.resample("60s").mean()
        for h in ("A", "B", "C"):
            power = minutes[f"{h}_AC"] + minutes[f"{h}_Geyser"]
            out[f"{h} {season}"] = describe(power, ds.household(h).timezone)
    return out


def markdown(columns: dict[str, dict[str, object]]) -> str:
    names = list(columns)
    lines = [
        "| | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    rows = [
        ("days of data", "days", "{:.1f}"),
        (f"share of minutes on (> {ON_KW} kW)", "on_share", "{:.1%}"),
        ("on-runs per day", "runs_per_day", "{:.1f}"),
        ("on-run length, median [min]", "run_median_min", "{:.0f}"),
        ("on-run length, 90th pct [min]", "run_p90_min", "{:.0f}"),
        ("daily energy [kWh]", "daily_kwh", "{:.2f}"),
        ("peak 1-min power [kW]", "peak_kw", "{:.2f}"),
    ]
    for label, key, fmt in rows:
        lines.append(
            f"| {label} | " + " | ".join(fmt.format(columns[n][key]) for n in names) + " |"
        )
    lines.append("")
    lines.append("Hourly profile, mean kW by local hour:")
    lines.append("")
    lines.append("| hour | " + " | ".join(names) + " |")
    lines.append("|---|" + "---:|" * len(names))
    for hour in range(24):
        cells = " | ".join(f"{columns[n]['hourly_kw'][hour]:.2f}" for n in names)
        lines.append(f"| {hour:02d} | {cells} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real-dir", type=Path, default=ROOT.parent / "shared" / "data" / "real")
    args = parser.parse_args(argv)
    columns = {**real_columns(args.real_dir), **synthetic_columns()}
    print(markdown(columns))
    return 0


if __name__ == "__main__":
    sys.exit(main())
