"""A seeded outdoor-temperature and daylight model for a site.

Temperature [°C] at a moment is the day's mean plus half the day's swing on a cosine that peaks
at 14:30 local *solar* time (so it does not depend on the household's clock zone). The day's
mean follows the season (a cosine over the year peaking on ``warmest_day_of_year``) plus a
day-to-day anomaly: an AR(1) series with standard deviation ``day_to_day_sd_c`` and lag-one
correlation ``day_to_day_persistence``, drawn from the seed. Day means are interpolated
linearly between solar noons, so the curve has no steps at midnight.

Sunrise and sunset come from the usual declination / hour-angle formulas (refraction
included, the equation of time ignored: a few minutes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["DEFAULT_SITE", "Climate", "Site", "Weather"]

DAY_S = 86400


@dataclass(frozen=True)
class Climate:
    """Parameters of a site's temperature. [°C] unless named otherwise."""

    annual_mean_c: float = 28.5
    seasonal_amplitude_c: float = 4.0
    warmest_day_of_year: float = 140.0
    diurnal_swing_c: float = 8.0
    day_to_day_sd_c: float = 1.3
    day_to_day_persistence: float = 0.7


@dataclass(frozen=True)
class Site:
    """Where a household is: latitude/longitude [degrees] and its climate."""

    latitude_deg: float = 13.08
    longitude_deg: float = 80.27
    climate: Climate = Climate()


# A warm, humid coastal city on Indian Standard Time (Chennai-like: January days about 21-29 °C,
# May days about 29-37 °C).
DEFAULT_SITE = Site()


class Weather:
    """Outdoor temperature and daylight for a site over a span of UTC epoch seconds.

    ``Weather(site, seed, t0_s, t1_s)`` covers ``[t0_s, t1_s)``; the day-to-day anomaly is
    drawn per whole day (counted from the Unix epoch), so a seed gives (almost exactly) the same
    weather on the same dates whatever span is asked for around them.
    """

    def __init__(self, site: Site, seed: int, t0_s: int, t1_s: int) -> None:
        self.site = site
        clim = site.climate
        # Solar noon in UTC seconds of the day; solar day d runs around noon_s + d * DAY_S.
        self.noon_offset_s = DAY_S / 2 - site.longitude_deg / 360.0 * DAY_S
        self.day0 = int(math.floor((t0_s - self.noon_offset_s) / DAY_S)) - 1
        day1 = int(math.floor((t1_s - self.noon_offset_s) / DAY_S)) + 2
        days = np.arange(self.day0, day1 + 1)
        # AR(1) anomaly warmed up over 30 days; each day's innovation sits at its own position
        # (the absolute day) of a counter-based stream of the seed, so overlapping spans agree
        # (to phi**30 of the anomaly).
        warm = 30
        phi = clim.day_to_day_persistence
        innov = _day_normals(seed, self.day0 - warm, day1 + 1 - (self.day0 - warm)) * (
            clim.day_to_day_sd_c * math.sqrt(1 - phi**2)
        )
        anomaly = np.empty_like(innov)
        level = 0.0
        for i, e in enumerate(innov):
            level = phi * level + e
            anomaly[i] = level
        anomaly = anomaly[warm:]
        doy = _day_of_year(days)
        seasonal = clim.annual_mean_c + clim.seasonal_amplitude_c * np.cos(
            2 * np.pi * (doy - clim.warmest_day_of_year) / 365.25
        )
        self.day_mean_c = seasonal + anomaly
        # The swing is a little smaller on days warmer than the season (cloud, humidity).
        swing = clim.diurnal_swing_c * (1.0 - 0.04 * anomaly)
        self.day_swing_c = np.clip(swing, 0.3 * clim.diurnal_swing_c, None)
        self.days = days
        self._minutes: tuple[float, list[float]] | None = None

    def temp_c(self, t_s: np.ndarray) -> np.ndarray:
        """Outdoor temperature [°C] at UTC epoch seconds ``t_s``."""
        t = np.asarray(t_s, dtype=np.float64)
        noon_s = self.days * float(DAY_S) + self.noon_offset_s
        mean = np.interp(t, noon_s, self.day_mean_c)
        swing = np.interp(t, noon_s, self.day_swing_c)
        solar_h = ((t - self.noon_offset_s) / 3600.0 + 12.0) % 24.0
        return mean + 0.5 * swing * np.cos(2 * np.pi * (solar_h - 14.5) / 24.0)

    def minute_temps(self) -> tuple[float, list[float]]:
        """Temperature [°C] at every whole minute of the covered days: ``(first_s, values)``.

        Computed once per :class:`Weather` (it is shared by the households of a site).
        """
        if self._minutes is None:
            first = float(self.days[0] * DAY_S)
            n_min = len(self.days) * 1440
            grid = first + 60.0 * np.arange(n_min)
            noon_s = self.days * float(DAY_S) + self.noon_offset_s
            mean = np.interp(grid, noon_s, self.day_mean_c)
            swing = np.interp(grid, noon_s, self.day_swing_c)
            # The daily cosine repeats every 1440 minutes: compute one day of it and tile.
            solar_h = ((grid[:1440] - self.noon_offset_s) / 3600.0 + 12.0) % 24.0
            shape = np.tile(0.5 * np.cos(2 * np.pi * (solar_h - 14.5) / 24.0), len(self.days))
            self._minutes = (first, (mean + swing * shape).tolist())
        return self._minutes

    def daylight(self) -> tuple[np.ndarray, np.ndarray]:
        """Sunrise and sunset of every covered day as UTC epoch seconds."""
        lat = math.radians(self.site.latitude_deg)
        doy = _day_of_year(self.days)
        decl = np.radians(-23.44) * np.cos(2 * np.pi * (doy + 10) / 365.0)
        cos_h = (math.sin(math.radians(-0.833)) - math.sin(lat) * np.sin(decl)) / (
            math.cos(lat) * np.cos(decl)
        )
        half_day_s = np.degrees(np.arccos(np.clip(cos_h, -1.0, 1.0))) / 360.0 * DAY_S
        noon_s = self.days * float(DAY_S) + self.noon_offset_s
        return noon_s - half_day_s, noon_s + half_day_s


def _day_normals(seed: int, first_day: int, count: int) -> np.ndarray:
    """Standard normals for ``count`` days from ``first_day`` (days since 1970), by position."""
    key = [int(seed) % 2**64, (int(seed) // 2**64) % 2**64 ^ 0x5EA7]
    bits = np.random.Philox(key=key)
    bits.advance(first_day + 1_000_000)  # one counter step (4 draws) per day; >= 0 for any date
    raw = bits.random_raw(4 * count).reshape(count, 4)
    u1 = ((raw[:, 0] >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53
    u2 = (raw[:, 1] >> np.uint64(11)).astype(np.float64) * 2.0**-53
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)  # Box-Muller


def _day_of_year(epoch_days: np.ndarray) -> np.ndarray:
    dates = np.asarray(epoch_days, dtype="int64").astype("datetime64[D]")
    years = dates.astype("datetime64[Y]")
    return (dates - years).astype(np.int64) + 1
