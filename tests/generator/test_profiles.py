"""Household profiles: the built-ins, user profiles, and clear errors for bad ones."""

from __future__ import annotations

import copy
import datetime as dt
import json

import pytest

from generator.profile import BUILTIN_DIR, ProfileError
from generator.profile_loader import (
    builtin_profiles,
    load_profile,
    parse_profile,
    resolve_profiles,
)


@pytest.fixture
def raw_a():
    return json.loads((BUILTIN_DIR / "A.json").read_text())


@pytest.fixture
def plain_a(raw_a):
    """A without its exceptions and the schedules only they use."""
    occupancy = raw_a["occupancy"]
    for exc in occupancy.pop("exceptions"):
        occupancy["schedules"].pop(exc["use"], None)
    return raw_a


def test_builtin_profiles_are_a_b_c():
    profiles = builtin_profiles()
    assert sorted(profiles) == ["A", "B", "C"]
    a, b, c = profiles["A"], profiles["B"], profiles["C"]
    monday, saturday = dt.date(2026, 1, 5), dt.date(2026, 1, 10)
    # A: away about 08:30-18:00 on weekdays, home at weekends.
    assert (8 * 3600 + 1800, "away") in a.day_schedule(monday)
    assert all(state != "away" for _, state in profiles["A"].day_schedule(dt.date(2026, 1, 11)))
    # B: occupied 09:00-17:00 on weekdays, empty at weekends.
    assert b.day_schedule(monday) == ((0, "away"), (9 * 3600, "active"), (17 * 3600, "away"))
    assert b.day_schedule(saturday) == ((0, "away"),)
    # C: the roster alternates day and night weeks from its anchor Monday.
    assert [c.week_name(monday + dt.timedelta(weeks=w)) for w in range(4)] == [
        "day",
        "night",
        "day",
        "night",
    ]
    assert c.week_name(monday - dt.timedelta(days=1)) == "night"
    assert c.day_schedule(monday)[1] == (5 * 3600 + 45 * 60, "active")
    assert c.day_schedule(monday + dt.timedelta(weeks=1, days=1))[0] == (0, "away")


def test_user_profile_from_a_file_and_a_directory(tmp_path, raw_a):
    raw_a.update(id="D", name="Flat D")
    path = tmp_path / "D.json"
    path.write_text(json.dumps(raw_a))
    d = load_profile(path)
    assert d.id == "D" and d.source == str(path)
    got = resolve_profiles(["A", "D"], [tmp_path])
    assert [p.id for p in got] == ["A", "D"]
    assert [p.id for p in resolve_profiles([str(path)])] == ["D"]
    # A user's own A.json replaces the shipped one.
    raw_a.update(id="A", name="My A")
    (tmp_path / "D.json").unlink()
    (tmp_path / "A.json").write_text(json.dumps(raw_a))
    assert resolve_profiles(["A"], [tmp_path])[0].name == "My A"


def _break(raw, path, value):
    raw = copy.deepcopy(raw)
    node = raw
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return raw


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("id",), "bad id!", "id is not a valid household id"),
        (("ac",), KeyError, "ac is required"),
        (("ac", "rated_kw"), -1.5, r"ac.rated_kw must be a number in \[0, 50\], got -1.5"),
        (("ac", "rated_kw"), "big", "ac.rated_kw must be a number"),
        (("ac", "comfort_c"), {"dozing": 26}, "unknown state 'dozing'"),
        (
            ("occupancy", "schedules", "weekday", 1),
            ["25:00", "active"],
            "'25:00' that is not HH:MM",
        ),
        (("occupancy", "schedules", "weekday", 0), ["01:00", "asleep"], "must start at 00:00"),
        (("occupancy", "schedules", "weekday", 2), ["05:00", "away"], "increasing time order"),
        (("occupancy", "schedules", "weekday", 1), ["06:00", "cooking"], "unknown state 'cooking'"),
        (("occupancy", "schedules", "holiday"), [["00:00", "away"]], "unknown day key 'holiday'"),
        (("occupancy", "schedules", "weekday"), KeyError, "no schedule for 'mon'"),
        (("geyser", "draws", 0, "anchor"), "lunch", "must be one of"),
        (("geyser", "draws", 0, "energy_kwh"), [2, 1], r"must be \[low, high\]"),
        (("appliances", 0, "phases"), [], "phases must be a non-empty list"),
        (("appliances", 2, "windows"), [["10:00", "09:00"]], "ends before it starts"),
        (("base", "standby_kw"), 0.001, r"standby_kw must be a number in \[0.02, 50\]"),
        (("timezone",), "Atlantis/Capital", "unknown time zone 'Atlantis/Capital'"),
    ],
)
def test_invalid_profiles_name_the_bad_field(raw_a, path, value, message):
    with pytest.raises(ProfileError, match=message) as info:
        parse_profile(_break(raw_a, path, value), "A.json")
    assert str(info.value).startswith("profile A.json: ")


def test_unreadable_profile_files(tmp_path):
    with pytest.raises(ProfileError, match="does not exist"):
        load_profile(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ProfileError, match="bad.json: not valid JSON"):
        load_profile(bad)
    with pytest.raises(ProfileError, match="profiles directory .* does not exist"):
        resolve_profiles(["A"], [tmp_path / "nowhere"])
    with pytest.raises(ProfileError, match="no households asked for"):
        resolve_profiles([])


@pytest.mark.parametrize(
    ("exceptions", "message"),
    [
        ("nope", "occupancy.exceptions must be a list"),
        ([{"days": ["weekday"], "probability": 0.1, "use": "party"}], "names 'party'"),
        ([{"days": ["someday"], "probability": 0.1, "use": "away"}], "list of day keys"),
        ([{"days": ["sat"], "probability": 1.5, "use": "away"}], r"probability must be"),
        (
            [
                {"days": ["sat"], "probability": 0.6, "use": "away"},
                {"days": ["weekend"], "probability": 0.6, "use": "sun"},
            ],
            "adding up to 1.2 > 1",
        ),
    ],
)
def test_invalid_exceptions(plain_a, exceptions, message):
    with pytest.raises(ProfileError, match=message):
        parse_profile(_break(plain_a, ("occupancy", "exceptions"), exceptions), "A.json")


def test_named_schedule_needs_an_exception_that_uses_it(raw_a):
    raw = _break(raw_a, ("occupancy", "exceptions"), [])
    with pytest.raises(ProfileError, match="unknown day key 'wfh'"):
        parse_profile(raw, "A.json")


def test_exceptions_break_the_routine(plain_a):
    from generator.synth import generate

    plain_a["id"] = "E"
    plain_a["occupancy"]["exceptions"] = [
        {"name": "holiday", "days": ["weekday"], "probability": 1.0, "use": "away"}
    ]
    profile = parse_profile(plain_a, "E.json")
    monday = dt.date(2026, 4, 6)
    assert profile.day_schedule(monday, profile.exception_for(monday, 0.99).use) == ((0, "away"),)
    assert profile.exception_for(monday + dt.timedelta(days=5), 0.0) is None
    ds = generate(households=(profile,), days=7, seed=1, start="2026-04-06")
    loc = ds.table.index.tz_convert("Asia/Kolkata")
    # Away all week: no AC from Monday 04:00 to Friday night, only the weekend has it.
    weekday = (loc.day_of_week < 5) & ~((loc.day_of_week == 0) & (loc.hour < 4))
    assert (ds.table["E_AC"].to_numpy()[weekday] == 0).all()
    assert (ds.table["E_AC"].to_numpy()[loc.day_of_week >= 5] > 0).any()
