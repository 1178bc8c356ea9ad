"""The seeded weather model: season, day-night swing, day-to-day variation, daylight."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.testing import assert_allclose

from generator.weather import DEFAULT_SITE, Climate, Site, Weather

DAY_S = 86400


def epoch(date: str) -> int:
    return int(pd.Timestamp(date, tz="UTC").timestamp())


def test_seasons_and_day_night_swing():
    calm = Site(climate=Climate(day_to_day_sd_c=0.0))  # the season alone
    year = Weather(calm, 1, epoch("2026-01-01"), epoch("2027-01-01"))
    t = np.arange(epoch("2026-01-01"), epoch("2027-01-01"), 600, dtype=np.float64)
    temp = year.temp_c(t)
    months = pd.DatetimeIndex(pd.to_datetime(t, unit="s", utc=True)).month
    monthly = pd.Series(temp).groupby(months).mean()
    assert monthly.idxmax() in (5, 6) and monthly.idxmin() in (11, 12)  # half a year apart
    assert 6 < monthly.max() - monthly.min() < 10  # twice the 4 °C amplitude, give or take
    # Each day peaks mid-afternoon local solar time (~09:00 UTC at 80 °E) and bottoms at dawn.
    by_hour = pd.Series(temp).groupby(pd.to_datetime(t, unit="s", utc=True).hour).mean()
    assert by_hour.idxmax() in (8, 9, 10)
    assert by_hour.idxmin() in (20, 21, 22, 23)
    assert_allclose(by_hour.max() - by_hour.min(), DEFAULT_SITE.climate.diurnal_swing_c, rtol=0.15)


def test_day_to_day_variation_is_seeded_and_persistent():
    climate = Climate(day_to_day_sd_c=2.0, day_to_day_persistence=0.7, seasonal_amplitude_c=0.0)
    site = Site(climate=climate)
    w = Weather(site, 7, epoch("2026-01-01"), epoch("2028-01-01"))
    anomaly = w.day_mean_c - climate.annual_mean_c
    assert_allclose(anomaly.std(), 2.0, rtol=0.15)
    lag1 = np.corrcoef(anomaly[:-1], anomaly[1:])[0, 1]
    assert_allclose(lag1, 0.7, atol=0.08)
    # Same seed, same weather; another seed, other weather; overlapping spans agree.
    again = Weather(site, 7, epoch("2026-01-01"), epoch("2028-01-01"))
    assert_allclose(again.day_mean_c, w.day_mean_c)
    other = Weather(site, 8, epoch("2026-01-01"), epoch("2028-01-01"))
    assert np.abs(other.day_mean_c - w.day_mean_c).max() > 1.0
    later = Weather(site, 7, epoch("2026-06-01"), epoch("2026-07-01"))
    common, i, j = np.intersect1d(w.days, later.days, return_indices=True)
    assert len(common) >= 30
    assert_allclose(later.day_mean_c[j], w.day_mean_c[i], atol=1e-3)


def test_minute_table_matches_the_function():
    w = Weather(DEFAULT_SITE, 3, epoch("2026-03-01"), epoch("2026-03-08"))
    first, values = w.minute_temps()
    t = first + 60.0 * np.arange(len(values))
    assert_allclose(values, w.temp_c(t), atol=1e-9)


def test_daylight_follows_latitude_and_season():
    w = Weather(DEFAULT_SITE, 0, epoch("2026-01-01"), epoch("2027-01-01"))
    rise, set_ = w.daylight()
    hours = (set_ - rise) / 3600
    dates = pd.to_datetime(w.days * DAY_S, unit="s")
    june, december = hours[dates.month == 6].mean(), hours[dates.month == 12].mean()
    # About 12.9 h in June and 11.4 h in December at 13 °N.
    assert_allclose(june, 12.9, atol=0.3)
    assert_allclose(december, 11.4, atol=0.3)
    north = Weather(Site(latitude_deg=60.0), 0, epoch("2026-06-01"), epoch("2026-06-30"))
    r, s = north.daylight()
    assert ((s - r) / 3600).mean() > 18
