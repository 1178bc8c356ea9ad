"""Occupancy timelines: a profile's local-time schedules turned into UTC intervals.

Every local day touching the span gets its schedule (weekday, weekend or roster week), its
change times shifted by a little seeded jitter, and is converted from the household's wall clock
to UTC epoch seconds (DST gaps shift forward, repeated hours take the first occurrence).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from generator.intervals import intersect, uniform_in
from generator.profile import ANCHORS, STATES, Profile, Timing, day_keys

__all__ = ["Occupancy", "build_occupancy", "local_to_epoch"]

DAY_S = 86400


def local_to_epoch(dates: np.ndarray, sod_s: np.ndarray, timezone: str) -> np.ndarray:
    """Local wall-clock ``dates`` (datetime64[D]) + seconds of day -> UTC epoch seconds.

    Times in a DST gap move forward; repeated times take their first (daylight) occurrence.
    """
    dates = np.asarray(dates, dtype="datetime64[D]")
    sod_s = np.asarray(sod_s, dtype=np.float64)
    out = np.empty(len(dates), dtype=np.float64)
    unique, inverse = np.unique(dates, return_inverse=True)
    offsets_s = _midnight_offsets_s(unique, timezone)
    # A day whose offset at its midnight equals the next midnight's has one offset all day.
    steady = (offsets_s[:-1] == offsets_s[1:])[inverse]
    day_s = dates.astype(np.int64) * 86400.0
    out[steady] = day_s[steady] + sod_s[steady] - offsets_s[:-1][inverse][steady]
    if not steady.all():
        naive = dates[~steady].astype("datetime64[s]") + np.rint(sod_s[~steady]).astype(
            "timedelta64[s]"
        )
        idx = pd.DatetimeIndex(naive)
        aware = idx.tz_localize(
            timezone, ambiguous=np.ones(len(idx), dtype=bool), nonexistent="shift_forward"
        )
        out[~steady] = aware.as_unit("s").asi8
    return out


def _midnight_offsets_s(unique_dates: np.ndarray, timezone: str) -> np.ndarray:
    """UTC offsets [s] at local midnight of each date and of the day after the last."""
    zone = ZoneInfo(timezone)
    days = [*unique_dates.astype(object), unique_dates[-1].astype(object) + dt.timedelta(days=1)]
    offsets = []
    for day in days:
        offset = dt.datetime.combine(day, dt.time(0), tzinfo=zone).utcoffset()
        offsets.append(offset.total_seconds() if offset is not None else 0.0)
    # A non-consecutive date list has gaps: compare neighbours only where they are consecutive.
    out = np.array(offsets)
    nxt = np.append(unique_dates[1:], unique_dates[-1] + 1)
    gap = nxt != unique_dates + 1
    if gap.any():
        for i in np.flatnonzero(gap):
            after = dt.datetime.combine(
                unique_dates[i].astype(object) + dt.timedelta(days=1), dt.time(0), tzinfo=zone
            ).utcoffset()
            if after is None or after.total_seconds() != out[i]:
                out[i] = np.nan  # forces the exact path for that day
    return out


@dataclass
class Occupancy:
    """A household's states over a span, as UTC epoch-second intervals."""

    starts: np.ndarray
    ends: np.ndarray
    states: np.ndarray  # index into STATES
    dates: np.ndarray  # local dates covered, datetime64[D]
    day_starts: np.ndarray  # local midnight of each date [epoch s]
    day_ends: np.ndarray
    timezone: str
    profile: Profile
    _windows: dict[tuple[tuple[int, int], ...], tuple[np.ndarray, np.ndarray, np.ndarray]] = field(
        default_factory=dict, repr=False
    )

    def intervals(self, states: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Merged intervals spent in any of ``states``."""
        lookup = np.zeros(len(STATES), dtype=bool)
        lookup[[STATES.index(s) for s in states]] = True
        mask = lookup[self.states]
        s, e = self.starts[mask], self.ends[mask]
        if len(s) == 0:
            return s, e
        join = s[1:] == e[:-1]
        keep_start = np.concatenate(([True], ~join))
        keep_end = np.concatenate((~join, [True]))
        return s[keep_start], e[keep_end]

    def state_at(self, t_s: np.ndarray | float) -> np.ndarray:
        """State codes at epoch seconds ``t_s``."""
        idx = np.clip(np.searchsorted(self.starts, t_s, side="right") - 1, 0, len(self.starts) - 1)
        return self.states[idx]

    def transitions(self, anchor: str) -> np.ndarray:
        """Moments [epoch s] of one anchor ("wake", "bed", "leave", "return")."""
        before, after = (STATES.index(s) for s in ANCHORS[anchor])
        hit = (self.states[:-1] == before) & (self.states[1:] == after)
        return self.starts[1:][hit]

    def day_means(self, per_day: dict[str, float] | object) -> np.ndarray:
        """The expected count per local day from a ``per_day`` mapping."""
        means = np.zeros(len(self.dates))
        for i, d in enumerate(self.dates.astype(object)):
            for key in day_keys(d):
                if key in per_day:  # type: ignore[operator]
                    means[i] = per_day[key]  # type: ignore[index]
                    break
        return means

    def windows(self, timing: Timing) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each local day's allowed windows as epoch intervals, with the day index."""
        n_days = len(self.dates)
        if not timing.windows_s:
            return self.day_starts, self.day_ends, np.arange(n_days)
        cached = self._windows.get(timing.windows_s)
        if cached is not None:
            return cached
        wins = np.array(timing.windows_s, dtype=np.float64)
        day_idx = np.repeat(np.arange(n_days), len(wins))
        dates = self.dates[day_idx]
        both = local_to_epoch(
            np.concatenate((dates, dates)),
            np.concatenate((np.tile(wins[:, 0], n_days), np.tile(wins[:, 1], n_days))),
            self.timezone,
        )
        starts, ends = both[: len(dates)], both[len(dates) :]
        order = np.argsort(starts, kind="stable")
        result = (starts[order], ends[order], day_idx[order])
        self._windows[timing.windows_s] = result
        return result

    def place(self, rng: np.random.Generator, timing: Timing) -> np.ndarray:
        """Event moments [epoch s] for a timing rule (anchored or Poisson per day)."""
        if timing.anchor is not None:
            base = self.transitions(timing.anchor)
            keep = rng.random(len(base)) < timing.probability
            lo, hi = timing.offset_s
            return np.sort(base[keep] + rng.uniform(lo, hi, int(keep.sum())))
        when_s, when_e = self.intervals(timing.when)
        win_s, win_e, win_day = self.windows(timing)
        s, e, _, ib = intersect(when_s, when_e, win_s, win_e)
        if len(s) == 0:
            return np.empty(0)
        order = np.argsort(win_day[ib], kind="stable")
        s, e, day = s[order], e[order], win_day[ib][order]
        counts = rng.poisson(self.day_means(timing.per_day))
        return uniform_in(rng, s, e, day, counts)


def build_occupancy(
    profile: Profile, timezone: str, t0_s: int, t1_s: int, rng: np.random.Generator
) -> Occupancy:
    """The occupancy of ``profile`` over ``[t0_s, t1_s)`` (epoch s), one local day either side."""
    first = pd.Timestamp(t0_s, unit="s", tz="UTC").tz_convert(timezone).date() - dt.timedelta(1)
    last = pd.Timestamp(t1_s, unit="s", tz="UTC").tz_convert(timezone).date() + dt.timedelta(1)
    n_days = (last - first).days + 1
    dates = np.arange(np.datetime64(first, "D"), np.datetime64(first, "D") + n_days)
    sod_parts, state_parts, day_parts = [], [], []
    jitter = profile.jitter_s
    routine_draws = rng.random(n_days)
    for i, day in enumerate(dates.astype(object)):
        exception = profile.exception_for(day, routine_draws[i]) if profile.exceptions else None
        points = profile.day_schedule(day, exception.use if exception else None)
        sod = np.array([p[0] for p in points], dtype=np.float64)
        states = np.array([STATES.index(p[1]) for p in points], dtype=np.int8)
        if jitter > 0 and len(sod) > 1:
            # Move each change (not midnight) by ~N(0, jitter), staying well inside its gaps.
            nxt = np.append(sod[1:], DAY_S)
            lo = sod - 0.4 * (sod - np.concatenate(([0.0], sod[:-1])))
            hi = sod + 0.4 * (nxt - sod)
            moved = sod + np.clip(rng.normal(0.0, jitter, len(sod)), -2 * jitter, 2 * jitter)
            moved = np.clip(moved, lo, hi)
            moved[0] = 0.0
            sod = np.rint(moved)
        sod_parts.append(sod)
        state_parts.append(states)
        day_parts.append(np.full(len(sod), i))
    sod_all = np.concatenate(sod_parts)
    states_all = np.concatenate(state_parts)
    day_all = np.concatenate(day_parts)
    # One conversion for the change points and every local midnight (and the one after).
    midnights = np.arange(dates[0], dates[-1] + 2)
    both = local_to_epoch(
        np.concatenate((dates[day_all], midnights)),
        np.concatenate((sod_all, np.zeros(len(midnights)))),
        timezone,
    )
    starts, day_bounds = both[: len(sod_all)], both[len(sod_all) :]
    day_starts, day_ends = day_bounds[:-1], day_bounds[1:]
    # Merge repeats of a state (e.g. asleep at 23:00 then asleep at 00:00).
    keep = np.concatenate(([True], states_all[1:] != states_all[:-1]))
    starts, states_all = starts[keep], states_all[keep]
    # DST shifts could in principle produce equal starts; keep the later state.
    keep = np.concatenate((starts[1:] > starts[:-1], [True]))
    starts, states_all = starts[keep], states_all[keep]
    ends = np.append(starts[1:], day_ends[-1])
    return Occupancy(
        starts=starts,
        ends=ends,
        states=states_all,
        dates=dates,
        day_starts=day_starts,
        day_ends=day_ends,
        timezone=timezone,
        profile=profile,
    )
