"""The history of a replayed household: what the replay publishes at each wall-clock second.

The demo's households are not metered: a replay (:mod:`generator.replay`) plays, at every
second of the wall clock, the reading its dataset holds for the same local second of a day with
the same weekday. Nothing of it is stored, yet a dashboard or a script asking for the last week of
household A expects what the stream showed. :class:`ReplayedHistory` answers
``GET …/readings`` for those households with exactly that: the table the replay plays (the faulty
one, as the stream does) read through the replay's own calendar, in the shape of
:meth:`server.storage.readings.ReadingStore.query`.

A replay maps each local day onto one contiguous day of the dataset, so the per-minute
statistics of each dataset day are computed once (a few ms each, a fortnight's demo holds 14)
and every query, a year at daily resolution included, gathers and sums minutes.
"""

from __future__ import annotations

import threading
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from generator.replay import ReplayCalendar
from server.households.catalogue import Replayable
from server.storage import RESOLUTIONS

__all__ = ["ReplayedHistory"]

DAY_S = 86_400
STATS = ("mean_kw", "min_kw", "max_kw", "count")
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
#: The last second a query reaches (2200-01-01, well inside pandas' nanosecond clock).
LAST_S = 7_258_118_400


class ReplayedHistory:
    """History of one replayed household (thread-safe; the day statistics are cached)."""

    def __init__(self, table: Replayable) -> None:
        self.table = table
        self.channels = tuple(table.info.channels)
        self.zone = ZoneInfo(table.info.timezone)
        self.calendar = ReplayCalendar(table.start_s, table.span_s, self.zone)
        self._days: dict[int, tuple[np.ndarray, ...]] = {}
        self._lock = threading.Lock()

    # -- the dataset, by second and by minute -------------------------------------------------
    def _values(self, index: np.ndarray) -> np.ndarray:
        """Readings at dataset seconds ``index`` (rows × channels), NaN outside the table."""
        if not len(self.table.values):
            return np.full((len(index), len(self.channels)), np.nan)
        inside = (index >= 0) & (index < self.table.span_s)
        out = self.table.values[np.where(inside, index // self.table.resolution_s, 0)]  # a copy
        out[~inside] = np.nan
        return out

    def _day(self, offset_s: int) -> tuple[np.ndarray, ...]:
        """``(sum, min, max, count)`` per minute of the dataset day starting at ``offset_s``
        (each 1,440 × channels; min/max NaN where nothing is valid)."""
        found = self._days.get(offset_s)
        if found is None:
            values = self._values(offset_s + np.arange(DAY_S)).reshape(1440, 60, -1)
            valid = ~np.isnan(values)
            count = valid.sum(axis=1)
            total = np.where(valid, values, 0.0).sum(axis=1)
            low = np.fmin.reduce(values, axis=1)  # NaN only where the minute has nothing
            high = np.fmax.reduce(values, axis=1)
            found = (total, low, high, count)
            with self._lock:
                if len(self._days) > 512:
                    self._days.clear()
                self._days[offset_s] = found
        return found

    def _local(self, seconds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(day, second_of_day)`` of epoch ``seconds`` on the household's wall clock (``day``
        counted from 1970-01-01)."""
        wall = pd.DatetimeIndex(seconds * 1_000_000_000, tz="UTC").tz_convert(self.zone)
        wall_s = wall.tz_localize(None).asi8 // 1_000_000_000
        return wall_s // DAY_S, wall_s % DAY_S

    def _per_day(self, days: np.ndarray, fn) -> np.ndarray:  # noqa: ANN001
        """``fn(date)`` for each local day number in ``days``, computed once per distinct day."""
        unique, inverse = np.unique(days, return_inverse=True)
        values = [fn(date.fromordinal(int(d) + EPOCH_ORDINAL)) for d in unique]
        return np.asarray(values, dtype="int64")[inverse]

    def _midnight_utc_s(self, day: date) -> int:
        return int(datetime(day.year, day.month, day.day, tzinfo=self.zone).timestamp())

    # -- queries ------------------------------------------------------------------------------
    def query(self, start_s: int, end_s: int, resolution: str = "1m") -> pd.DataFrame:
        """What the replay published in ``[start_s, end_s)`` at ``resolution``, shaped as
        :meth:`~server.storage.readings.ReadingStore.query` (``1d`` buckets at local midnight;
        buckets with nothing valid absent)."""
        if resolution not in RESOLUTIONS:
            raise ValueError(f"resolution {resolution!r} is not one of {', '.join(RESOLUTIONS)}")
        if end_s <= start_s:
            raise ValueError(f"the range end {end_s} must be after its start {start_s}")
        # a replay plays from 1970 on, and pandas' clock ends in 2262
        start_s, end_s = max(int(start_s), 0), min(int(end_s), LAST_S)
        if end_s <= start_s:
            return _empty(self.channels)
        if resolution == "raw":
            return self._raw(int(start_s), int(end_s))
        first = int(start_s) - int(start_s) % 60
        minutes = np.arange(first, int(end_s), 60, dtype="int64")
        days, second_of_day = self._local(minutes)
        offsets = self._per_day(days, self.calendar.midnight_offset_s)
        minute_of_day = second_of_day // 60
        n, width = len(minutes), len(self.channels)
        total = np.zeros((n, width))
        low = np.full((n, width), np.nan)
        high = np.full((n, width), np.nan)
        count = np.zeros((n, width), dtype="int64")
        for offset in np.unique(offsets):
            rows = np.flatnonzero(offsets == offset)
            day = self._day(int(offset))
            at = minute_of_day[rows]
            total[rows], low[rows], high[rows], count[rows] = (part[at] for part in day)
        if resolution == "1d":
            buckets = self._per_day(days, self._midnight_utc_s)
        else:
            size = RESOLUTIONS[resolution]
            buckets = minutes - minutes % size
        return _frame(buckets, total, low, high, count, self.channels)

    def _raw(self, start_s: int, end_s: int) -> pd.DataFrame:
        seconds = np.arange(start_s, end_s, dtype="int64")
        days, second_of_day = self._local(seconds)
        index = self._per_day(days, self.calendar.midnight_offset_s) + second_of_day
        values = self._values(index)
        keep = ~np.isnan(values).all(axis=1)
        frame = pd.DataFrame(
            values[keep],
            index=pd.to_datetime(seconds[keep], unit="s", utc=True).rename("ts"),
            columns=list(self.channels),
        )
        return frame


def _frame(
    buckets: np.ndarray,
    total: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    count: np.ndarray,
    channels: tuple[str, ...],
) -> pd.DataFrame:
    """Minutes reduced into ascending ``buckets`` [epoch s], as the store's rollup frame."""
    if len(buckets) == 0:
        return _empty(channels)
    starts = np.concatenate([[0], np.flatnonzero(np.diff(buckets)) + 1])
    sums = np.add.reduceat(total, starts, axis=0)
    counts = np.add.reduceat(count, starts, axis=0)
    lows = np.fmin.reduceat(low, starts, axis=0)
    highs = np.fmax.reduceat(high, starts, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    index = pd.to_datetime(buckets[starts], unit="s", utc=True).rename("ts")
    columns = {}
    for i, channel in enumerate(channels):
        has = counts[:, i] > 0
        columns[(channel, "mean_kw")] = np.where(has, means[:, i], np.nan)
        columns[(channel, "min_kw")] = np.where(has, lows[:, i], np.nan)
        columns[(channel, "max_kw")] = np.where(has, highs[:, i], np.nan)
        columns[(channel, "count")] = np.where(has, counts[:, i], np.nan)
    frame = pd.DataFrame(columns, index=index)
    any_valid = counts.sum(axis=1) > 0
    frame = frame[any_valid]
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    return frame.sort_index(axis=1)


def _empty(channels: tuple[str, ...]) -> pd.DataFrame:
    columns = pd.MultiIndex.from_product([channels, STATS])
    return pd.DataFrame(
        columns=columns, index=pd.DatetimeIndex([], tz="UTC", name="ts"), dtype="float64"
    )
