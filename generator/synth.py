"""Synthetic households: ``generate(...)`` returns a :class:`~generator.dataset.Dataset`.

Each household is simulated from its profile (see :mod:`generator.profile`) as events —
compressor cycles, element runs, appliance phases — in UTC epoch seconds; the events are
summed per second as integer watts (a difference array and a cumulative sum; no Python loop
over seconds) and written as kW into one float64 table indexed by UTC ``ts``
at 1 s, columns ``{household}_{AC,Geyser,Overall}``. Overall is AC + Geyser + everything
else plus a few watts of meter ripple, so Overall > AC + Geyser at every second and no clean
value is negative.

The table starts at local midnight of ``start`` in the dataset's time zone (``timezone``, or
the first household's, or Asia/Kolkata) and each household's occupancy follows its own
local clock. A seed fixes every random draw: the same arguments give the same table.
"""

from __future__ import annotations

import datetime as dt
import os
import zlib
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from generator.dataset import (
    Dataset,
    DatasetError,
    HouseholdInfo,
    column_name,
    validate_timezone,
)
from generator.faults import inject_faults, validate_fault_args
from generator.intervals import power_w
from generator.loads import ac_events, geyser_events, other_events
from generator.occupancy import build_occupancy, local_to_epoch
from generator.profile import Profile, profile_summary
from generator.profile_loader import resolve_profiles
from generator.weather import Weather

__all__ = [
    "CHANNELS",
    "DEFAULT_START",
    "DEFAULT_TIMEZONE",
    "HouseholdPower",
    "generate",
    "parse_start",
    "simulate_household",
]

CHANNELS = ("AC", "Geyser", "Overall")
DEFAULT_TIMEZONE = "Asia/Kolkata"
DEFAULT_START = "2026-01-05"  # a Monday
MAX_DAYS = 3660
SOURCE = "synthetic:gridlight-generator/1"


def parse_start(start: str | dt.date | dt.datetime) -> dt.date:
    """The start date from a ``YYYY-MM-DD`` string or a date; raise naming the bad value."""
    if isinstance(start, dt.datetime):
        return start.date()
    if isinstance(start, dt.date):
        return start
    try:
        return dt.date.fromisoformat(str(start))
    except ValueError:
        raise DatasetError(f"invalid start date {start!r}: expected YYYY-MM-DD") from None


def _check_days(days: object) -> int:
    if isinstance(days, bool) or not isinstance(days, int | np.integer):
        raise DatasetError(f"days must be a whole number of days, got {days!r}")
    if not 0 < int(days) <= MAX_DAYS:
        raise DatasetError(f"days must be between 1 and {MAX_DAYS}, got {days!r}")
    return int(days)


def _check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or int(seed) < 0:
        raise DatasetError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


class HouseholdPower:
    """One household's AC, Geyser and Overall [kW] (rows of a float64 array), plus context."""

    def __init__(
        self,
        profile: Profile,
        timezone: str,
        power_kw: np.ndarray,
        weather: Weather,
        sessions: list[tuple[float, float, bool]],
    ) -> None:
        self.profile = profile
        self.timezone = timezone
        self.ac_kw, self.geyser_kw, self.overall_kw = power_kw
        self.weather = weather
        self.ac_sessions = sessions


def _household_seed(seed: int, household: str) -> np.random.SeedSequence:
    return np.random.SeedSequence([seed, zlib.crc32(household.encode())])


class _Buffers:
    """Per-second work arrays reused from one household to the next."""

    def __init__(self, n_s: int) -> None:
        self.scratch = np.zeros(n_s + 1, dtype=np.int32)  # kept all zeros between uses
        self.watts = np.empty(n_s, dtype=np.int32)
        self.noise = np.empty(n_s, dtype=np.uint8)


RIPPLE_W = 15  # whole-house meter ripple: uniform in [-7, +8] W


def _write_runs(row: np.ndarray, starts, ends, watts, n_s: int) -> bool:  # type: ignore[no-untyped-def]
    """Write non-overlapping runs straight into a float row [kW]; False if they overlap."""
    s = np.clip(np.rint(starts).astype(np.int64), 0, n_s)
    e = np.clip(np.rint(ends).astype(np.int64), 0, n_s)
    kw = np.rint(watts) / 1000.0
    order = np.argsort(s, kind="stable")
    s, e, kw = s[order], e[order], kw[order]
    if len(s) > 1 and (s[1:] < e[:-1]).any():
        return False
    row.fill(0.0)
    for a, b, value in zip(s.tolist(), e.tolist(), kw.tolist(), strict=True):
        row[a:b] = value
    return True


