"""The readings a household's insights are computed from, and the moment they are "as of".

* A **dataset household** (the demo's A/B/C, any imported dataset) is judged as of the end of its
  data: ``issued_at`` is the local midnight that ends its last complete day, so forecasts cover
  the dataset's next day(s) and recommendations its last four weeks. The demo's replay plays the
  same days again on the wall clock; those readings are not new history, so a replayed
  household's insights do not change while it replays (they are refreshed daily all the same).
* A **live household** is judged as of the request: its history is its stored 1-minute rollups
  (a year at most, ``INSIGHTS_HISTORY_DAYS``) in the installation's database, read off the
  request greenlets; ``issued_at`` is ``None`` and each answer is issued at the time it is asked.

:func:`prepare` turns a household's frame into what the insights need: hourly whole-house power
(``Overall``; kW over an hour = kWh) for the forecasts, and 1-minute means of every channel over
the last :data:`RECENT_DAYS` days for the recommendations.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd

from server.insights.forecast import TEMPERATURE_CHANNELS
from server.insights.hourly import hourly_power_kw, resolution_s
from server.storage import ReadingStore
from server.storage.database import Database

__all__ = [
    "RECENT_DAYS",
    "HouseholdData",
    "dataset_issue_time",
    "live_frame",
    "prepare",
    "rollups_1m",
]

#: Days of readings the recommendations look at.
RECENT_DAYS = 28
DAY_S = 86_400


@dataclass
class HouseholdData:
    """A household's prepared readings (see the module doc)."""

    household: str
    timezone: str
    source: str  # "dataset" or "live"
    #: the moment a dataset household is judged as of; ``None``: live, issued when asked
    issued_at: pd.Timestamp | None
    #: hourly means [kW]: ``Overall`` and a temperature channel when the household has one
    hourly: pd.DataFrame
    #: 1-minute means of every channel over the last RECENT_DAYS days [kW]
    recent: pd.DataFrame
    #: when it was read [epoch s]
    loaded_s: float

    @property
    def history_hours(self) -> int:
        """Complete hours of whole-house history."""
        if "Overall" not in self.hourly:
            return 0
        return int(self.hourly["Overall"].notna().sum())

    def as_of(self, now_s: float) -> pd.Timestamp:
        if self.issued_at is not None:
            return self.issued_at
        return pd.Timestamp(int(now_s), unit="s", tz="UTC").as_unit("ns")


def dataset_issue_time(frame: pd.DataFrame, timezone: str) -> pd.Timestamp:
    """The local midnight that ends a dataset's last complete day (UTC)."""
    end = frame.index[-1] + pd.Timedelta(seconds=resolution_s(frame.index))
    local = end.tz_convert(timezone)
    midnight = local.floor("D", ambiguous=False, nonexistent="shift_forward")
    return midnight.tz_convert("UTC").as_unit("ns")


def prepare(
    household: str,
    frame: pd.DataFrame,
    timezone: str,
    source: str,
    issued_at: pd.Timestamp | None,
    now_s: float | None = None,
) -> HouseholdData:
    """Hourly and recent 1-minute frames of a household frame (UTC index, channels [kW])."""
    until = issued_at
    hourly = pd.DataFrame()
    if len(frame.index) and "Overall" in frame.columns:
        hourly = pd.DataFrame({"Overall": hourly_power_kw(frame["Overall"], until=until)})
        for name in TEMPERATURE_CHANNELS:
            if name in frame.columns:
                hourly[name] = hourly_power_kw(frame[name], until=until)
                break
    recent = frame
    if len(frame.index):
        end = until if until is not None else frame.index[-1] + pd.Timedelta(seconds=1)
        recent = frame[(frame.index >= end - pd.Timedelta(days=RECENT_DAYS)) & (frame.index < end)]
    if len(recent.index) > 1 and resolution_s(recent.index) < 60:
        recent = recent.resample("60s").mean()
    return HouseholdData(
        household,
        timezone,
        source,
        issued_at,
        hourly,
        recent,
        time.time() if now_s is None else now_s,
    )


def rollups_1m(db: Database, household: str, start_s: int, end_s: int) -> pd.DataFrame:
    """A live household's 1-minute rollups with ``start_s <= ts < end_s``, as
    :meth:`ReadingStore.query <server.storage.ReadingStore.query>` gives them (columns
    ``(channel, stat)``); pooled connections of its own: call it off the request greenlets."""
    return ReadingStore(db).query(household, start_s, end_s, "1m")


def live_frame(db: Database, household: str, now_s: float, days: int) -> pd.DataFrame:
    """1-minute means of a live household's stored readings over the last ``days`` days [kW],
    one column per channel (call it off the request greenlets)."""
    end_s = int(now_s) + 1
    wide = rollups_1m(db, household, end_s - days * DAY_S, end_s)
    if wide.empty:
        return pd.DataFrame(index=pd.DatetimeIndex([], tz="UTC", name="ts"), dtype="float64")
    channels = list(dict.fromkeys(c for c, _ in wide.columns))
    out = pd.DataFrame({c: wide[(c, "mean_kw")].astype("float64") for c in channels})
    out.index = pd.DatetimeIndex(out.index).rename("ts")
    return out
