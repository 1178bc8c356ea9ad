"""Synthetic households: ``generate(...)`` returns a :class:`~generator.dataset.Dataset`.

Each household is simulated from its profile (see :mod:`generator.profile`) as events —
compressor cycles, element runs, appliance phases — in UTC epoch seconds; the events are
summed per second as integer watts (a difference array and one cumulative sum per channel,
no Python loop over seconds) and written as kW into one float64 table indexed by UTC ``ts``
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
    """Per-second integer watts of one household's AC, Geyser and other loads, plus context."""

    def __init__(
        self,
        profile: Profile,
        timezone: str,
        ac_w: np.ndarray,
        geyser_w: np.ndarray,
        other_w: np.ndarray,
        weather: Weather,
        sessions: list[tuple[float, float, bool]],
    ) -> None:
        self.profile = profile
        self.timezone = timezone
        self.ac_w = ac_w
        self.geyser_w = geyser_w
        self.other_w = other_w
        self.weather = weather
        self.ac_sessions = sessions


def _household_seed(seed: int, household: str) -> np.random.SeedSequence:
    return np.random.SeedSequence([seed, zlib.crc32(household.encode())])


class _Buffers:
    """Per-second int32 work arrays reused from one household to the next."""

    def __init__(self, n_s: int) -> None:
        self.scratch = np.zeros(n_s + 1, dtype=np.int32)
        self.ac = np.empty(n_s, dtype=np.int32)
        self.geyser = np.empty(n_s, dtype=np.int32)
        self.other = np.empty(n_s, dtype=np.int32)
        self.noise = np.empty(n_s, dtype=np.uint8)


RIPPLE_W = 15  # whole-house meter ripple: uniform in [-7, +8] W


def simulate_household(
    profile: Profile,
    timezone: str,
    t0_s: int,
    n_s: int,
    seed: int,
    weather: Weather | None = None,
    *,
    buffers: _Buffers | None = None,
) -> HouseholdPower:
    """Simulate one household over ``[t0_s, t0_s + n_s)`` (UTC epoch seconds).

    With ``buffers`` the returned arrays are views of them (valid until the next call).
    """
    t1_s = t0_s + n_s
    if weather is None:
        weather = Weather(profile.site, seed, t0_s, t1_s)
    buf = buffers or _Buffers(n_s)
    streams = [np.random.default_rng(s) for s in _household_seed(seed, profile.id).spawn(5)]
    occ = build_occupancy(profile, timezone, t0_s, t1_s, streams[0])
    ac, sessions = ac_events(profile, occ, weather, streams[1])
    geyser = geyser_events(profile, occ, streams[2], float(t1_s))
    other = other_events(profile, occ, weather, streams[3], float(t0_s), float(t1_s))
    # Centre the ripple on zero (the standby floor is far above 8 W).
    other.add(float(t0_s), float(t1_s), -float(RIPPLE_W // 2))

    def to_power(events, out: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
        s, e, w = events.arrays()
        return power_w(n_s, s - t0_s, e - t0_s, w, out=out, scratch=buf.scratch)

    other_w = to_power(other, buf.other)
    raw = streams[4].bit_generator.random_raw(n_s // 8 + 1).view(np.uint8)[:n_s]
    np.bitwise_and(raw, RIPPLE_W, out=buf.noise)
    np.add(other_w, buf.noise, out=other_w)
    return HouseholdPower(
        profile,
        timezone,
        to_power(ac, buf.ac),
        to_power(geyser, buf.geyser),
        other_w,
        weather,
        sessions,
    )


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
        hh = simulate_household(
            profile, zones[i], t0_s, n_s, seed, weathers[profile.site], buffers=buffers
        )
        row = i * len(CHANNELS)
        np.divide(hh.ac_w, 1000.0, out=values[row])
        np.divide(hh.geyser_w, 1000.0, out=values[row + 1])
        total_w = hh.other_w
        total_w += hh.ac_w
        total_w += hh.geyser_w
        np.divide(total_w, 1000.0, out=values[row + 2])


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
    every household's zone. With ``fault_rate`` (probability per value that a fault starts
    there) or ``faults_every_s`` (one fault per channel every so many seconds, the seed's
    mode) the dataset also carries a faulty table and the fault labels.
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
