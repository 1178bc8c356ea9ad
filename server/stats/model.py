"""A household's quick statistics: :func:`compute_stats` and :class:`HouseholdStats`.

Thresholds come from the household's own clean history averaged at the interval a client asks
for (see :mod:`server.stats.windows`), one :class:`~server.stats.tail.ChannelStats` per channel.
With ``by_hour`` there are more, per hour of the day in the household's time zone, for every group
with enough history (``MIN_HOUR_SAMPLES`` windows over ``MIN_HOUR_DAYS`` different days):

* ``hours[channel][h]`` — hour ``h`` (0-23) over all days;
* ``day_hours["weekday"|"weekend"][channel][h]`` — hour ``h`` on weekdays (Monday-Friday) or at
  weekends only, so a day worker's empty weekday afternoon is not averaged with Saturday's.

A reading is judged by the most specific group that exists: its day type's hour, else its hour,
else the overall thresholds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from server.stats.tail import TAIL_PROBABILITY, ChannelStats, channel_stats
from server.stats.windows import StatsInputError, epoch_seconds, infer_resolution_s, window_means

__all__ = [
    "ALGORITHM_VERSION",
    "DAY_TYPES",
    "MIN_HOUR_DAYS",
    "MIN_HOUR_SAMPLES",
    "PHYSICAL_MAX_KW",
    "EmptyChannelError",
    "HouseholdStats",
    "compute_stats",
    "time_slots",
]

#: Bump when thresholds would change for the same data (it is part of every cache key).
ALGORITHM_VERSION = 4

#: Default bound above which a reading is physically impossible for any household channel [kW].
#: A 100 A three-phase 400 V main carries about 69 kW; nothing behind one meter reaches 100 kW.
PHYSICAL_MAX_KW = 100.0

MIN_HOUR_SAMPLES = 24
MIN_HOUR_DAYS = 3

#: Day types of the per-hour thresholds, in slot order (see :func:`time_slots`).
DAY_TYPES: tuple[str, ...] = ("weekday", "weekend")

_COMPAT_KEYS = ("25p", "median", "75p", "rt_critical_value_0.01")


class EmptyChannelError(StatsInputError):
    """A channel has no readings at all in the history the statistics are computed from."""


@dataclass(frozen=True)
class HouseholdStats:
    """Per-channel thresholds of one household at one interval.

    ``interval_s`` is the interval the thresholds are for (the data's resolution when a shorter
    one was asked for: see ``requested_interval_s`` and ``notes``). With ``by_hour``,
    ``hours[channel][h]`` and ``day_hours[day_type][channel][h]`` hold the thresholds of local
    hour ``h`` (0-23, in ``timezone``) over all days and per day type, where there was enough
    history (see the module docstring). ``physical_max_kw[channel]`` is the bound above which a
    reading is impossible (classified ``critical``).
    """

    interval_s: int
    requested_interval_s: int
    resolution_s: int
    timezone: str
    by_hour: bool
    fingerprint: str | None
    channels: Mapping[str, ChannelStats]
    hours: Mapping[str, Mapping[int, ChannelStats]] = field(default_factory=dict)
    day_hours: Mapping[str, Mapping[str, Mapping[int, ChannelStats]]] = field(default_factory=dict)
    physical_max_kw: Mapping[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    tail_probability: float = TAIL_PROBABILITY
    algorithm_version: int = ALGORITHM_VERSION

    def max_kw(self, channel: str) -> float:
        """The physical bound of ``channel``. [kW]"""
        return float(self.physical_max_kw.get(channel, PHYSICAL_MAX_KW))

    def for_slot(self, channel: str, slot: int | None) -> ChannelStats:
        """The thresholds for a reading in time slot ``slot`` (see :func:`time_slots`), or the
        overall ones for ``None``: the day type's hour, else the hour, else overall."""
        overall = self.channels[channel]
        if slot is None or not self.by_hour:
            return overall
        day_type, hour = DAY_TYPES[slot // 24], slot % 24
        specific = self.day_hours.get(day_type, {}).get(channel, {}).get(hour)
        if specific is not None:
            return specific
        return self.hours.get(channel, {}).get(hour, overall)

    @cached_property
    def slot_tables(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per channel, the 75th percentile and critical value of each of the 48 slots. [kW]"""
        tables = {}
        for channel in self.channels:
            chosen = [self.for_slot(channel, slot) for slot in range(24 * len(DAY_TYPES))]
            tables[channel] = (
                np.array([s.p75_kw for s in chosen]),
                np.array([s.critical_kw for s in chosen]),
            )
        return tables

    def to_json(self) -> dict[str, Any]:
        """The quick-stats JSON: the seed's keys (maps by channel) plus Gridlight's fields."""
        chans = self.channels
        out: dict[str, Any] = {
            "25p": {c: s.p25_kw for c, s in chans.items()},
            "median": {c: s.median_kw for c, s in chans.items()},
            "75p": {c: s.p75_kw for c, s in chans.items()},
            "rt_critical_value_0.01": {c: s.critical_kw for c, s in chans.items()},
            "best_distribution": {c: s.distribution for c, s in chans.items()},
            "interval_s": self.interval_s,
            "requested_interval_s": self.requested_interval_s,
            "resolution_s": self.resolution_s,
            "n_samples": {c: s.n_samples for c, s in chans.items()},
            "by_hour": self.by_hour,
            "fingerprint": self.fingerprint,
            "timezone": self.timezone,
            "tail_probability": self.tail_probability,
            "algorithm_version": self.algorithm_version,
            "notes": list(self.notes),
            "channels": {
                c: {
                    "method": s.method,
                    "distribution": s.distribution,
                    "params": dict(s.params),
                    "goodness_of_fit": dict(s.goodness_of_fit),
                    "empirical_p99": s.empirical_p99_kw,
                    "max_kw": s.max_kw,
                    "p_on": s.p_on,
                    "physical_max_kw": self.max_kw(c),
                }
                for c, s in chans.items()
            },
        }
        if self.by_hour:
            out["hours"] = _hours_json(self.hours, chans)
            out["day_hours"] = {
                day_type: _hours_json(self.day_hours.get(day_type, {}), chans)
                for day_type in DAY_TYPES
            }
        return out

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> HouseholdStats:
        """Inverse of :meth:`to_json` (for the persistent cache)."""
        channels: dict[str, ChannelStats] = {}
        for c, extra in raw["channels"].items():
            flat = {k: raw[k][c] for k in _COMPAT_KEYS}
            flat.update(extra)
            flat["n_samples"] = raw["n_samples"][c]
            channels[c] = ChannelStats.from_json(flat)
        hours = _hours_from_json(raw.get("hours", {}))
        day_hours = {
            day_type: _hours_from_json(per_channel)
            for day_type, per_channel in raw.get("day_hours", {}).items()
        }
        return cls(
            interval_s=int(raw["interval_s"]),
            requested_interval_s=int(raw["requested_interval_s"]),
            resolution_s=int(raw["resolution_s"]),
            timezone=str(raw["timezone"]),
            by_hour=bool(raw["by_hour"]),
            fingerprint=raw.get("fingerprint"),
            channels=channels,
            hours=hours,
            day_hours=day_hours,
            physical_max_kw={
                c: float(extra["physical_max_kw"]) for c, extra in raw["channels"].items()
            },
            notes=tuple(raw.get("notes", ())),
            tail_probability=float(raw.get("tail_probability", TAIL_PROBABILITY)),
            algorithm_version=int(raw.get("algorithm_version", ALGORITHM_VERSION)),
        )


def _hours_json(
    hours: Mapping[str, Mapping[int, ChannelStats]], channels: Iterable[str]
) -> dict[str, dict[str, Any]]:
    return {c: {str(h): s.to_json() for h, s in sorted(hours.get(c, {}).items())} for c in channels}


def _hours_from_json(raw: Mapping[str, Any]) -> dict[str, dict[int, ChannelStats]]:
    return {
        c: {int(h): ChannelStats.from_json(s) for h, s in per_hour.items()}
        for c, per_hour in raw.items()
    }


def time_slots(ts: pd.DatetimeIndex, timezone: str) -> np.ndarray:
    """Slot of each timestamp: ``24 * day_type + local hour`` (day type 0 weekday, 1 weekend)."""
    local = ts.tz_convert(timezone)
    weekend = np.asarray(local.day_of_week) >= 5
    return weekend.astype(np.int64) * 24 + np.asarray(local.hour, dtype=np.int64)


def check_interval_s(interval_s: object) -> int:
    """``interval_s`` as a positive int, else :class:`StatsInputError` naming it."""
    if isinstance(interval_s, bool) or not isinstance(interval_s, int | np.integer):
        raise StatsInputError(f"interval must be a whole number of seconds, got {interval_s!r}")
    if interval_s <= 0:
        raise StatsInputError(f"interval must be a positive number of seconds, got {interval_s}")
    return int(interval_s)


def _check_timezone(timezone: str) -> str:
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as err:
        raise StatsInputError(f"unknown time zone {timezone!r}") from err
    return timezone


def compute_stats(
    frame: pd.DataFrame,
    interval_s: int,
    *,
    timezone: str = "UTC",
    by_hour: bool = False,
    fingerprint: str | None = None,
    resolution_s: int | None = None,
    physical_max_kw: Mapping[str, float] | None = None,
    fit: bool = True,
) -> HouseholdStats:
    """Thresholds for every channel of one household's clean history.

    ``frame``: columns are channel names, index a UTC ``DatetimeIndex`` at any resolution,
    values average power [kW] (NaN missing). It is averaged into ``interval_s`` windows aligned
    to the epoch; an interval shorter than the data's resolution (``resolution_s``, else the
    median spacing of the index) uses the resolution instead and says so in ``notes``.
    ``by_hour`` adds per-hour thresholds in ``timezone``. ``physical_max_kw`` overrides the
    per-channel bound of impossible values (default ``PHYSICAL_MAX_KW``). The overall tails are
    fitted with fitter over ``TAIL_CANDIDATES``; the per-hour ones (many small samples) with a
    generalized Pareto alone. ``fit=False`` skips all fits (empirical quantiles only).

    Raises :class:`StatsInputError` (a ``ValueError``) for a bad interval, an interval longer than
    the data, an empty frame or an unknown time zone, and :class:`EmptyChannelError` for a channel
    without a single reading.
    """
    requested = check_interval_s(interval_s)
    _check_timezone(timezone)
    if not isinstance(frame, pd.DataFrame) or frame.shape[1] == 0:
        raise StatsInputError("expected a frame with one column per channel")
    if len(frame.index) == 0:
        raise StatsInputError("the history is empty: no readings to compute statistics from")
    seconds = epoch_seconds(frame.index)
    resolution = int(resolution_s) if resolution_s else infer_resolution_s(frame.index)
    span_s = int(seconds[-1] - seconds[0]) + resolution
    if requested > span_s:
        raise StatsInputError(
            f"interval {requested} s is longer than the data ({span_s} s of history)"
        )
    notes: list[str] = []
    effective = requested
    if requested < resolution:
        effective = resolution
        notes.append(
            f"interval {requested} s is shorter than the data's {resolution} s resolution; "
            f"thresholds are for {resolution} s"
        )
    channels = [str(c) for c in frame.columns]
    values = frame.to_numpy(dtype="float64", na_value=np.nan)
    for i, channel in enumerate(channels):
        if not np.isfinite(values[:, i]).any():
            raise EmptyChannelError(f"channel {channel!r} has no readings in the history")
    starts_s, means = window_means(values, seconds, effective)

    stats = {
        c: channel_stats(means[:, i], fit="fitter" if fit else "none")
        for i, c in enumerate(channels)
    }
    hours: dict[str, dict[int, ChannelStats]] = {}
    day_hours: dict[str, dict[str, dict[int, ChannelStats]]] = {}
    if by_hour:
        local = pd.DatetimeIndex(pd.to_datetime(starts_s, unit="s", utc=True))
        slot_of = time_slots(local, timezone)
        hour_of, day_type_of = slot_of % 24, slot_of // 24
        day_of = np.asarray(local.tz_convert(timezone).normalize().asi8)
        mode = "gpd" if fit else "none"

        def group_stats(i: int, sel: np.ndarray, seed: int) -> ChannelStats | None:
            if sel.sum() < MIN_HOUR_SAMPLES or np.unique(day_of[sel]).size < MIN_HOUR_DAYS:
                return None
            return channel_stats(means[sel, i], fit=mode, seed=seed)

        for i, c in enumerate(channels):
            finite = np.isfinite(means[:, i])
            per_hour = {h: group_stats(i, finite & (hour_of == h), h) for h in range(24)}
            hours[c] = {h: s for h, s in per_hour.items() if s is not None}
            for d, day_type in enumerate(DAY_TYPES):
                in_type = finite & (day_type_of == d)
                per_type = {
                    h: group_stats(i, in_type & (hour_of == h), 24 * (d + 1) + h) for h in range(24)
                }
                day_hours.setdefault(day_type, {})[c] = {
                    h: s for h, s in per_type.items() if s is not None
                }
        notes.append(
            f"per-hour groups need {MIN_HOUR_SAMPLES} windows over {MIN_HOUR_DAYS} days; "
            "a reading uses its day type's hour, else its hour, else the overall thresholds"
        )
    bounds = {c: float(PHYSICAL_MAX_KW) for c in channels}
    for c, bound in (physical_max_kw or {}).items():
        if not (isinstance(bound, int | float) and math.isfinite(bound) and bound > 0):
            raise StatsInputError(f"physical_max_kw for {c!r} must be positive, got {bound!r}")
        bounds[str(c)] = float(bound)
    return HouseholdStats(
        interval_s=effective,
        requested_interval_s=requested,
        resolution_s=resolution,
        timezone=timezone,
        by_hour=bool(by_hour),
        fingerprint=fingerprint,
        channels=stats,
        hours=hours,
        day_hours=day_hours,
        physical_max_kw=bounds,
        notes=tuple(notes),
    )
