"""Household profiles: the archetypes A, B, C (and any user's D) as JSON data.

This module holds the validated, immutable form; :mod:`generator.profile_loader` reads and
checks the JSON.

A profile says who is home when and what they run. It is read from a JSON file; the built-in
ones live in ``generator/profiles/``. The shape (every power in kW, every duration in the unit
its name gives)::

    {
      "id": "D", "name": "...", "archetype": "...", "description": "...",
      "timezone": "Asia/Kolkata",                   # optional; --timezone overrides
      "site": {"latitude_deg": 13.08, "longitude_deg": 80.27,
               "climate": {...}},                   # optional; see generator.weather
      "occupancy": {
        "jitter_min": 15,                           # change times vary by about this much
        "schedules": {"weekday": [["00:00", "asleep"], ["06:00", "active"], ...],
                      "weekend": [...], "sat": [...]},
        "roster": {"anchor": "2026-01-05", "weeks": ["day", "night"]},  # optional: then
                                                    # "schedules" maps week name -> day keys
        "exceptions": [{"name": "day off", "days": ["weekday"], "probability": 0.05,
                        "use": "sun"}]              # optional: days that break the routine
      },
      "ac": {"rated_kw", "fan_kw", "setpoint_c", "deadband_c", "cooling_c_per_min",
             "leak_per_min", "internal_gain_c_per_min": {state: ...},
             "comfort_c": {state: ...}, "comfort_sd_c"},
      "geyser": {"rated_kw", "tank_l", "deadband_c", "standby_loss_kw", "draws": [timing +
                 "energy_kwh": [lo, hi]]},
      "base": {"standby_kw", "fridge": {"rated_kw", "on_min": [lo, hi], "off_min": [lo, hi]}},
      "lighting": {"active_kw": [lo, hi], "asleep_kw", "daylight_fraction"},
      "appliances": [timing + "phases": [{"power_kw": [lo, hi], "duration_s": [lo, hi]}, ...]]
    }

A schedule is a list of ``[HH:MM, state]`` change points starting at ``00:00``; the state holds
until the next point. States are ``active`` (someone home and awake), ``asleep`` and ``away``.
A day's schedule is the first of its weekday name (``mon`` … ``sun``), ``weekday`` / ``weekend``
or ``all`` that the profile defines. An *exception* makes a matching day, with its probability,
follow another day's schedule (``"use": "sun"``), a schedule of its own named beside the day keys
(``"use": "outing"``), or be spent out (``"use": "away"``): days off, holidays, outings, trips.

A *timing* places events each day, either anchored to an occupancy change (``"anchor": "wake" | "bed" | "leave" | "return"``, ``"offset_min": [lo, hi]``,
``"probability"``) or as a Poisson number per day (``"per_day": {"weekday": m, "weekend": m}``)
spread uniformly over the time spent in the ``"when"`` states, optionally within local
``"windows"``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from generator.dataset import DatasetError
from generator.weather import Site

__all__ = [
    "ANCHORS",
    "BUILTIN_DIR",
    "DAY_KEYS",
    "DAY_NAMES",
    "STATES",
    "AcSpec",
    "ApplianceSpec",
    "BaseSpec",
    "DayException",
    "Draw",
    "GeyserSpec",
    "LightingSpec",
    "Phase",
    "Profile",
    "ProfileError",
    "Timing",
    "day_keys",
    "profile_summary",
    "use_keys",
]

BUILTIN_DIR = Path(__file__).resolve().parent / "profiles"
STATES = ("active", "asleep", "away")
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ANCHORS = {
    # anchor -> (state before, state after)
    "wake": ("asleep", "active"),
    "bed": ("active", "asleep"),
    "leave": ("active", "away"),
    "return": ("away", "active"),
}
DAY_KEYS = (*DAY_NAMES, "weekday", "weekend", "all")


class ProfileError(DatasetError):
    """A household profile that is missing, unreadable or not valid."""


@dataclass(frozen=True)
class Timing:
    """When an event happens each day (see the module docstring)."""

    anchor: str | None = None
    offset_s: tuple[float, float] = (0.0, 0.0)
    probability: float = 1.0
    per_day: Mapping[str, float] = field(default_factory=dict)
    when: tuple[str, ...] = ("active",)
    windows_s: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class AcSpec:
    rated_kw: float
    fan_kw: float
    setpoint_c: float
    deadband_c: float
    cooling_c_per_min: float
    leak_per_min: float
    internal_gain_c_per_min: Mapping[str, float]
    comfort_c: Mapping[str, float]
    comfort_sd_c: float


@dataclass(frozen=True)
class Draw:
    name: str
    timing: Timing
    energy_kwh: tuple[float, float]


@dataclass(frozen=True)
class GeyserSpec:
    rated_kw: float
    tank_l: float
    deadband_c: float
    standby_loss_kw: float
    draws: tuple[Draw, ...]


@dataclass(frozen=True)
class BaseSpec:
    standby_kw: float
    fridge_kw: float
    fridge_on_s: tuple[float, float]
    fridge_off_s: tuple[float, float]


@dataclass(frozen=True)
class LightingSpec:
    active_kw: tuple[float, float]
    asleep_kw: float
    daylight_fraction: float


@dataclass(frozen=True)
class Phase:
    power_kw: tuple[float, float]
    duration_s: tuple[float, float]


@dataclass(frozen=True)
class ApplianceSpec:
    name: str
    phases: tuple[Phase, ...]
    timing: Timing


@dataclass(frozen=True)
class Profile:
    """A validated household profile."""

    id: str
    name: str
    archetype: str
    description: str
    timezone: str | None
    site: Site
    jitter_s: float
    # week name -> day key -> ((second of day, state), ...); week "" when there is no roster.
    schedules: Mapping[str, Mapping[str, tuple[tuple[int, str], ...]]]
    roster_anchor: dt.date | None
    roster_weeks: tuple[str, ...]
    ac: AcSpec
    geyser: GeyserSpec
    base: BaseSpec
    lighting: LightingSpec
    appliances: tuple[ApplianceSpec, ...]
    exceptions: tuple[DayException, ...] = ()
    source: str = "builtin"

    def week_name(self, day: dt.date) -> str:
        """The roster week a local date falls in ("" without a roster)."""
        if self.roster_anchor is None:
            return ""
        weeks = (day - self.roster_anchor).days // 7
        return self.roster_weeks[weeks % len(self.roster_weeks)]

    def day_schedule(self, day: dt.date, use: str | None = None) -> tuple[tuple[int, str], ...]:
        """Change points ``(second of local day, state)`` for a local date.

        ``use`` picks another day's schedule instead (a day key, or ``"away"`` for a day out).
        """
        if use == "away":
            return ((0, "away"),)
        week = self.schedules[self.week_name(day)]
        for key in use_keys(use) if use else day_keys(day):
            if key in week:
                return week[key]
        raise AssertionError("validated profiles cover every day")  # pragma: no cover

    def exception_for(self, day: dt.date, draw: float) -> DayException | None:
        """The exception (if any) that a uniform ``draw`` in [0, 1) picks for a date."""
        keys = day_keys(day)
        edge = 0.0
        for exc in self.exceptions:
            if any(k in exc.days for k in keys):
                edge += exc.probability
                if draw < edge:
                    return exc
        return None


@dataclass(frozen=True)
class DayException:
    """A day that breaks the routine: with ``probability`` a matching day uses ``use``."""

    name: str
    days: tuple[str, ...]
    probability: float
    use: str


def use_keys(use: str) -> tuple[str, ...]:
    """Schedule keys to try for an exception's ``use`` (a day name falls back like a date)."""
    if use in DAY_NAMES:
        return day_keys(dt.date(2026, 1, 5) + dt.timedelta(days=DAY_NAMES.index(use)))
    if use == "weekday":
        return ("weekday", "all")
    if use == "weekend":
        return ("weekend", "all")
    return (use,)


def day_keys(day: dt.date) -> tuple[str, str, str]:
    """The schedule keys a date matches, most specific first."""
    wd = day.weekday()
    return (DAY_NAMES[wd], "weekend" if wd >= 5 else "weekday", "all")


def profile_summary(profile: Profile) -> Mapping[str, object]:
    """Extra metadata for households.json."""
    return {
        "description": profile.description,
        "profile": profile.source,
    }
