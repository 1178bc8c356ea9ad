"""Reading and validating household profiles (the format is described in :mod:`generator.profile`).

Every error names the file and the dotted path of the bad field, e.g. ``profile D.json:
ac.rated_kw must be a number in [0, 50], got -1.5``. Parsed files are cached while they are
unchanged, so generating repeatedly does not re-read them.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from generator.dataset import DatasetError, validate_household_id, validate_timezone
from generator.profile import (
    ANCHORS,
    BUILTIN_DIR,
    DAY_KEYS,
    DAY_NAMES,
    STATES,
    AcSpec,
    ApplianceSpec,
    BaseSpec,
    DayException,
    Draw,
    GeyserSpec,
    LightingSpec,
    Phase,
    Profile,
    ProfileError,
    Timing,
    day_keys,
    use_keys,
)
from generator.weather import DEFAULT_SITE, Climate, Site

__all__ = ["builtin_profiles", "load_profile", "parse_profile", "resolve_profiles"]


# --------------------------------------------------------------------------- validation


class _Reader:
    """Reads one JSON object and reports errors with the dotted path of the bad field."""

    def __init__(self, where: str, raw: Any, path: str = "") -> None:
        self.where = where
        self.path = path
        if not isinstance(raw, dict):
            self.fail(f"must be a JSON object, got {type(raw).__name__}")
        self.raw: dict[str, Any] = raw

    def fail(self, message: str, key: str | None = None) -> None:
        name = ".".join(p for p in (self.path, key) if p) or "profile"
        raise ProfileError(f"profile {self.where}: {name} {message}")

    def child(self, key: str, optional: bool = False) -> _Reader | None:
        if key not in self.raw:
            if optional:
                return None
            self.fail("is required", key)
        return _Reader(self.where, self.raw[key], ".".join(p for p in (self.path, key) if p))

    def get(self, key: str, default: Any = ...) -> Any:
        if key not in self.raw:
            if default is ...:
                self.fail("is required", key)
            return default
        return self.raw[key]

    def number(self, key: str, default: Any = ..., *, lo: float = 0.0, hi: float = 1e9) -> float:
        value = self.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
            self.fail(f"must be a number in [{lo:g}, {hi:g}], got {value!r}", key)
        return float(value)

    def positive(self, key: str, default: Any = ..., *, hi: float = 1e9) -> float:
        value = self.number(key, default, hi=hi)
        if value <= 0:
            self.fail(f"must be positive, got {value!r}", key)
        return value

    def range(self, key: str, default: Any = ..., *, lo: float = 0.0, hi: float = 1e9):
        value = self.get(key, default)
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = [value, value]
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
            or not lo <= value[0] <= value[1] <= hi
        ):
            self.fail(
                f"must be [low, high] with {lo:g} <= low <= high <= {hi:g}, got {value!r}", key
            )
        return (float(value[0]), float(value[1]))

    def text(self, key: str, default: Any = ...) -> str:
        value = self.get(key, default)
        if not isinstance(value, str) or not value.strip():
            self.fail(f"must be a non-empty string, got {value!r}", key)
        return value

    def state_map(self, key: str, *, lo: float, hi: float) -> dict[str, float]:
        value = self.get(key)
        if not isinstance(value, dict) or not value:
            self.fail(f"must be an object mapping states {STATES} to numbers", key)
        out = {}
        for state, number in value.items():
            if state not in STATES:
                self.fail(f"has unknown state {state!r} (expected one of {STATES})", key)
            if isinstance(number, bool) or not isinstance(number, int | float):
                self.fail(f"[{state!r}] must be a number, got {number!r}", key)
            if not lo <= number <= hi:
                self.fail(f"[{state!r}] must be in [{lo:g}, {hi:g}], got {number!r}", key)
            out[state] = float(number)
        return out


def _clock_s(reader: _Reader, value: Any, what: str) -> int:
    """'HH:MM' -> seconds of day (24:00 allowed as the end of the day)."""
    try:
        hh, mm = str(value).split(":")
        h, m = int(hh), int(mm)
    except ValueError:
        h = m = -1
    if not (0 <= h <= 24 and 0 <= m < 60 and h * 60 + m <= 1440) or not isinstance(value, str):
        reader.fail(f"has a time {value!r} that is not HH:MM", what)
    return (h * 60 + m) * 60


def _schedule(reader: _Reader, key: str, raw: Any) -> tuple[tuple[int, str], ...]:
    if not isinstance(raw, list) or not raw:
        reader.fail("must be a non-empty list of [HH:MM, state] change points", key)
    points: list[tuple[int, str]] = []
    for item in raw:
        if not isinstance(item, list) or len(item) != 2:
            reader.fail(f"has an entry {item!r} that is not [HH:MM, state]", key)
        t = _clock_s(reader, item[0], key)
        if item[1] not in STATES:
            reader.fail(f"has unknown state {item[1]!r} (expected one of {STATES})", key)
        if t >= 86400:
            reader.fail(f"has a change point at {item[0]!r}; the last allowed is 23:59", key)
        if points and t <= points[-1][0]:
            reader.fail(f"change points must be in increasing time order ({item[0]!r})", key)
        points.append((t, item[1]))
    if points[0][0] != 0:
        reader.fail("must start at 00:00", key)
    return tuple(points)


def _day_map(
    reader: _Reader, named: frozenset[str] = frozenset()
) -> dict[str, tuple[tuple[int, str], ...]]:
    out = {}
    for key, raw in reader.raw.items():
        if key not in DAY_KEYS and key not in named:
            reader.fail(
                f"has unknown day key {key!r} (expected one of {DAY_KEYS}, "
                "or a schedule name that an exception uses)"
            )
        out[key] = _schedule(reader, key, raw)
    for name in DAY_NAMES:
        day = dt.date(2026, 1, 5) + dt.timedelta(days=DAY_NAMES.index(name))
        if not any(k in out for k in day_keys(day)):
            reader.fail(
                f"gives no schedule for {name!r} (add {name!r}, 'weekday'/'weekend' or 'all')"
            )
    return out


def _timing(reader: _Reader) -> Timing:
    if "anchor" in reader.raw:
        anchor = reader.text("anchor")
        if anchor not in ANCHORS:
            reader.fail(f"must be one of {tuple(ANCHORS)}, got {anchor!r}", "anchor")
        lo, hi = reader.range("offset_min", lo=-720, hi=720)
        return Timing(
            anchor=anchor,
            offset_s=(lo * 60, hi * 60),
            probability=reader.number("probability", 1.0, hi=1.0),
        )
    if "per_day" not in reader.raw:
        reader.fail("needs either 'anchor' or 'per_day' to say when it happens")
    per_day_raw = reader.get("per_day")
    if isinstance(per_day_raw, int | float) and not isinstance(per_day_raw, bool):
        per_day_raw = {"all": per_day_raw}
    per_day = _Reader(reader.where, per_day_raw, f"{reader.path}.per_day")
    means = {}
    for key in per_day.raw:
        if key not in DAY_KEYS:
            per_day.fail(f"has unknown day key {key!r} (expected one of {DAY_KEYS})")
        means[key] = per_day.number(key, hi=1000)
    when = reader.get("when", ["active"])
    if not isinstance(when, list) or not when or any(s not in STATES for s in when):
        reader.fail(f"must be a non-empty list of states from {STATES}, got {when!r}", "when")
    windows = []
    for win in reader.get("windows", []):
        if not isinstance(win, list) or len(win) != 2:
            reader.fail(f"has a window {win!r} that is not [HH:MM, HH:MM]", "windows")
        a, b = _clock_s(reader, win[0], "windows"), _clock_s(reader, win[1], "windows")
        if b <= a:
            reader.fail(f"has a window {win!r} that ends before it starts", "windows")
        windows.append((a, b))
    return Timing(per_day=means, when=tuple(when), windows_s=tuple(windows))


def parse_profile(raw: Any, where: str = "<data>") -> Profile:
    """Validate a profile's JSON value; raise :class:`ProfileError` naming the bad field."""
    top = _Reader(where, raw)
    pid = top.text("id")
    try:
        validate_household_id(pid)
    except DatasetError as err:
        top.fail(f"is not a valid household id: {err}", "id")
    timezone = top.get("timezone", None)
    if timezone is not None:
        try:
            validate_timezone(timezone)
        except DatasetError as err:
            top.fail(str(err), "timezone")

    site = DEFAULT_SITE
    site_r = top.child("site", optional=True)
    if site_r is not None:
        climate = DEFAULT_SITE.climate
        clim_r = site_r.child("climate", optional=True)
        if clim_r is not None:
            d = DEFAULT_SITE.climate
            climate = Climate(
                annual_mean_c=clim_r.number("annual_mean_c", d.annual_mean_c, lo=-40, hi=45),
                seasonal_amplitude_c=clim_r.number(
                    "seasonal_amplitude_c", d.seasonal_amplitude_c, hi=30
                ),
                warmest_day_of_year=clim_r.number(
                    "warmest_day_of_year", d.warmest_day_of_year, lo=1, hi=366
                ),
                diurnal_swing_c=clim_r.number("diurnal_swing_c", d.diurnal_swing_c, hi=30),
                day_to_day_sd_c=clim_r.number("day_to_day_sd_c", d.day_to_day_sd_c, hi=10),
                day_to_day_persistence=clim_r.number(
                    "day_to_day_persistence", d.day_to_day_persistence, hi=0.99
                ),
            )
        site = Site(
            latitude_deg=site_r.number("latitude_deg", DEFAULT_SITE.latitude_deg, lo=-66, hi=66),
            longitude_deg=site_r.number(
                "longitude_deg", DEFAULT_SITE.longitude_deg, lo=-180, hi=180
            ),
            climate=climate,
        )

    occ = top.child("occupancy")
    assert occ is not None
    jitter_s = occ.number("jitter_min", 0, hi=120) * 60
    sched_r = occ.child("schedules")
    assert sched_r is not None
    roster_r = occ.child("roster", optional=True)
    schedules: dict[str, dict[str, tuple[tuple[int, str], ...]]] = {}
    anchor = None
    weeks: tuple[str, ...] = ()
    # Schedules that exceptions name ("use": "outing") may sit beside the day keys.
    exc_list = occ.get("exceptions", [])
    named = frozenset(
        e["use"]
        for e in (exc_list if isinstance(exc_list, list) else [])
        if isinstance(e, dict) and isinstance(e.get("use"), str)
    )
    if roster_r is None:
        schedules[""] = _day_map(sched_r, named)
    else:
        try:
            anchor = dt.date.fromisoformat(roster_r.text("anchor"))
        except ValueError:
            roster_r.fail(f"must be a date YYYY-MM-DD, got {roster_r.get('anchor')!r}", "anchor")
        weeks_raw = roster_r.get("weeks")
        if not isinstance(weeks_raw, list) or not weeks_raw:
            roster_r.fail("must be a non-empty list of week names", "weeks")
        weeks = tuple(str(w) for w in weeks_raw)
        for week in dict.fromkeys(weeks):
            week_r = sched_r.child(week)
            assert week_r is not None
            schedules[week] = _day_map(week_r, named)

    ac_r = top.child("ac")
    assert ac_r is not None
    ac = AcSpec(
        rated_kw=ac_r.positive("rated_kw", hi=50),
        fan_kw=ac_r.number("fan_kw", 0.0, hi=5),
        setpoint_c=ac_r.number("setpoint_c", lo=10, hi=35),
        deadband_c=ac_r.positive("deadband_c", hi=10),
        cooling_c_per_min=ac_r.positive("cooling_c_per_min", hi=10),
        leak_per_min=ac_r.positive("leak_per_min", hi=1),
        internal_gain_c_per_min=ac_r.state_map("internal_gain_c_per_min", lo=0, hi=5),
        comfort_c=ac_r.state_map("comfort_c", lo=-50, hi=60),
        comfort_sd_c=ac_r.number("comfort_sd_c", 1.0, hi=10),
    )

    gy_r = top.child("geyser")
    assert gy_r is not None
    draws = []
    draws_raw = gy_r.get("draws", [])
    if not isinstance(draws_raw, list):
        gy_r.fail("must be a list", "draws")
    for i, raw_draw in enumerate(draws_raw):
        dr = _Reader(where, raw_draw, f"geyser.draws[{i}]")
        draws.append(
            Draw(
                name=dr.text("name", f"draw {i}"),
                timing=_timing(dr),
                energy_kwh=dr.range("energy_kwh", hi=100),
            )
        )
    geyser = GeyserSpec(
        rated_kw=gy_r.positive("rated_kw", hi=50),
        tank_l=gy_r.positive("tank_l", hi=5000),
        deadband_c=gy_r.positive("deadband_c", hi=30),
        standby_loss_kw=gy_r.positive("standby_loss_kw", hi=5),
        draws=tuple(draws),
    )

    base_r = top.child("base")
    assert base_r is not None
    fridge_r = base_r.child("fridge")
    assert fridge_r is not None
    on_lo, on_hi = fridge_r.range("on_min", hi=600)
    off_lo, off_hi = fridge_r.range("off_min", hi=600)
    if on_lo <= 0 or off_lo <= 0:
        fridge_r.fail("on_min and off_min must be positive")
    base = BaseSpec(
        standby_kw=base_r.number("standby_kw", lo=0.02, hi=50),  # above the meter ripple
        fridge_kw=fridge_r.number("rated_kw", hi=10),
        fridge_on_s=(on_lo * 60, on_hi * 60),
        fridge_off_s=(off_lo * 60, off_hi * 60),
    )

    light_r = top.child("lighting")
    assert light_r is not None
    lighting = LightingSpec(
        active_kw=light_r.range("active_kw", hi=50),
        asleep_kw=light_r.number("asleep_kw", 0.0, hi=50),
        daylight_fraction=light_r.number("daylight_fraction", 0.1, hi=1),
    )

    appliances = []
    app_raw = top.get("appliances", [])
    if not isinstance(app_raw, list):
        top.fail("must be a list", "appliances")
    for i, raw_app in enumerate(app_raw):
        ar = _Reader(where, raw_app, f"appliances[{i}]")
        phases_raw = ar.get("phases")
        if not isinstance(phases_raw, list) or not phases_raw:
            ar.fail("must be a non-empty list of {power_kw, duration_s}", "phases")
        phases = []
        for j, raw_phase in enumerate(phases_raw):
            pr = _Reader(where, raw_phase, f"appliances[{i}].phases[{j}]")
            lo, hi = pr.range("duration_s", hi=86400)
            if lo < 1:
                pr.fail(f"must be at least 1 s, got {lo!r}", "duration_s")
            phases.append(Phase(power_kw=pr.range("power_kw", hi=50), duration_s=(lo, hi)))
        appliances.append(
            ApplianceSpec(
                name=ar.text("name", f"appliance {i}"), phases=tuple(phases), timing=_timing(ar)
            )
        )

    exceptions = []
    exc_raw = occ.get("exceptions", [])
    if not isinstance(exc_raw, list):
        occ.fail("must be a list", "exceptions")
    for i, raw_exc in enumerate(exc_raw):
        er = _Reader(where, raw_exc, f"occupancy.exceptions[{i}]")
        days = er.get("days")
        if not isinstance(days, list) or not days or any(d not in DAY_KEYS for d in days):
            er.fail(f"must be a non-empty list of day keys from {DAY_KEYS}, got {days!r}", "days")
        use = er.text("use")
        if use != "away":
            for week, day_map in schedules.items():
                if not any(k in day_map for k in use_keys(use)):
                    where_week = f" in week {week!r}" if week else ""
                    er.fail(f"names {use!r}, which has no schedule{where_week}", "use")
        exceptions.append(
            DayException(
                name=er.text("name", f"exception {i}"),
                days=tuple(days),
                probability=er.number("probability", hi=1.0),
                use=use,
            )
        )
    for i, name in enumerate(DAY_NAMES):
        keys = day_keys(dt.date(2026, 1, 5) + dt.timedelta(days=i))
        total = sum(e.probability for e in exceptions if any(k in e.days for k in keys))
        if total > 1.0:
            occ.fail(f"exceptions for {name!r} have probabilities adding up to {total:g} > 1")

    return Profile(
        id=pid,
        name=top.text("name", pid),
        archetype=top.text("archetype", "custom"),
        description=str(top.get("description", "")),
        timezone=timezone,
        site=site,
        jitter_s=jitter_s,
        schedules=schedules,
        roster_anchor=anchor,
        roster_weeks=weeks,
        ac=ac,
        geyser=geyser,
        base=base,
        lighting=lighting,
        appliances=tuple(appliances),
        exceptions=tuple(exceptions),
    )


