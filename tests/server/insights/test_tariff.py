"""Tariffs: validation names the problem; flat, time-of-use and dynamic prices; costs."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from server.insights.errors import TariffError
from server.insights.tariff import (
    DynamicTariff,
    FlatTariff,
    Tariff,
    TimeOfUseTariff,
    default_tariff,
)


def tou(periods, **extra):
    return {
        "type": "tou",
        "currency": "EUR",
        "timezone": "Europe/Paris",
        "periods": periods,
        **extra,
    }


WEEKDAY_WEEKEND = [
    {"name": "night", "days": "weekday", "start": "23:00", "end": "07:00", "price_per_kwh": 0.15},
    {"name": "day", "days": "weekday", "start": "07:00", "end": "23:00", "price_per_kwh": 0.30},
    {"name": "weekend", "days": "weekend", "start": "00:00", "end": "24:00", "price_per_kwh": 0.10},
]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            tou(
                [
                    {
                        "name": "a",
                        "days": "weekday",
                        "start": "00:00",
                        "end": "07:30",
                        "price_per_kwh": 1,
                    },
                    {
                        "name": "b",
                        "days": "weekday",
                        "start": "07:00",
                        "end": "24:00",
                        "price_per_kwh": 2,
                    },
                    {
                        "name": "c",
                        "days": "weekend",
                        "start": "00:00",
                        "end": "24:00",
                        "price_per_kwh": 1,
                    },
                ]
            ),
            r"overlap at 07:00 on weekdays \('a' and 'b'\)",
        ),
        (
            tou(
                [
                    {
                        "name": "a",
                        "days": "all",
                        "start": "00:00",
                        "end": "07:00",
                        "price_per_kwh": 1,
                    },
                    {
                        "name": "b",
                        "days": "weekday",
                        "start": "07:00",
                        "end": "24:00",
                        "price_per_kwh": 2,
                    },
                    {
                        "name": "c",
                        "days": "weekend",
                        "start": "08:00",
                        "end": "24:00",
                        "price_per_kwh": 1,
                    },
                ]
            ),
            r"leave 07:00-08:00 uncovered on weekends",
        ),
        (
            tou([{"name": "n", "start": "00:00", "end": "24:00", "price_per_kwh": -1.5}]),
            r"negative price: price_per_kwh of period 'n' is -1.5",
        ),
        ({"type": "flat", "currency": "XYZ", "price_per_kwh": 0.2}, r"unknown currency 'XYZ'"),
        ({"type": "flat", "currency": "EUR", "price_per_kwh": -0.2}, r"negative price"),
        (
            {
                "type": "flat",
                "currency": "EUR",
                "price_per_kwh": 0.2,
                "standing_charge_per_day": -1,
            },
            r"negative price: standing_charge_per_day",
        ),
        ({"type": "flat", "currency": "EUR"}, r"lacks 'price_per_kwh'"),
        ({"type": "flat", "currency": "EUR", "price_per_kwh": "x"}, r"must be a finite number"),
        ({"type": "block", "currency": "EUR"}, r"unknown tariff type 'block'"),
        (tou([{"start": "7am", "end": "24:00", "price_per_kwh": 1}]), r"expected a time 'HH:MM'"),
        (
            tou([{"start": "00:00", "end": "24:00", "price_per_kwh": 1}], timezone="Mars/Base"),
            r"unknown time zone",
        ),
        ({"type": "tou", "currency": "EUR", "periods": WEEKDAY_WEEKEND}, r"needs a 'timezone'"),
        ({"type": "dynamic", "currency": "GBP", "prices": []}, r"non-empty list 'prices'"),
        (
            {
                "type": "dynamic",
                "currency": "GBP",
                "prices": [{"ts": "2026-01-01T00:30:00Z", "price_per_kwh": 1}],
            },
            r"not at the start of an hour",
        ),
        ([1, 2], r"must be a JSON object"),
    ],
)
def test_validation_names_the_problem(doc, message):
    with pytest.raises(TariffError, match=message):
        Tariff.from_json(doc)


def test_tariff_errors_are_value_errors():
    with pytest.raises(ValueError, match="unknown currency"):
        Tariff.from_json({"type": "flat", "currency": "eur1", "price_per_kwh": 1})


def test_currency_code_is_normalised_and_round_trips():
    tariff = Tariff.from_json(tou(WEEKDAY_WEEKEND, currency="eur", standing_charge_per_day=0.5))
    assert tariff.currency == "EUR"
    again = Tariff.from_json(tariff.to_json())
    assert again.to_json() == tariff.to_json()


def test_time_of_use_follows_local_time_across_dst_and_weekends():
    tariff = Tariff.from_json(tou(WEEKDAY_WEEKEND))
    # Friday 27 March 2026 07:30 in Paris is 06:30 UTC (CET); Monday 30 March (CEST) 05:30 UTC.
    assert tariff.price_at("2026-03-27T06:30:00Z") == 0.30
    assert tariff.price_at("2026-03-27T05:30:00Z") == 0.15  # 06:30 local
    assert tariff.price_at("2026-03-30T05:30:00Z") == 0.30  # 07:30 local after the change
    assert tariff.price_at("2026-03-30T04:30:00Z") == 0.15
    # Saturday and Sunday (the clocks change on Sunday 29 March) are weekend all day.
    assert tariff.price_at("2026-03-28T12:00:00Z") == 0.10
    assert tariff.price_at("2026-03-29T01:30:00Z") == 0.10
    # Sunday 22:00 UTC is Monday 00:00 CEST: weekday night.
    assert tariff.price_at("2026-03-29T22:00:00Z") == 0.15
    hours = pd.date_range("2026-03-29T00:00Z", periods=48, freq="h")
    prices = tariff.hourly_prices(hours)
    assert (prices[:22] == 0.10).all() and (prices[22:29] == 0.15).all()
    assert (prices[29:45] == 0.30).all()  # Monday 07:00-23:00 CEST = 05:00-21:00 UTC
    assert (prices[45:] == 0.15).all()


def test_hour_straddling_a_boundary_is_priced_in_proportion():
    tariff = default_tariff("Asia/Kolkata")
    # 12:00 UTC is 17:30-18:30 IST: half 'normal' (7.00), half 'evening peak' (8.40).
    assert_allclose(tariff.hourly_prices(pd.DatetimeIndex(["2026-04-06T12:00Z"])), [7.70])
    energy = pd.Series([2.0], index=pd.DatetimeIndex(["2026-04-06T12:00Z"]))
    assert_allclose(tariff.cost(energy), [15.4])
    by = {row["period"]: row for row in tariff.cost_by_period(energy)}
    assert by["normal"]["energy_kwh"] == 1.0 and by["evening peak"]["cost"] == 8.4


def test_default_tariff_is_documented_inr_tou_covering_every_day():
    tariff = default_tariff()
    assert isinstance(tariff, TimeOfUseTariff) and tariff.currency == "INR"
    hours = pd.date_range("2026-04-06", periods=24 * 7, freq="h", tz="UTC")
    prices = tariff.hourly_prices(hours)
    assert np.isfinite(prices).all() and prices.min() == 5.6 and prices.max() == 8.4
    for period in tariff.periods:
        assert f"{period.price_per_kwh:.2f}" in default_tariff.__doc__


def test_flat_cost_and_standing_charge():
    tariff = FlatTariff("GBP", 0.25, standing_charge_per_day=0.6)
    energy = pd.Series(
        [1.0, np.nan, 3.0], index=pd.date_range("2026-01-01", periods=3, freq="h", tz="UTC")
    )
    cost = tariff.cost(energy)
    assert_allclose(cost.to_numpy()[[0, 2]], [0.25, 0.75])
    assert np.isnan(cost.iloc[1])  # a missing hour costs nothing known, not zero
    assert tariff.standing_charge(30) == pytest.approx(18.0)
    assert tariff.cost_by_period(energy) == [{"period": "flat", "energy_kwh": 4.0, "cost": 1.0}]


def test_dynamic_from_csv_and_json_agree():
    csv = "ts,price_per_kwh\n2026-01-01T00:00:00Z,0.10\n2026-01-01T01:00:00Z,-0.02\n"
    from_csv = DynamicTariff.from_csv(io.StringIO(csv), "GBP")
    from_json = Tariff.from_json(
        {
            "type": "dynamic",
            "currency": "GBP",
            "prices": {"2026-01-01T00:00:00Z": 0.10, "2026-01-01T01:00:00Z": -0.02},
        }
    )
    hours = pd.date_range("2026-01-01", periods=3, freq="h", tz="UTC")
    for tariff in (from_csv, from_json):
        prices = tariff.hourly_prices(hours)
        assert_allclose(prices[:2], [0.10, -0.02])
        assert np.isnan(prices[2])  # no price known for that hour
    assert from_json.price_at("2026-01-01T01:59:00Z") == -0.02


def test_dynamic_csv_bad_row_is_named():
    csv = "ts,price_per_kwh\n2026-01-01T00:00:00Z,0.10\n2026-01-01T01:00:00Z,cheap\n"
    with pytest.raises(TariffError, match=r"row 3: price_per_kwh 'cheap' is not a number"):
        DynamicTariff.from_csv(io.StringIO(csv), "GBP")
