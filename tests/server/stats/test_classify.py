"""classify: levels, legacy colours, worst, per-hour thresholds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from server.stats import (
    LEGACY_COLOURS,
    ChannelStats,
    HouseholdStats,
    StatsInputError,
    classify,
    worst,
)


def thresholds(p75: float, critical: float, **extra) -> ChannelStats:
    base = dict(
        p25_kw=0.0,
        median_kw=p75 / 2,
        p75_kw=p75,
        critical_kw=critical,
        empirical_p99_kw=critical,
        max_kw=critical,
        n_samples=100,
        method="test",
        distribution="empirical",
    )
    base.update(extra)
    return ChannelStats(**base)


def household(by_hour: bool = False, hours=None, day_hours=None) -> HouseholdStats:
    return HouseholdStats(
        interval_s=5,
        requested_interval_s=5,
        resolution_s=1,
        timezone="Asia/Kolkata",
        by_hour=by_hour,
        fingerprint="f00",
        channels={"AC": thresholds(1.0, 2.0), "Overall": thresholds(3.0, 6.0)},
        hours=hours or {},
        day_hours=day_hours or {},
        physical_max_kw={"AC": 100.0, "Overall": 100.0},
    )


def test_levels_of_a_frame():
    values = pd.DataFrame(
        {
            "AC": [np.nan, -0.1, 0.0, 0.5, 1.0, 1.5, 2.0, 150.0],
            "Overall": [0.0, 3.0, 3.1, 5.99, 6.0, 99.0, 100.0, 100.1],
        },
        index=pd.date_range("2026-06-01", periods=8, freq="5s", tz="UTC"),
    )
    levels = classify(household(), values)
    assert list(levels.columns) == ["AC", "Overall"]
    assert levels.index.equals(values.index)
    assert list(levels["AC"]) == [
        "critical",
        "critical",
        "green",
        "green",
        "green",  # equal to p75 is not above it
        "yellow",
        "red",  # at the critical value
        "critical",  # above the physical bound
    ]
    assert list(levels["Overall"]) == [
        "green",
        "green",
        "yellow",
        "yellow",
        "red",
        "red",
        "red",
        "critical",
    ]


def test_one_reading():
    stats = household()
    assert classify(stats, {"AC": 1.5, "Overall": None}) == {"AC": "yellow", "Overall": "critical"}
    assert classify(stats, {"AC": "bad"}) == {"AC": "critical"}
    with pytest.raises(StatsInputError, match="unknown channel 'Geyser'"):
        classify(stats, {"Geyser": 1.0})
    with pytest.raises(StatsInputError, match="DataFrame or a mapping"):
        classify(stats, [1.0, 2.0])


def test_per_hour_thresholds_in_local_time():
    # Hour 15 in Kolkata has its own tight thresholds; other hours fall back to the overall ones.
    stats = household(by_hour=True, hours={"AC": {15: thresholds(0.0, 0.05)}})
    at_3pm = pd.Timestamp("2026-06-01 09:30", tz="UTC")  # 15:00 IST
    at_9pm = pd.Timestamp("2026-06-01 15:30", tz="UTC")  # 21:00 IST
    assert classify(stats, {"AC": 1.5}, ts=at_3pm)["AC"] == "red"
    assert classify(stats, {"AC": 1.5}, ts=at_9pm)["AC"] == "yellow"
    assert classify(stats, {"AC": 0.5}, ts=at_9pm)["AC"] == "green"
    assert classify(stats, {"AC": 1.5})["AC"] == "yellow"  # no timestamp: overall thresholds
    frame = pd.DataFrame({"AC": [1.5, 1.5, 0.5]}, index=pd.DatetimeIndex([at_3pm, at_9pm, at_3pm]))
    assert list(classify(stats, frame)["AC"]) == ["red", "yellow", "red"]
    with pytest.raises(StatsInputError, match="2 timestamps for 3 values"):
        classify(stats, frame.reset_index(drop=True), ts=[at_3pm, at_9pm])


def test_legacy_colours_and_worst():
    assert LEGACY_COLOURS == {
        "green": "Green",
        "yellow": "Yellow",
        "red": "Red",
        "critical": "Critical Red",
    }
    assert worst(["green", "yellow"]) == "yellow"
    assert worst({"AC": "red", "Overall": "critical", "Geyser": "green"}) == "critical"
    assert worst([]) == "green"
    with pytest.raises(ValueError, match="unknown level 'purple'"):
        worst(["purple"])


def test_vectorised_on_a_day_of_seconds():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"AC": rng.uniform(-0.1, 2.5, 86_400), "Overall": rng.uniform(0, 8, 86_400)},
        index=pd.date_range("2026-06-01", periods=86_400, freq="1s", tz="UTC"),
    )
    levels = classify(household(), frame)
    ac = frame["AC"].to_numpy()
    expected = np.select(
        [ac < 0, ac >= 2.0, ac > 1.0], ["critical", "red", "yellow"], default="green"
    )
    assert (levels["AC"].to_numpy() == expected).all()


def test_one_reading_agrees_with_the_vectorised_path():
    stats = household(
        by_hour=True, hours={"AC": {15: thresholds(0.0, 0.05), 3: thresholds(0.5, 0.8)}}
    )
    rng = np.random.default_rng(7)
    index = pd.DatetimeIndex(
        pd.Timestamp("2026-06-01", tz="UTC")
        + pd.to_timedelta(np.sort(rng.choice(86_400, 300, replace=False)), "s")
    )
    values = rng.choice([np.nan, -0.5, 0.0, 0.03, 0.5, 0.9, 1.0, 1.5, 2.0, 3.0, 7.0, 101.0], 300)
    frame = pd.DataFrame({"AC": values, "Overall": values[::-1]}, index=index)
    levels = classify(stats, frame)
    for ts, row in frame.iterrows():
        one = classify(stats, {"AC": row["AC"], "Overall": row["Overall"]}, ts=ts)
        assert one == {"AC": levels.at[ts, "AC"], "Overall": levels.at[ts, "Overall"]}


def test_day_type_hours_come_first():
    stats = household(
        by_hour=True,
        hours={"AC": {15: thresholds(1.6, 1.8)}},
        day_hours={"weekday": {"AC": {15: thresholds(0.0, 0.05)}}},
    )
    wednesday_3pm = pd.Timestamp("2026-06-03 15:00", tz="Asia/Kolkata")
    saturday_3pm = pd.Timestamp("2026-06-06 15:00", tz="Asia/Kolkata")
    saturday_4pm = pd.Timestamp("2026-06-06 16:00", tz="Asia/Kolkata")
    assert classify(stats, {"AC": 1.5}, ts=wednesday_3pm)["AC"] == "red"  # weekday 15:00
    assert classify(stats, {"AC": 1.5}, ts=saturday_3pm)["AC"] == "green"  # 15:00, all days
    assert classify(stats, {"AC": 1.5}, ts=saturday_4pm)["AC"] == "yellow"  # overall
    frame = pd.DataFrame(
        {"AC": [1.5, 1.5, 1.5]},
        index=pd.DatetimeIndex([wednesday_3pm, saturday_3pm, saturday_4pm]).tz_convert("UTC"),
    )
    assert list(classify(stats, frame)["AC"]) == ["red", "green", "yellow"]
    body = stats.to_json()
    assert HouseholdStats.from_json(body).to_json() == body
    assert set(body["day_hours"]) == {"weekday", "weekend"}