def load_profile(path: str | os.PathLike[str], *, source: str | None = None) -> Profile:
    """Read and validate one profile JSON file."""
    p = Path(path)
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ProfileError(f"profile file {str(p)!r} does not exist") from err
    except (OSError, UnicodeDecodeError) as err:
        raise ProfileError(f"cannot read profile file {str(p)!r}: {err}") from err
    except json.JSONDecodeError as err:
        raise ProfileError(f"profile {p.name}: not valid JSON: {err}") from err
    profile = parse_profile(raw, p.name)
    return _with_source(profile, source or str(p))


def _with_source(profile: Profile, source: str) -> Profile:
    return replace(profile, source=source)


def _profiles_in(directory: Path) -> dict[str, Profile]:
    if not directory.is_dir():
        raise ProfileError(f"profiles directory {str(directory)!r} does not exist")
    paths = sorted(directory.glob("*.json"))
    # Parsed profiles are reused while the files are unchanged (same names, sizes, mtimes).
    stamp = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in paths)
    return dict(_parse_dir(str(directory), stamp))


@functools.lru_cache(maxsize=16)
def _parse_dir(directory: str, stamp: tuple[tuple[str, int, int], ...]) -> dict[str, Profile]:
    out: dict[str, Profile] = {}
    for path, _, _ in stamp:
        profile = load_profile(path)
        if profile.id in out:
            raise ProfileError(
                f"profiles directory {directory!r} defines household {profile.id!r} twice"
            )
        out[profile.id] = profile
    return out


