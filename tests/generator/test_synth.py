"""The synthetic household generator: schema, determinism, physics and occupancy shapes."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from generator.dataset import DatasetError
from generator.profile_loader import builtin_profiles
from generator.synth import CHANNELS, generate
from generator.weather import Weather

KOLKATA = "Asia/Kolkata"
WARM_MONDAY = "2026-04-06"  # week 13 of C's roster (anchored 2026-01-05): a night-shift week


@pytest.fixture(scope="module")
def fortnight():
    """A, B, C over two warm weeks (a night-shift week then a day-shift week for C)."""
    return generate(days=14, seed=11, start=WARM_MONDAY)


def local(ds, household="A"):
    return ds.table.index.tz_convert(ds.household(household).timezone)


def on_share(ds, column, mask, threshold_kw=0.5):
    return float((ds.table[column].to_numpy()[mask] > threshold_kw).mean())


def test_schema_and_metadata():
    ds = generate(days=1, seed=0, start="2026-01-05")
    assert list(ds.table.columns) == [f"{h}_{c}" for h in "ABC" for c in CHANNELS]
    assert all(dtype == np.float64 for dtype in ds.table.dtypes)
    assert ds.faulty is None and ds.faults is None
    for h in "ABC":
        info = ds.household(h)
        assert info.timezone == KOLKATA
        assert info.channels == CHANNELS
        assert info.resolution_s == 1
        assert info.source.startswith("synthetic")
        assert info.extra["seed"] == 0 and info.extra["start"] == "2026-01-05"
    assert ds.household("A").archetype == "day-worker"
    assert ds.household("B").archetype == "office"
    assert ds.household("C").archetype == "shift-worker"


def test_index_is_utc_at_one_second_from_local_midnight():
    ds = generate(households=("A",), days=2, seed=0, start="2026-01-05")
    idx = ds.table.index
    assert str(idx.tz) == "UTC" and idx.name == "ts"
    assert len(idx) == 2 * 86400
    # Local midnight in Kolkata (UTC+05:30) is 18:30 UTC the day before.
    assert idx[0] == pd.Timestamp("2026-01-04T18:30:00Z")
    steps = np.diff(idx.asi8)
    assert (steps == steps[0]).all()
    assert pd.Timedelta(int(steps[0]), unit=idx.unit) == pd.Timedelta(seconds=1)


def test_timezone_override_moves_start_and_occupancy():
    ds = generate(households=("B",), days=7, seed=2, start=WARM_MONDAY, timezone="Europe/Paris")
    assert ds.household("B").timezone == "Europe/Paris"
    assert ds.table.index[0] == pd.Timestamp("2026-04-05T22:00:00Z")  # CEST, UTC+2
    loc = ds.table.index.tz_convert("Europe/Paris")
    weekday = loc.day_of_week < 5
    # The office's loads besides AC (lights, computers) follow Paris office hours.
    busy = (ds.table["B_Overall"] - ds.table["B_AC"]).to_numpy() > 0.7
    hours = loc.hour
    assert busy[weekday & (hours >= 11) & (hours < 16)].mean() > 0.9
    assert busy[weekday & ((hours < 7) | (hours >= 19))].mean() < 0.05


def test_deterministic_for_a_seed():
    a = generate(days=2, seed=7, start="2026-03-02", fault_rate=0.01)
    b = generate(days=2, seed=7, start="2026-03-02", fault_rate=0.01)
    pd.testing.assert_frame_equal(a.table, b.table)
    pd.testing.assert_frame_equal(a.faulty, b.faulty)
    pd.testing.assert_frame_equal(a.faults, b.faults)
    assert a.fingerprint == b.fingerprint
    c = generate(days=2, seed=8, start="2026-03-02")
    assert not np.array_equal(a.table.to_numpy(), c.table.to_numpy())


def test_one_household_does_not_depend_on_the_others():
    alone = generate(households=("C",), days=2, seed=5)
    together = generate(households=("A", "B", "C"), days=2, seed=5)
    pd.testing.assert_frame_equal(alone.table, together.table[alone.table.columns])


def test_energy_balance_and_no_negative_clean_values(fortnight):
    values = fortnight.table.to_numpy()
    assert not np.isnan(values).any()
    assert (values >= 0).all()
    for h in "ABC":
        t = fortnight.table
        rest = t[f"{h}_Overall"] - t[f"{h}_AC"] - t[f"{h}_Geyser"]
        # Standby alone is tens of watts, so the rest is clearly positive every second.
        assert rest.min() > 0.02
        # Appliance channels are off (exactly 0) a good part of the time and have an "on" level.
        assert (t[f"{h}_Geyser"] == 0).mean() > 0.5
        assert t[f"{h}_Geyser"].max() > 0.9


def test_day_worker_rarely_cools_at_weekday_midday(fortnight):
    loc = local(fortnight)
    weekday_midday = (loc.day_of_week < 5) & (loc.hour >= 10) & (loc.hour < 16)
    weekday_evening = (loc.day_of_week < 5) & (loc.hour >= 19) & (loc.hour < 22)
    weekend_midday = (loc.day_of_week >= 5) & (loc.hour >= 12) & (loc.hour < 17)
    # Rare, not never: on an occasional day working from home the AC runs at midday too.
    assert on_share(fortnight, "A_AC", weekday_midday) < 0.2
    on = fortnight.table["A_AC"].to_numpy()[weekday_midday] > 0.5
    per_day = pd.Series(on).groupby(loc.date[weekday_midday]).mean()
    assert len(per_day) == 10
    assert (per_day > 0.05).sum() <= 3
    assert on_share(fortnight, "A_AC", weekday_evening) > 0.3
    weekend = on_share(fortnight, "A_AC", weekend_midday)
    assert weekend > 0.15 and weekend > 2 * on_share(fortnight, "A_AC", weekday_midday)


def test_office_cools_through_office_hours_and_idles_at_weekends(fortnight):
    loc = local(fortnight, "B")
    weekday = loc.day_of_week < 5
    office = weekday & (loc.hour >= 10) & (loc.hour < 17)
    night = weekday & ((loc.hour < 8) | (loc.hour >= 21))  # some days finish late
    assert on_share(fortnight, "B_AC", office) > 0.5
    assert on_share(fortnight, "B_AC", night) == 0.0
    weekend = fortnight.table[~weekday]
    assert (weekend["B_AC"] == 0).all()
    # Weekend: standby, fridge and the geyser's standby-loss top-ups only.
    assert weekend["B_Overall"].mean() < 0.35
    rest = weekend["B_Overall"] - weekend["B_Geyser"]
    assert rest.max() < 0.5
    # The geyser is rarely used: its weekday energy is small next to a home's.
    daily_kwh = fortnight.table[["A_Geyser", "B_Geyser"]].sum() / 3600 / 14
    assert daily_kwh["B_Geyser"] < 0.3 * daily_kwh["A_Geyser"]


def test_shift_worker_pattern_flips_with_the_roster(fortnight):
    loc = local(fortnight, "C")
    week = (loc.normalize() - pd.Timestamp(WARM_MONDAY, tz=KOLKATA)).days // 7
    tue_fri = (loc.day_of_week >= 1) & (loc.day_of_week <= 4)
    late_morning = tue_fri & (loc.hour >= 10) & (loc.hour < 14)
    small_hours = tue_fri & (loc.hour >= 1) & (loc.hour < 5)
    night_week, day_week = week == 0, week == 1
    profile = builtin_profiles()["C"]
    assert profile.week_name(pd.Timestamp(WARM_MONDAY).date()) == "night"
    # Night shifts: asleep at home through the late morning with the AC on, away at night.
    assert on_share(fortnight, "C_AC", late_morning & night_week) > 0.3
    assert on_share(fortnight, "C_AC", small_hours & night_week) == 0.0
    # Day shifts: away through the late morning.
    assert on_share(fortnight, "C_AC", late_morning & day_week) == 0.0
    other = (fortnight.table["C_Overall"] - fortnight.table["C_AC"]).to_numpy()
    assert other[small_hours & night_week].mean() < other[small_hours & day_week].mean() + 0.05


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def _hourly_duty(household: str, start: str, days: int, seed: int):
    """Compressor duty and mean outdoor temperature of every hour the AC was in session."""
    ds = generate(households=(household,), days=days, seed=seed, start=start)
    ac = ds.table[f"{household}_AC"].to_numpy()
    profile = builtin_profiles()[household]
    t_s = ds.table.index.as_unit("s").asi8
    weather = Weather(profile.site, seed, int(t_s[0]), int(t_s[-1]) + 1)
    hours = len(ac) // 3600
    by_hour = ac[: hours * 3600].reshape(hours, 3600)
    in_session = (by_hour > 0).all(axis=1)  # the indoor fan ran the whole hour
    duty = (by_hour > 0.5 * profile.ac.rated_kw).mean(axis=1)
    temp = weather.temp_c(t_s[: hours * 3600].reshape(hours, 3600).mean(axis=1))
    return duty[in_session], temp[in_session], ac, profile


def test_ac_duty_cycle_rises_with_outdoor_temperature():
    jan_duty, jan_temp, ac, profile = _hourly_duty("B", "2026-01-05", 14, 3)
    may_duty, may_temp, _, _ = _hourly_duty("B", "2026-05-04", 14, 3)
    assert may_temp.mean() > jan_temp.mean() + 3
    assert may_duty.mean() > jan_duty.mean() + 0.1
    duty, temp = np.concatenate((jan_duty, may_duty)), np.concatenate((jan_temp, may_temp))
    assert len(duty) > 100
    assert np.polyfit(temp, duty, 1)[0] > 0.02  # per °C
    hot, cool = temp > np.quantile(temp, 2 / 3), temp < np.quantile(temp, 1 / 3)
    assert duty[hot].mean() > duty[cool].mean() + 0.1
    # Compressor cycling (January: the AC keeps up): many on-runs, typically 5-60 minutes.
    starts, ends = _runs(ac > 0.5 * profile.ac.rated_kw)
    lengths_min = (ends - starts) / 60
    assert len(starts) > 10 * 3
    assert 5 < np.median(lengths_min) < 60


def test_geyser_recovers_after_draws_and_tops_up_standby_losses(fortnight):
    for h, rated_kw in (("A", 2.0), ("C", 2.0)):
        geyser = fortnight.table[f"{h}_Geyser"].to_numpy()
        starts, ends = _runs(geyser > 0.5 * rated_kw)
        lengths_min = (ends - starts) / 60
        assert (lengths_min < 8).sum() >= 14  # standby top-ups, several a day
        assert (lengths_min > 12).sum() >= 10  # recoveries after showers
        assert_allclose(np.median(geyser[geyser > 0]), rated_kw, rtol=0.05)


def test_weekday_and_weekend_days_differ_for_the_day_worker(fortnight):
    loc = local(fortnight)
    weekday = (loc.day_of_week < 5) & (loc.hour >= 10) & (loc.hour < 16)
    weekend = (loc.day_of_week >= 5) & (loc.hour >= 10) & (loc.hour < 16)
    t = fortnight.table
    other = (t["A_Overall"] - t["A_AC"] - t["A_Geyser"]).to_numpy()
    assert other[weekend].mean() > 1.3 * other[weekday].mean()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"days": 0}, "days must be between 1"),
        ({"days": -3}, "days must be between 1"),
        ({"days": 1.5}, "whole number of days"),
        ({"seed": -1}, "seed must be a non-negative integer"),
        ({"start": "2026-02-30"}, "invalid start date '2026-02-30'"),
        ({"timezone": "Nowhere/Land"}, "unknown time zone 'Nowhere/Land'"),
        ({"households": ("A", "Q")}, "unknown household 'Q'"),
        ({"households": ("A", "A")}, "household 'A' is asked for twice"),
        ({"fault_rate": 0.1, "faults_every_s": 10}, "not both"),
        ({"fault_rate": 2.0}, r"fault rate must be in \(0, 0.5\]"),
        ({"faults_every_s": 0}, "N >= 1"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(DatasetError, match=message):
        generate(**{"days": 1, **kwargs})


def test_generator_stays_pure():
    code = (
        "import sys, generator.synth, generator.synth_cli; "
        "bad = [m for m in ('flask', 'redis', 'paho', 'gevent') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
