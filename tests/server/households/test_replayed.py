"""A replayed household's history (``GET …/readings`` of a demo household) is what its replay
publishes: checked against :class:`generator.replay.Meter`'s readings, second by second."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from generator.replay import Meter
from generator.times import parse_ts
from server.households.catalogue import Households
from server.households.replayed import ReplayedHistory


@pytest.fixture(scope="module")
def history(dataset_dir):  # noqa: ANN001, ANN201
    return ReplayedHistory(Households(dataset_dir.parent).replayable("A"))


@pytest.fixture(scope="module")
def meter(dataset):  # noqa: ANN001, ANN201
    return Meter(dataset, "A")


def published(meter: Meter, start_s: int, end_s: int) -> pd.DataFrame:
    """The replay's readings for ``[start_s, end_s)``, one row per second."""
    rows = [meter.reading_at(s)["power_kw"] for s in range(start_s, end_s)]
    index = pd.to_datetime(np.arange(start_s, end_s), unit="s", utc=True)
    return pd.DataFrame(rows, index=index, dtype="float64")


def expected(frame: pd.DataFrame, rule: str, zone: str = "UTC") -> pd.DataFrame:
    local = frame.tz_convert(zone) if rule == "1D" else frame
    grouped = local.resample(rule)
    return pd.concat(
        {
            "mean_kw": grouped.mean(),
            "min_kw": grouped.min(),
            "max_kw": grouped.max(),
            "count": grouped.count(),
        },
        axis=1,
    ).swaplevel(0, 1, axis=1)


# Kolkata (A's zone) 2026-11-30 09:58:30 local to 10:31:15: minutes, a quarter hour, an hour
START = int(datetime(2026, 11, 30, 4, 28, 30, tzinfo=UTC).timestamp())


@pytest.mark.parametrize(
    ("resolution", "rule", "span_s"),
    [("1m", "1min", 1965), ("15m", "15min", 3 * 3600), ("1h", "1h", 5 * 3600)],
)
def test_rollups_equal_the_replays_readings(history, meter, resolution, rule, span_s):  # noqa: ANN001
    got = history.query(START, START + span_s, resolution)
    # whole minutes, as the store's rollups: from the minute of START to the one before the end
    end = -(-(START + span_s) // 60) * 60
    want = expected(published(meter, START - START % 60, end), rule)
    want = want[want.xs("count", axis=1, level=1).sum(axis=1) > 0]
    assert list(got.index) == list(want.index)
    for channel in meter.channels:
        for stat in ("mean_kw", "min_kw", "max_kw", "count"):
            assert_allclose(
                got[(channel, stat)].to_numpy(float)
                if stat != "count"
                else got[(channel, stat)].fillna(0).to_numpy(float),
                want[(channel, stat)].to_numpy(float),
                rtol=1e-9,
                equal_nan=True,
            )


def test_days_start_at_local_midnight_and_span_the_dataset_days(history, meter):  # noqa: ANN001
    # three local days: each stands for a dataset day with its weekday (the fixture has two)
    start = int(datetime(2026, 12, 6, 18, 30, tzinfo=UTC).timestamp())  # Kolkata midnight
    got = history.query(start, start + 3 * 86_400, "1d")
    assert [t.tz_convert("Asia/Kolkata").hour for t in got.index] == [0] * len(got)
    for day in got.index:
        s = int(day.timestamp())
        want = published(meter, s, s + 86_400)
        for channel in meter.channels:
            assert got.loc[day, (channel, "count")] == want[channel].count()
            assert got.loc[day, (channel, "mean_kw")] == pytest.approx(want[channel].mean())


def test_raw_is_the_replays_readings(history, meter):  # noqa: ANN001
    got = history.query(START, START + 300, "raw")
    want = published(meter, START, START + 300)
    want = want[~want.isna().all(axis=1)]
    assert list(got.index) == list(want.index)
    assert_allclose(
        got[list(meter.channels)].to_numpy(), want[list(meter.channels)].to_numpy(), equal_nan=True
    )


def test_readings_route_serves_the_demo_replay_history(app, client, history):  # noqa: ANN001
    """In demo mode ``…/readings`` of a demo household is its replay's history, up to now."""
    app.config["DEMO"] = True
    url = "/api/v1/households/A/readings?resolution=1h&from={}&to={}"
    r = client.get(url.format(START, START + 5 * 3600))
    assert r.status_code == 200, r.get_json()
    rows = r.get_json()["readings"]
    want = history.query(START, START + 5 * 3600, "1h")
    assert [parse_ts(row["ts"]) for row in rows] == [int(t.timestamp()) for t in want.index]
    for row, (_, values) in zip(rows, want.iterrows(), strict=True):
        for channel in ("AC", "Geyser", "Overall"):
            assert row["power_kw"][channel] == pytest.approx(values[(channel, "mean_kw")], abs=1e-6)
    # the future is not served: the replay has not published it
    now = int(datetime.now(UTC).timestamp())
    r = client.get(url.format(now - 3 * 3600, now + 3 * 24 * 3600))
    assert r.status_code == 200
    assert all(parse_ts(row["ts"]) <= now for row in r.get_json()["readings"])
    assert len(r.get_json()["readings"]) in (3, 4)
    # outside demo mode nothing is replayed, and A is not open
    app.config["DEMO"] = False
    assert client.get(url.format(START, START + 3600)).status_code == 401


def test_ranges_the_replay_never_plays_are_empty(app, client, history):  # noqa: ANN001
    """Before 1970, far in the future (past pandas' clock), or still to come: no readings, never
    an error (the route itself refuses years before 1970 with a 400)."""
    assert history.query(-10 * 86_400, -86_400, "1d").empty
    assert history.query(80_000_000_000, 80_000_086_400, "1m").empty
    app.config["DEMO"] = True
    r = client.get("/api/v1/households/A/readings?to=4369-03-22T05:54:24.668Z&resolution=1m")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["readings"] == []