def builtin_profiles() -> dict[str, Profile]:
    """The profiles shipped in ``generator/profiles/`` (A, B, C), by id."""
    return {pid: _with_source(p, f"builtin:{pid}") for pid, p in _profiles_in(BUILTIN_DIR).items()}


def resolve_profiles(
    households: Iterable[str | Profile | os.PathLike[str]],
    profile_dirs: Sequence[str | os.PathLike[str]] = (),
) -> list[Profile]:
    """Profiles for ``households``: ids (built-in or from ``profile_dirs``), paths or profiles.

    Directories later in ``profile_dirs`` override earlier ones and the built-ins, so a user's
    own ``A.json`` replaces the shipped A.
    """
    known: dict[str, Profile] = builtin_profiles()
    for directory in profile_dirs:
        known.update(_profiles_in(Path(directory)))
    out: list[Profile] = []
    for item in households:
        if isinstance(item, Profile):
            profile = item
        elif isinstance(item, os.PathLike) or (
            isinstance(item, str) and (item.endswith(".json") or os.sep in item)
        ):
            profile = load_profile(item)
        elif isinstance(item, str) and item in known:
            profile = known[item]
        else:
            names = ", ".join(sorted(known)) or "none"
            raise ProfileError(
                f"unknown household {item!r}: no profile with that id (known: {names}); "
                "add a JSON profile with --profile PATH or --profiles-dir DIR"
            )
        if any(p.id == profile.id for p in out):
            raise ProfileError(f"household {profile.id!r} is asked for twice")
        out.append(profile)
    if not out:
        raise ProfileError("no households asked for")
    return out
