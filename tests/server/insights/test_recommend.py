"""Recommendations: each detector fires on data made to trigger it, stays quiet otherwise, and
estimates its saving from the household's own data and tariff."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from server.insights.recommend import (
    EFFICIENT_BASELOAD_KW,
    MONTH_DAYS,
    recommendations,
    shift_savings,
)
from server.insights.tariff import FlatTariff, default_tariff

from .helpers import TZ, add_load, household, window

DAYS = 21
G = 713.0


def ids(frame, tariff=None):
    return {r["id"]: r for r in recommendations(frame, TZ, tariff or default_tariff(), G)}


@pytest.fixture(scope="module")
def quiet() -> pd.DataFrame:
    return household(days=DAYS, base_kw=0.08, seed=1)


def test_a_frugal_steady_home_gets_no_recommendation(quiet):
    assert ids(quiet) == {}


def test_baseload_fires_and_saves_the_excess_at_every_price(quiet):
    frame = quiet.copy()
    frame["Overall"] += 0.22  # always-on 0.30 kW
    rec = ids(frame)["baseload"]
    assert rec["evidence"]["baseload_kw"] == pytest.approx(0.30, abs=0.02)
    excess = rec["evidence"]["baseload_kw"] - EFFICIENT_BASELOAD_KW
    saving = rec["saving_per_month"]
    assert saving["energy_kwh"] == pytest.approx(excess * 24 * MONTH_DAYS, rel=0.01)
    mean_price = (
        default_tariff()
        .hourly_prices(pd.date_range("2026-04-06", periods=24, freq="h", tz="UTC"))
        .mean()
    )
    assert saving["money"] == pytest.approx(excess * 24 * MONTH_DAYS * mean_price, rel=0.01)
    assert saving["co2_kg"] == pytest.approx(saving["energy_kwh"] * G / 1000, rel=1e-3)


def test_empty_home_fires_for_ac_running_while_everyone_is_out(quiet):
    ac = window(quiet.index, 10, 16, days="weekday")
    frame = add_load(quiet, "AC", 1.0, ac)
    rec = ids(frame)["empty-home"]
    weekdays = 15  # in the 21 days from a Monday
    assert rec["saving_per_month"]["energy_kwh"] == pytest.approx(
        6 * weekdays / DAYS * MONTH_DAYS, rel=0.1
    )
    window_ = rec["action"]["window"]
    assert rec["action"]["channel"] == "AC" and window_["days"] == "weekday"
    assert window_["start"] <= "10:00" and window_["end"] >= "16:00"
    # The same AC in the evening, when the home is in use, is not flagged.
    evening = add_load(quiet, "AC", 1.0, window(quiet.index, 19, 22))
    assert "empty-home" not in ids(evening)


def test_water_heating_in_dear_hours_moves_to_cheap_ones(quiet):
    frame = add_load(quiet, "Geyser", 2.0, window(quiet.index, 7, 8))  # morning peak, 8.40
    rec = ids(frame)["shift-water-heating"]
    # 2 kWh a day priced 8.40 could be heated at the night rate 6.30 in the hours before.
    assert rec["saving_per_month"]["money"] == pytest.approx(
        2.0 * (8.40 - 6.30) * MONTH_DAYS, rel=0.03
    )
    assert rec["saving_per_month"]["energy_kwh"] == 0.0
    action = rec["action"]
    assert action["type"] == "schedule" and action["channel"] == "Geyser"
    assert "04:00" <= action["window"]["start"] <= "06:00"
    # Heated in the cheapest hours already: nothing to gain, nothing said.
    solar = add_load(quiet, "Geyser", 2.0, window(quiet.index, 13, 14))
    assert "shift-water-heating" not in ids(solar)
    # A flat tariff gives nothing to move for either.
    assert "shift-water-heating" not in ids(frame, FlatTariff("INR", 7.0))


def test_peak_hour_use_fires_on_heavy_days_and_uses_the_tariff(quiet):
    rng = np.random.default_rng(4)
    heavy_day = np.repeat(rng.random(DAYS) < 0.6, 1440)
    frame = add_load(quiet, "Overall", 1.5, window(quiet.index, 19, 21) & heavy_day)
    rec = ids(frame)["peak-hours"]
    evidence = rec["evidence"]
    movable = evidence["peak_kwh_per_day"] - evidence["light_day_peak_kwh"]
    spread = evidence["peak_price"] - evidence["off_peak_price"]
    assert movable > 1.0 and spread > 1.5
    assert rec["saving_per_month"]["money"] == pytest.approx(
        movable * spread * MONTH_DAYS, rel=0.01
    )
    assert "peak-hours" not in ids(frame, FlatTariff("INR", 7.0))


def test_repeated_spikes_fire(quiet):
    spike = window(quiet.index, 7 + 10 / 60, 7 + 15 / 60)
    rec = ids(add_load(quiet, "Overall", 5.0, spike))["spikes"]
    assert rec["evidence"]["spikes"] == DAYS and rec["evidence"]["most_common_hour"] == "07:00"
    assert rec["evidence"]["threshold_kw"] < 5.0
    assert rec["saving_per_month"]["money"] > 0  # 07:10 is in the morning peak


def test_ranked_by_money_saved(quiet):
    frame = quiet.copy()
    frame["Overall"] += 0.22
    frame = add_load(frame, "Geyser", 2.0, window(quiet.index, 7, 8))
    frame = add_load(frame, "AC", 1.0, window(quiet.index, 10, 16, days="weekday"))
    recs = recommendations(frame, TZ, default_tariff(), G)
    money = [r["saving_per_month"]["money"] for r in recs]
    assert len(recs) >= 3 and money == sorted(money, reverse=True)
    for r in recs:
        assert {
            "id",
            "title",
            "detail",
            "evidence",
            "saving_per_month",
            "confidence",
            "action",
        } <= set(r)


def test_without_a_tariff_money_is_null_and_energy_still_counts(quiet):
    frame = quiet.copy()
    frame["Overall"] += 0.22
    recs = recommendations(frame, TZ, None, None)
    assert [r["id"] for r in recs] == ["baseload"]
    assert (
        recs[0]["saving_per_month"]["money"] is None
        and recs[0]["saving_per_month"]["co2_kg"] is None
    )


def test_shift_savings_uses_the_cheapest_earlier_hour():
    prices = np.array([5.0, 9.0, 6.0, 9.0, 9.0])
    saved, offset = shift_savings(np.array([1.0, 1.0, 1.0, 2.0, 0.0]), prices, lookback_h=2)
    np.testing.assert_allclose(saved, [0.0, 4.0, 1.0, 6.0, 0.0])
    assert list(offset) == [0, 1, 2, 1, 2]
