"""Features of Gridlight's hourly demand forecasts, known at the time a forecast is issued.

Hours are laid on the household's *local wall-clock* grid (UTC hours converted to its zone,
the repeated autumn hour averaged, the skipped spring hour missing), so that "the same hour
yesterday" is the same hour on the clock across daylight-saving changes. A target hour at grid
position ``p`` forecast from history that ends with the hour at ``p - lead - 1`` (``lead`` >= 0
hours between the last known hour and the target) gets:

* calendar: local hour, weekday, weekend; day of year (sine, cosine) only when the model saw a
  year of history (trees cannot extrapolate a season they never saw);
* recent levels: the last known hour, the means of the last 3 and 24 known hours, ``lead_h``;
* same-hour history: the latest known same hour (yesterday when ``lead`` < 24), the latest
  known same hour of the week, the means of the same hour over 7 and 28 days and of the
  same hour of the week over 4 weeks, and the same hour's median over 28 days (which a week
  away or a party moves less than the mean), each ending at the latest known day;
* recent deviations: the mean over the last 3 and 24 known hours of each hour's difference from
  its own 28-day same-hour mean (``dev3_kw``, ``dev24_kw``): a home away, or full, for days;
* temperature [°C] at the target hour and over its day, when the household has it.

Every lag reads only grid positions <= ``p - lead - 1``, so a forecast never sees its future.
Missing hours stay NaN (gradient boosting handles them).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

__all__ = ["BASE_FEATURES", "HourGrid", "feature_names", "same_hour_means", "same_hour_medians"]

BASE_FEATURES = (
    "hour",
    "weekday",
    "weekend",
    "lead_h",
    "last_kw",
    "last3_kw",
    "last24_kw",
    "same_hour_kw",
    "same_hour_week_kw",
    "mean7_kw",
    "mean28_kw",
    "mean4w_kw",
    "dev3_kw",
    "dev24_kw",
    "median28_kw",
)
SEASON_FEATURES = ("doy_sin", "doy_cos")
TEMP_FEATURES = ("temp_c", "temp_day_c")


def feature_names(season: bool, temperature: bool) -> list[str]:
    return (
        list(BASE_FEATURES)
        + (list(SEASON_FEATURES) if season else [])
        + (list(TEMP_FEATURES) if temperature else [])
    )


def _nanmean_stack(arrays: list[np.ndarray]) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)  # all-NaN slices are NaN
        return np.nanmean(np.vstack(arrays), axis=0)


def _shift(values: np.ndarray, k: int) -> np.ndarray:
    """``out[p] = values[p - k]`` (NaN before the start)."""
    out = np.full(len(values), np.nan)
    if k < len(values):
        out[k:] = values[: len(values) - k]
    return out


def same_hour_means(values: np.ndarray, step: int, count: int) -> np.ndarray:
    """``out[p]`` = mean of ``values[p], values[p - step], ... `` (``count`` terms, NaN skipped)."""
    return _nanmean_stack([_shift(values, step * j) for j in range(count)])


def same_hour_medians(values: np.ndarray, step: int, count: int) -> np.ndarray:
    """As :func:`same_hour_means`, the median instead of the mean."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)  # all-NaN slices are NaN
        return np.nanmedian(np.vstack([_shift(values, step * j) for j in range(count)]), axis=0)


