"""Hourly energy from a Gridlight household frame.

Gridlight's readings are average power [kW] over samples of 1 s (synthetic households) to a few
minutes (imported meters). Insights work on whole UTC hours: the mean power over an hour [kW] is
also its energy [kWh]. An hour is known only when at least half of its samples are present;
otherwise it is NaN (missing is never zero).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["HOUR_NS", "MIN_COVERAGE", "hourly_power_kw", "local_naive", "resolution_s"]

HOUR_NS = 3_600_000_000_000
#: Share of an hour's samples that must be present for the hour to count as known.
MIN_COVERAGE = 0.5


def resolution_s(index: pd.DatetimeIndex) -> int:
    """The sampling step of an index [s] (the median step; 60 when it cannot be told)."""
    if len(index) < 2:
        return 60
    step_ns = np.median(np.diff(index[: min(len(index), 10_000)].as_unit("ns").asi8))
    return max(1, round(step_ns / 1e9))


def hourly_power_kw(
    series: pd.Series, *, until: pd.Timestamp | None = None, step_s: int | None = None
) -> pd.Series:
    """Mean power of every whole UTC hour of ``series`` [kW] (= its energy [kWh]).

    ``until`` (exclusive) drops every reading at or after it and every hour not complete by it.
    The result has a regular hourly UTC index named ``ts`` (the hour's start) and NaN where fewer
    than :data:`MIN_COVERAGE` of the hour's samples are present.
    """
    if until is not None:
        series = series[series.index < until]
    if series.empty:
        return pd.Series([], index=pd.DatetimeIndex([], tz="UTC", name="ts"), dtype="float64")
    step_s = step_s or resolution_s(series.index)
    ns = series.index.asi8 if series.index.unit == "ns" else series.index.as_unit("ns").asi8
    hour = ns // HOUR_NS
    first, last = int(hour[0]), int(hour[-1])
    values = series.to_numpy(dtype="float64")
    ok = ~np.isnan(values)
    pos = hour - first
    n = last - first + 1
    sums = np.bincount(pos[ok], weights=values[ok], minlength=n)
    counts = np.bincount(pos[ok], minlength=n)
    need = max(1.0, MIN_COVERAGE * 3600.0 / step_s)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(counts >= need, sums / np.maximum(counts, 1), np.nan)
    index = pd.DatetimeIndex((np.arange(first, last + 1) * HOUR_NS).astype("datetime64[ns]"))
    out = pd.Series(mean, index=index.tz_localize("UTC").rename("ts"), name="power_kw")
    if until is not None:
        end = out.index + pd.Timedelta(hours=1)
        out = out[end <= until]
    return out


def local_naive(index: pd.DatetimeIndex, timezone: str) -> pd.DatetimeIndex:
    """Wall-clock times of UTC ``index`` in ``timezone``, without the zone."""
    return index.tz_convert(timezone).tz_localize(None)
