"""Small synthetic households built with numpy, for the statistics tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from generator.dataset import Dataset, HouseholdInfo, column_name


def synthetic_frame(
    days: int = 3,
    resolution_s: int = 1,
    seed: int = 0,
    start: str = "2026-06-01",
    timezone: str = "Asia/Kolkata",
) -> pd.DataFrame:
    """A day worker's home: AC cycling 19:00-24:00 local (and 10:00-13:00 at weekends), an idle
    geyser (always 0 kW), Overall = standby + noise + AC + a few kettle runs. [kW]"""
    rng = np.random.default_rng(seed)
    n = days * 86400 // resolution_s
    index = pd.date_range(start, periods=n, freq=f"{resolution_s}s", tz="UTC", name="ts")
    local = index.tz_convert(timezone)
    hour = np.asarray(local.hour)
    weekend = np.asarray(local.day_of_week) >= 5
    secs = np.arange(n) * resolution_s
    wanted = (hour >= 19) | (weekend & (hour >= 10) & (hour < 13))
    cycling = (secs // 60) % 15 < 10  # compressor: 10 min on, 5 off
    ac = np.where(wanted & cycling, 1.5 + rng.normal(0, 0.02, n), 0.0)
    kettle = np.zeros(n)
    for s in rng.integers(0, n - 200, size=days * 3):
        kettle[s : s + 150 // resolution_s] = 2.0
    overall = 0.15 + np.abs(rng.normal(0, 0.03, n)) + ac + kettle
    return pd.DataFrame({"AC": ac, "Geyser": np.zeros(n), "Overall": overall}, index=index)


def make_dataset(frame: pd.DataFrame, household: str = "A", **info) -> Dataset:
    channels = tuple(str(c) for c in frame.columns)
    meta = HouseholdInfo(
        id=household,
        name=info.get("name", household),
        archetype=info.get("archetype", "day-worker"),
        timezone=info.get("timezone", "Asia/Kolkata"),
        channels=channels,
        resolution_s=info.get("resolution_s", 1),
        source="test",
    )
    table = frame.rename(columns={c: column_name(household, c) for c in channels})
    return Dataset(households={household: meta}, table=table)