class HourGrid:
    """An hourly series on a household's local wall-clock grid, extended with NaN as needed.

    ``HourGrid(hourly_kw, timezone)`` takes mean power per UTC hour [kW] (regular index, NaN for
    unknown hours). ``positions(utc_hours)`` maps UTC hour starts to grid positions.
    """

    def __init__(self, hourly_kw: pd.Series, timezone: str, extend_to: int = 0) -> None:
        self.timezone = timezone
        local = hourly_kw.index.tz_convert(timezone).tz_localize(None)
        by_local = pd.Series(hourly_kw.to_numpy(dtype="float64"), index=local)
        by_local = by_local.groupby(level=0).mean()  # the repeated autumn hour
        self.origin = by_local.index[0] if len(by_local) else pd.Timestamp(0)
        pos = self._pos(by_local.index)
        n = int(pos[-1]) + 1 if len(pos) else 0
        self.last = n - 1  # position of the last known (complete) hour
        self.values = np.full(max(n, extend_to), np.nan)
        self.values[pos] = by_local.to_numpy()
        self._derived: dict[str, np.ndarray] = {}

    def _pos(self, naive: pd.DatetimeIndex) -> np.ndarray:
        return np.floor((naive - self.origin) / pd.Timedelta(hours=1)).to_numpy().astype(np.int64)

    def positions(self, utc_hours: pd.DatetimeIndex) -> np.ndarray:
        return self._pos(utc_hours.tz_convert(self.timezone).tz_localize(None))

    def extend(self, n: int) -> None:
        if n > len(self.values):
            self.values = np.concatenate([self.values, np.full(n - len(self.values), np.nan)])
            self._derived.clear()

    def derived(self, name: str) -> np.ndarray:
        """Rolling series over the grid, computed once: ``r3``, ``r24``, ``s7``, ``s28``,
        ``m28`` (median), ``w4``, ``a3``, ``a24``, ``anomaly``."""
        if name not in self._derived:
            v = self.values
            make = {
                "r3": lambda: same_hour_means(v, 1, 3),
                "r24": lambda: same_hour_means(v, 1, 24),
                "s7": lambda: same_hour_means(v, 24, 7),
                "s28": lambda: same_hour_means(v, 24, 28),
                "m28": lambda: same_hour_medians(v, 24, 28),
                "w4": lambda: same_hour_means(v, 168, 4),
                "a3": lambda: same_hour_means(self.derived("anomaly"), 1, 3),
                "a24": lambda: same_hour_means(self.derived("anomaly"), 1, 24),
                "anomaly": lambda: v - _shift(self.derived("s28"), 24),
            }[name]
            self._derived[name] = make()
        return self._derived[name]

    def _at(self, series: np.ndarray, pos: np.ndarray) -> np.ndarray:
        ok = (pos >= 0) & (pos < len(series))
        out = np.full(len(pos), np.nan)
        out[ok] = series[pos[ok]]
        return out

    def features(
        self,
        target_utc: pd.DatetimeIndex,
        lead_h: np.ndarray,
        *,
        season: bool,
        temp_c: np.ndarray | None = None,
        temp_day_c: np.ndarray | None = None,
    ) -> np.ndarray:
        """The feature matrix (rows = targets, columns = :func:`feature_names`)."""
        p = self.positions(target_utc)
        self.extend(int(p.max()) + 1 if len(p) else 0)
        lead = np.asarray(lead_h, dtype=np.int64)
        cut = p - lead - 1  # last grid position the forecast may read
        day_back = np.maximum(1, -(-(lead + 1) // 24))  # ceil((lead + 1) / 24)
        week_back = np.maximum(1, -(-(lead + 1) // 168))
        day_pos, week_pos = p - 24 * day_back, p - 168 * week_back
        local = target_utc.tz_convert(self.timezone)
        cols = [
            np.asarray(local.hour + local.minute / 60.0, dtype="float64"),
            np.asarray(local.day_of_week, dtype="float64"),
            np.asarray(local.day_of_week >= 5, dtype="float64"),
            lead.astype("float64"),
            self._at(self.values, cut),
            self._at(self.derived("r3"), cut),
            self._at(self.derived("r24"), cut),
            self._at(self.values, day_pos),
            self._at(self.values, week_pos),
            self._at(self.derived("s7"), day_pos),
            self._at(self.derived("s28"), day_pos),
            self._at(self.derived("w4"), week_pos),
            self._at(self.derived("a3"), cut),
            self._at(self.derived("a24"), cut),
            self._at(self.derived("m28"), day_pos),
        ]
        if season:
            angle = 2 * np.pi * np.asarray(local.day_of_year, dtype="float64") / 365.25
            cols += [np.sin(angle), np.cos(angle)]
        if temp_c is not None:
            cols += [np.asarray(temp_c, dtype="float64"), np.asarray(temp_day_c, dtype="float64")]
        return np.column_stack(cols)