def simulate_household(
    profile: Profile,
    timezone: str,
    t0_s: int,
    n_s: int,
    seed: int,
    weather: Weather | None = None,
    *,
    out: np.ndarray | None = None,
    buffers: _Buffers | None = None,
) -> HouseholdPower:
    """Simulate one household over ``[t0_s, t0_s + n_s)`` (UTC epoch seconds).

    ``out`` (float64, 3 × ``n_s``) receives AC, Geyser and Overall [kW]; it is allocated when
    not given. Overall is the integer sum of every load's watts (plus meter ripple) divided
    once, so Overall > AC + Geyser exactly, not just up to rounding.
    """
    t1_s = t0_s + n_s
    if weather is None:
        weather = Weather(profile.site, seed, t0_s, t1_s)
    if out is None:
        out = np.empty((len(CHANNELS), n_s), dtype=np.float64)
    buf = buffers or _Buffers(n_s)
    streams = [np.random.default_rng(s) for s in _household_seed(seed, profile.id).spawn(5)]
    occ = build_occupancy(profile, timezone, t0_s, t1_s, streams[0])
    ac, sessions = ac_events(profile, occ, weather, streams[1])
    geyser = geyser_events(profile, occ, streams[2], float(t1_s))
    other = other_events(profile, occ, weather, streams[3], float(t0_s), float(t1_s))
    # Centre the ripple on zero (the standby floor is far above 8 W).
    other.add(float(t0_s), float(t1_s), -float(RIPPLE_W // 2))
    ac_s, ac_e, ac_w = ac.arrays()
    gy_s, gy_e, gy_w = geyser.arrays()
    ot_s, ot_e, ot_w = other.arrays()

    power_w(n_s, ac_s - t0_s, ac_e - t0_s, ac_w, out=buf.watts, scratch=buf.scratch)
    np.divide(buf.watts, 1000.0, out=out[0])
    # The element's runs never overlap, so they go straight into the row.
    if not _write_runs(out[1], gy_s - t0_s, gy_e - t0_s, gy_w, n_s):
        power_w(n_s, gy_s - t0_s, gy_e - t0_s, gy_w, out=buf.watts, scratch=buf.scratch)
        np.divide(buf.watts, 1000.0, out=out[1])
    # Overall: every load's events in one integer sum, plus the meter's ripple.
    power_w(
        n_s,
        np.concatenate((ac_s, gy_s, ot_s)) - t0_s,
        np.concatenate((ac_e, gy_e, ot_e)) - t0_s,
        np.concatenate((ac_w, gy_w, ot_w)),
        out=buf.watts,
        scratch=buf.scratch,
    )
    raw = streams[4].bit_generator.random_raw(n_s // 8 + 1).view(np.uint8)[:n_s]
    np.bitwise_and(raw, RIPPLE_W, out=buf.noise)
    np.add(buf.watts, buf.noise, out=buf.watts)
    np.divide(buf.watts, 1000.0, out=out[2])
    return HouseholdPower(profile, timezone, out, weather, sessions)


def _fill_values(
    values: np.ndarray,
    profiles: list[Profile],
    zones: list[str],
    weathers: dict[object, Weather],
    t0_s: int,
    n_s: int,
    seed: int,
) -> None:
    """Simulate every household into its three rows of ``values`` [kW].

    (Simulating households on threads was measured and did not help: the per-second passes
    are memory-bound and the event code holds the GIL.)
    """
    buffers = _Buffers(n_s)
    for i, profile in enumerate(profiles):
        row = i * len(CHANNELS)
        simulate_household(
            profile,
            zones[i],
            t0_s,
            n_s,
            seed,
            weathers[profile.site],
            out=values[row : row + len(CHANNELS)],
            buffers=buffers,
        )


def generate(
    households: Iterable[str | Profile | os.PathLike[str]] = ("A", "B", "C"),
    days: int = 7,
    seed: int = 0,
    start: str | dt.date = DEFAULT_START,
    timezone: str | None = None,
    fault_rate: float | None = None,
    faults_every_s: int | None = None,
    *,
    profile_dirs: Sequence[str | os.PathLike[str]] = (),
) -> Dataset:
    """Generate synthetic households as a :class:`Dataset` (nothing is written to disk).

    ``households`` are profile ids (built-in A, B, C or ones found in ``profile_dirs``), paths
    to profile JSON files, or :class:`Profile` objects. ``timezone`` (an IANA name) overrides
    every household's zone. With ``fault_rate`` (the share of values to make faulty) or
    ``faults_every_s`` (a fault on every channel every so many seconds, the seed's mode) the
    dataset also carries a faulty table and the fault labels (see :mod:`generator.faults`).
    """
    days = _check_days(days)
    seed = _check_seed(seed)
    start_date = parse_start(start)
    if timezone is not None:
        validate_timezone(timezone)
    validate_fault_args(fault_rate, faults_every_s)
    profiles = resolve_profiles(list(households), profile_dirs)
    zones = [timezone or p.timezone or DEFAULT_TIMEZONE for p in profiles]
    t0_s = int(local_to_epoch(np.array([start_date], "datetime64[D]"), np.zeros(1), zones[0])[0])
    n_s = days * 86400

    values = np.empty((len(profiles) * len(CHANNELS), n_s), dtype=np.float64)
    weathers: dict[object, Weather] = {}
    for profile in profiles:
        if profile.site not in weathers:
            weathers[profile.site] = Weather(profile.site, seed, t0_s, t0_s + n_s)
    _fill_values(values, profiles, zones, weathers, t0_s, n_s, seed)
    columns = [column_name(p.id, c) for p in profiles for c in CHANNELS]
    infos = {
        profile.id: HouseholdInfo(
            id=profile.id,
            name=profile.name,
            archetype=profile.archetype,
            timezone=zone,
            channels=CHANNELS,
            resolution_s=1,
            source=SOURCE,
            extra={
                **profile_summary(profile),
                "seed": seed,
                "start": start_date.isoformat(),
                "days": days,
            },
        )
        for profile, zone in zip(profiles, zones, strict=True)
    }
    index = pd.date_range(
        pd.Timestamp(t0_s, unit="s", tz="UTC"), periods=n_s, freq="s", name="ts", unit="ns"
    )
    table = pd.DataFrame(values.T, index=index, columns=columns, copy=False)
    faulty = faults = None
    if fault_rate is not None or faults_every_s is not None:
        rng = np.random.default_rng([seed, 0xFA17])
        faulty_values, faults = inject_faults(
            values, columns, index, rng, fault_rate=fault_rate, every_s=faults_every_s
        )
        faulty = pd.DataFrame(faulty_values.T, index=index, columns=columns, copy=False)
    return Dataset(households=infos, table=table, faulty=faulty, faults=faults)
