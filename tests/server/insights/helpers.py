"""Small synthetic households for the insights tests, built with numpy in milliseconds.

``household(days, ...)`` gives a 1-minute frame (UTC index ``ts``; channels AC, Geyser,
Overall [kW]) for a home in ``Asia/Kolkata``: a constant always-on load, occupants' use in the
morning and evening with day-to-day noise, and loads added by local wall-clock windows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TZ = "Asia/Kolkata"
START = "2026-04-06"  # a Monday


def minutes(days: int, tz: str = TZ, start: str = START) -> pd.DatetimeIndex:
    first = pd.Timestamp(start, tz=tz).tz_convert("UTC")
    return pd.date_range(first, periods=days * 1440, freq="min", name="ts")


def local_hours(index: pd.DatetimeIndex, tz: str = TZ) -> np.ndarray:
    local = index.tz_convert(tz)
    return np.asarray(local.hour + local.minute / 60.0)


def window(index: pd.DatetimeIndex, start_h: float, end_h: float, tz: str = TZ, days=None):
    """Boolean mask of local ``[start_h, end_h)``, on ``days`` ("weekday"/"weekend"/None)."""
    h = local_hours(index, tz)
    mask = (h >= start_h) & (h < end_h)
    if days is not None:
        weekend = np.asarray(index.tz_convert(tz).day_of_week >= 5)
        mask &= weekend if days == "weekend" else ~weekend
    return mask


def household(
    days: int = 21,
    *,
    base_kw: float = 0.08,
    seed: int = 0,
    tz: str = TZ,
    start: str = START,
    occupants: bool = True,
) -> pd.DataFrame:
    idx = minutes(days, tz, start)
    rng = np.random.default_rng(seed)
    day = np.arange(len(idx)) // 1440
    level = rng.uniform(0.7, 1.3, days)[day]
    use = np.zeros(len(idx))
    if occupants:
        use += 0.4 * level * (window(idx, 6.5, 8.5, tz) | window(idx, 18, 23, tz))
        use += 0.15 * level * window(idx, 12, 14, tz, days="weekend")
        use += rng.exponential(0.02, len(idx))
    frame = pd.DataFrame({"AC": np.zeros(len(idx)), "Geyser": np.zeros(len(idx))}, index=idx)
    frame["Overall"] = base_kw + use
    return frame


def add_load(frame: pd.DataFrame, channel: str, kw, mask: np.ndarray) -> pd.DataFrame:
    """Add ``kw`` on ``channel`` (and on Overall) where ``mask`` holds."""
    out = frame.copy()
    extra = np.where(mask, kw, 0.0)
    if channel != "Overall":
        out[channel] = out[channel] + extra
    out["Overall"] = out["Overall"] + extra
    return out
