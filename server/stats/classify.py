"""Traffic-light classification of readings against a household's thresholds.

For each value, in this order:

* ``critical`` — missing (None/NaN), negative, or above the channel's physical bound
  (``HouseholdStats.physical_max_kw``, 100 kW by default: far above what a household main carries);
* ``red`` — at or above the right-tail critical value (``rt_critical_value_0.01``);
* ``yellow`` — above the 75th percentile;
* ``green`` — otherwise.

With ``by_hour`` statistics the thresholds of the reading's local hour (in the household's time
zone) are used: those of its day type (weekday or weekend) and hour when that group had enough
history, else those of its hour over all days, else the overall ones.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime

import numpy as np
import pandas as pd

from server.stats.model import HouseholdStats, time_slots
from server.stats.windows import StatsInputError

__all__ = ["LEGACY_COLOURS", "LEVELS", "classify", "classify_array", "classify_known", "worst"]

#: Levels from best to worst.
LEVELS: tuple[str, ...] = ("green", "yellow", "red", "critical")

#: The seed's colour names, for the compatibility routes.
LEGACY_COLOURS: Mapping[str, str] = {
    "green": "Green",
    "yellow": "Yellow",
    "red": "Red",
    "critical": "Critical Red",
}

_RANK = {level: i for i, level in enumerate(LEVELS)}
_LEVEL_ARRAY = np.array(LEVELS, dtype=object)


def worst(levels: Iterable[str] | Mapping[str, str]) -> str:
    """The worst of some levels (``green`` for none); a mapping's values are used."""
    items = levels.values() if isinstance(levels, Mapping) else levels
    rank = -1
    for level in items:
        try:
            rank = max(rank, _RANK[level])
        except KeyError:
            raise ValueError(f"unknown level {level!r}: expected one of {LEVELS}") from None
    return LEVELS[max(rank, 0)]


def _slots(stats: HouseholdStats, ts: object, n: int) -> np.ndarray | None:
    if not stats.by_hour or ts is None:
        return None
    index = pd.DatetimeIndex([ts] if isinstance(ts, datetime | str | np.datetime64) else ts)
    if len(index) != n:
        raise StatsInputError(f"got {len(index)} timestamps for {n} values")
    if index.tz is None:
        index = index.tz_localize("UTC")
    return time_slots(index, stats.timezone)


def _slot(stats: HouseholdStats, ts: object) -> int | None:
    if not stats.by_hour or ts is None:
        return None
    stamp = pd.Timestamp(ts)  # type: ignore[arg-type]
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    local = stamp.tz_convert(stats.timezone)
    return (24 if local.day_of_week >= 5 else 0) + int(local.hour)


def _check_channel(stats: HouseholdStats, channel: str) -> None:
    if channel not in stats.channels:
        known = ", ".join(stats.channels)
        raise StatsInputError(f"unknown channel {channel!r} (known: {known})")


def _level_of(stats: HouseholdStats, channel: str, value: object, slot: int | None) -> str:
    """The level of one reading (the scalar twin of :func:`classify_array`)."""
    _check_channel(stats, channel)
    s = stats.for_slot(channel, slot)
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "critical"  # None or not a number: not a usable reading
    if not math.isfinite(x) or x < 0 or x > stats.max_kw(channel):
        return "critical"
    if x >= s.critical_kw:
        return "red"
    return "yellow" if x > s.p75_kw else "green"


def classify_array(
    stats: HouseholdStats, channel: str, values: np.ndarray, slots: np.ndarray | None = None
) -> np.ndarray:
    """Levels (an object array of level strings) of one channel's values [kW].

    ``slots`` are the values' time slots (:func:`~server.stats.model.time_slots`; only used
    with ``by_hour`` statistics).
    """
    _check_channel(stats, channel)
    x = np.asarray(values, dtype="float64")
    if slots is None or not stats.by_hour:
        overall = stats.channels[channel]
        p75: np.ndarray | float = overall.p75_kw
        crit: np.ndarray | float = overall.critical_kw
    else:
        p75_table, crit_table = stats.slot_tables[channel]
        p75, crit = p75_table[slots], crit_table[slots]
    with np.errstate(invalid="ignore"):
        critical = ~np.isfinite(x) | (x < 0) | (x > stats.max_kw(channel))
        code = np.where(critical, 3, np.where(x >= crit, 2, np.where(x > p75, 1, 0)))
    return _LEVEL_ARRAY[code]


def classify(
    stats: HouseholdStats,
    values: pd.DataFrame | Mapping[str, float | None],
    ts: object = None,
) -> pd.DataFrame | dict[str, str]:
    """Classify readings against ``stats`` (see the module docstring).

    ``values``: a frame (columns = channels, one row per reading) → a frame of level strings
    with the same index and columns; or one reading as ``{channel: power_kw}`` → a dict of
    levels. ``ts`` are the readings' UTC timestamps (for ``by_hour`` statistics): a frame's
    index is used when ``ts`` is None; one reading without ``ts`` uses the overall thresholds.
    """
    if isinstance(values, pd.DataFrame):
        if ts is None and isinstance(values.index, pd.DatetimeIndex):
            ts = values.index
        slots = _slots(stats, ts, len(values))
        out = {
            col: classify_array(
                stats, str(col), values[col].to_numpy(dtype="float64", na_value=np.nan), slots
            )
            for col in values.columns
        }
        return pd.DataFrame(out, index=values.index, columns=values.columns, dtype=object)
    if isinstance(values, Mapping):
        slot = _slot(stats, ts)
        return {str(c): _level_of(stats, str(c), v, slot) for c, v in values.items()}
    raise StatsInputError(
        f"values must be a DataFrame or a mapping of channel to power, got {type(values).__name__}"
    )


def classify_known(
    stats: HouseholdStats, values: Mapping[str, float | None], ts: object = None
) -> dict[str, str]:
    """:func:`classify` of one reading's channels that ``stats`` knows; a channel newer than
    the statistics (an estimate attached since they were computed) gets no level yet."""
    levels = classify(stats, {c: v for c, v in values.items() if c in stats.channels}, ts)
    assert isinstance(levels, dict)
    return levels
