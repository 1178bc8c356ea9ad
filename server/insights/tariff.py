"""Electricity tariffs of Gridlight households: flat, time-of-use and dynamic.

A tariff prices energy [kWh] in one ISO 4217 currency, plus a standing charge per day. Documents
(what ``PUT /api/v1/households/{h}/tariff`` takes and :meth:`Tariff.to_json` gives back)::

    {"type": "flat", "currency": "EUR", "price_per_kwh": 0.25, "standing_charge_per_day": 0.4}

    {"type": "tou", "currency": "INR", "timezone": "Asia/Kolkata", "standing_charge_per_day": 4,
     "periods": [{"name": "night", "days": "all", "start": "22:00", "end": "06:00",
                  "price_per_kwh": 6.3}, ...]}

    {"type": "dynamic", "currency": "GBP",
     "prices": [{"ts": "2026-04-06T00:00:00Z", "price_per_kwh": 0.21}, ...]}

Time-of-use periods are local wall-clock times in the tariff's zone (the household's), for
``weekday`` (Monday-Friday), ``weekend`` or ``all`` days; ``end`` may be ``24:00`` and a period
may wrap past midnight (``22:00``-``06:00``). Each day type's periods must cover the day with no
overlap and no gap. Dynamic prices are per UTC hour (from a JSON document or a CSV file with the
columns ``ts,price_per_kwh``); they may be negative, as wholesale-indexed prices are at times.
``{"type": "dynamic", "currency": "GBP", "feed": true}`` takes them from the installation's
price feed instead (``PRICE_FEED_URL``, :class:`server.insights.feeds.PriceFeed`).
An hour's price is the mean of the prices at its four quarter-hours, so a boundary at half past
(as UTC hours fall in India) is priced in proportion.

:func:`default_tariff` is the documented time-of-use tariff in INR of the demo households A/B/C.
"""

from __future__ import annotations

import io
import math
import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from server.insights.currencies import ISO_4217
from server.insights.errors import TariffError

__all__ = [
    "DEMO_HOUSEHOLDS",
    "DynamicTariff",
    "FlatTariff",
    "Period",
    "Tariff",
    "TimeOfUseTariff",
    "default_tariff",
]

DAY_TYPES = ("weekday", "weekend")
_QUARTERS_NS = np.array([0, 15, 30, 45], dtype="int64") * 60_000_000_000


def _number(doc: Mapping[str, Any], key: str, where: str, *, default: float | None = None) -> float:
    value = doc.get(key, default)
    if value is None:
        raise TariffError(f"{where} lacks {key!r}")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TariffError(f"{where}: {key} must be a finite number, got {value!r}")
    return float(value)


def _non_negative(value: float, what: str) -> float:
    if value < 0:
        raise TariffError(f"negative price: {what} is {value:g}; prices must be >= 0")
    return value


def _currency(doc: Mapping[str, Any]) -> str:
    code = doc.get("currency")
    if not isinstance(code, str) or code.upper() not in ISO_4217:
        raise TariffError(
            f"unknown currency {code!r}: expected an ISO 4217 code such as 'INR', 'EUR' or 'GBP'"
        )
    return code.upper()


def _clock_min(text: Any, where: str) -> int:
    """Minutes after midnight of ``HH:MM`` (``24:00`` allowed)."""
    try:
        hh, mm = str(text).split(":")
        hours, minutes = int(hh), int(mm)
    except ValueError:
        raise TariffError(f"{where}: expected a time 'HH:MM', got {text!r}") from None
    if not (0 <= hours <= 24 and 0 <= minutes < 60) or (hours == 24 and minutes):
        raise TariffError(f"{where}: time {text!r} is not between 00:00 and 24:00")
    return hours * 60 + minutes


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


class Tariff(ABC):
    """Prices of energy [currency/kWh] at any moment, a standing charge [currency/day]."""

    kind: str = ""

    def __init__(self, currency: str, standing_charge_per_day: float = 0.0, name: str = "") -> None:
        self.currency = _currency({"currency": currency})
        self.standing_charge_per_day = _non_negative(
            float(standing_charge_per_day), "standing_charge_per_day"
        )
        self.name = name or self.kind

    # Prices -------------------------------------------------------------------------------
    @abstractmethod
    def _prices_ns(self, ns: np.ndarray) -> np.ndarray:
        """Price [currency/kWh] at UTC epoch nanoseconds ``ns`` (any shape)."""

    def _periods_ns(self, ns: np.ndarray) -> np.ndarray:
        """The period name in force at ``ns`` (object array, same shape)."""
        return np.full(ns.shape, self.kind, dtype=object)

    def price_at(self, ts: pd.Timestamp | str) -> float:
        """The price of energy at instant ``ts`` [currency/kWh] (NaN when unknown)."""
        stamp = pd.Timestamp(ts)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        return float(self._prices_ns(np.array([stamp.as_unit("ns").value]))[0])

    def prices_at(self, index: pd.DatetimeIndex) -> np.ndarray:
        """The price at each instant of a UTC ``index`` [currency/kWh] (NaN when unknown)."""
        return self._prices_ns(pd.DatetimeIndex(index).as_unit("ns").asi8)

    def quarter_prices(self, hours: pd.DatetimeIndex) -> np.ndarray:
        """Prices at the four quarter-hours of each UTC hour start, shape (n, 4)."""
        ns = hours.as_unit("ns").asi8[:, None] + _QUARTERS_NS[None, :]
        return self._prices_ns(ns)

    def hourly_prices(self, hours: pd.DatetimeIndex) -> np.ndarray:
        """The price of each hour starting at ``hours`` [currency/kWh]: its quarters' mean."""
        return self.quarter_prices(hours).mean(axis=1)

    # Costs --------------------------------------------------------------------------------
    def cost(self, energy_kwh: pd.Series) -> pd.Series:
        """Energy cost of each hour of an hourly series (UTC hour starts) [currency]."""
        prices = self.hourly_prices(pd.DatetimeIndex(energy_kwh.index))
        return pd.Series(energy_kwh.to_numpy(dtype="float64") * prices, index=energy_kwh.index)

    def cost_by_period(self, energy_kwh: pd.Series) -> list[dict[str, Any]]:
        """Energy [kWh] and cost [currency] per tariff period of an hourly series.

        Each hour's energy is spread evenly over its quarter-hours, each priced on its own.
        Missing hours count for nothing. Periods come out in the order they first occur.
        """
        index = pd.DatetimeIndex(energy_kwh.index)
        ns = index.as_unit("ns").asi8[:, None] + _QUARTERS_NS[None, :]
        names = self._periods_ns(ns).ravel()
        prices = self._prices_ns(ns).ravel()
        energy = np.repeat(energy_kwh.to_numpy(dtype="float64") / 4.0, 4)
        known = ~np.isnan(energy)
        rows: dict[str, list[float]] = {}
        for name, e, p in zip(names[known], energy[known], prices[known], strict=True):
            row = rows.setdefault(str(name), [0.0, 0.0])
            row[0] += e
            row[1] += e * p
        return [
            {"period": name, "energy_kwh": round(float(e), 4), "cost": round(float(c), 4)}
            for name, (e, c) in rows.items()
        ]

    def standing_charge(self, days: float) -> float:
        """The standing charge over ``days`` days [currency]."""
        return self.standing_charge_per_day * days

    # Documents ----------------------------------------------------------------------------
    def _base_json(self) -> dict[str, Any]:
        return {
            "type": self.kind,
            "name": self.name,
            "currency": self.currency,
            "standing_charge_per_day": self.standing_charge_per_day,
        }

    @abstractmethod
    def to_json(self) -> dict[str, Any]:
        """The document this tariff was read from (normalised)."""

    @staticmethod
    def from_json(doc: Any, *, timezone: str | None = None) -> Tariff:
        """Validate a tariff document; raise :class:`TariffError` naming the problem.

        ``timezone`` is the household's zone, used by a time-of-use document without one.
        """
        if not isinstance(doc, Mapping):
            raise TariffError(f"a tariff must be a JSON object, got {type(doc).__name__}")
        kind = doc.get("type")
        currency = _currency(doc)
        standing = _non_negative(
            _number(doc, "standing_charge_per_day", "tariff", default=0.0),
            "standing_charge_per_day",
        )
        name = str(doc.get("name") or "")
        if kind == "flat":
            price = _non_negative(_number(doc, "price_per_kwh", "flat tariff"), "price_per_kwh")
            return FlatTariff(currency, price, standing, name)
        if kind in ("tou", "time_of_use"):
            zone = doc.get("timezone") or timezone
            periods = doc.get("periods")
            if not isinstance(periods, list) or not periods:
                raise TariffError("time-of-use tariff needs a non-empty list 'periods'")
            parsed = [Period.from_json(p, i) for i, p in enumerate(periods)]
            return TimeOfUseTariff(currency, parsed, zone, standing, name)
        if kind == "dynamic":
            feed = doc.get("feed", False)
            if not isinstance(feed, bool):
                raise TariffError(f"feed: expected true or false, got {feed!r}")
            if feed:
                if doc.get("prices"):
                    raise TariffError(
                        "a dynamic tariff takes its prices from 'prices' or from the price feed "
                        "('feed': true), not both"
                    )
                return DynamicTariff(currency, _no_prices(), standing, name, feed=True)
            return DynamicTariff.from_prices(doc.get("prices"), currency, standing, name)
        raise TariffError(f"unknown tariff type {kind!r}: expected 'flat', 'tou' or 'dynamic'")


class FlatTariff(Tariff):
    """One price at every hour."""

    kind = "flat"

    def __init__(
        self, currency: str, price_per_kwh: float, standing_charge_per_day: float = 0.0, name=""
    ) -> None:
        super().__init__(currency, standing_charge_per_day, name)
        self.price_per_kwh = _non_negative(float(price_per_kwh), "price_per_kwh")

    def _prices_ns(self, ns: np.ndarray) -> np.ndarray:
        return np.full(np.shape(ns), self.price_per_kwh)

    def to_json(self) -> dict[str, Any]:
        return {**self._base_json(), "price_per_kwh": self.price_per_kwh}


@dataclass(frozen=True)
class Period:
    """One time-of-use period: local ``[start_min, end_min)`` on ``days``, wrapping midnight
    when ``end_min <= start_min``. [minutes after local midnight, currency/kWh]"""

    name: str
    days: str
    start_min: int
    end_min: int
    price_per_kwh: float

    @classmethod
    def from_json(cls, raw: Any, i: int = 0) -> Period:
        if not isinstance(raw, Mapping):
            raise TariffError(f"period {i} must be an object, got {type(raw).__name__}")
        label = raw.get("name")
        where = f"period {label!r}" if label else f"period {i}"
        days = raw.get("days", "all")
        if days not in ("weekday", "weekend", "all"):
            raise TariffError(f"{where}: days must be 'weekday', 'weekend' or 'all', got {days!r}")
        start = _clock_min(raw.get("start"), where)
        end = _clock_min(raw.get("end"), where)
        if start == end or (start == 1440 and end == 0):
            raise TariffError(f"{where}: start and end are both {_clock(start)}")
        price = _number(raw, "price_per_kwh", where)
        _non_negative(price, f"price_per_kwh of {where}")
        name = str(label) if label else f"{_clock(start)}-{_clock(end)}"
        return cls(name, days, start % 1440, end, price)

    def minutes(self) -> np.ndarray:
        """The minutes of the day it covers."""
        end = self.end_min if self.end_min > self.start_min else self.end_min + 1440
        return np.arange(self.start_min, end) % 1440

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "days": self.days,
            "start": _clock(self.start_min),
            "end": _clock(self.end_min) if self.end_min != 0 else "24:00",
            "price_per_kwh": self.price_per_kwh,
        }


class TimeOfUseTariff(Tariff):
    """Prices by local time of day, separately for weekdays and weekends."""

    kind = "tou"

    def __init__(
        self,
        currency: str,
        periods: list[Period],
        timezone: str | None,
        standing_charge_per_day: float = 0.0,
        name: str = "",
    ) -> None:
        super().__init__(currency, standing_charge_per_day, name)
        if not timezone:
            raise TariffError("time-of-use tariff needs a 'timezone' (the household's)")
        try:
            ZoneInfo(str(timezone))
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise TariffError(f"unknown time zone {timezone!r} for the tariff") from err
        self.timezone = str(timezone)
        self.periods = list(periods)
        # Per day type: the index of the period covering each minute of the day.
        self._minute_period = np.full((2, 1440), -1, dtype=np.int64)
        for d, day_type in enumerate(DAY_TYPES):
            taken = self._minute_period[d]
            for k, period in enumerate(self.periods):
                if period.days not in (day_type, "all"):
                    continue
                mins = period.minutes()
                clash = mins[taken[mins] >= 0]
                if clash.size:
                    other = self.periods[taken[clash[0]]].name
                    raise TariffError(
                        f"time-of-use periods overlap at {_clock(int(clash[0]))} on {day_type}s "
                        f"({other!r} and {period.name!r})"
                    )
                taken[mins] = k
            free = np.flatnonzero(taken < 0)
            if free.size:
                gap_end = free[0]
                while gap_end + 1 < 1440 and taken[gap_end + 1] < 0:
                    gap_end += 1
                raise TariffError(
                    f"time-of-use periods leave {_clock(int(free[0]))}-{_clock(int(gap_end) + 1)} "
                    f"uncovered on {day_type}s"
                )
        self._prices = np.array([p.price_per_kwh for p in self.periods])
        self._names = np.array([p.name for p in self.periods], dtype=object)

    def _period_index(self, ns: np.ndarray) -> np.ndarray:
        flat = np.asarray(ns, dtype="int64").ravel()
        local = pd.DatetimeIndex(flat.astype("datetime64[ns]")).tz_localize("UTC")
        local = local.tz_convert(self.timezone)
        minute = np.asarray(local.hour * 60 + local.minute)
        weekend = np.asarray(local.day_of_week >= 5).astype(np.int64)
        return self._minute_period[weekend, minute].reshape(np.shape(ns))

    def _prices_ns(self, ns: np.ndarray) -> np.ndarray:
        return self._prices[self._period_index(ns)]

    def _periods_ns(self, ns: np.ndarray) -> np.ndarray:
        return self._names[self._period_index(ns)]

    def to_json(self) -> dict[str, Any]:
        return {
            **self._base_json(),
            "timezone": self.timezone,
            "periods": [p.to_json() for p in self.periods],
        }


class DynamicTariff(Tariff):
    """A price for every UTC hour (NaN, so no cost, for an hour without one)."""

    kind = "dynamic"

    def __init__(
        self,
        currency: str,
        prices: pd.Series,
        standing_charge_per_day: float = 0.0,
        name: str = "",
        *,
        feed: bool = False,
    ) -> None:
        super().__init__(currency, standing_charge_per_day, name)
        self.prices = prices.sort_index()
        #: the prices come from the installation's price feed (``PRICE_FEED_URL``), not the
        #: document: :meth:`with_prices` gives the tariff at the feed's current prices
        self.feed = feed

    def with_prices(self, prices: pd.Series) -> DynamicTariff:
        """This tariff at ``prices`` (UTC hour starts → price), a feed's latest."""
        return DynamicTariff(
            self.currency, prices, self.standing_charge_per_day, self.name, feed=self.feed
        )

    @classmethod
    def from_prices(
        cls, prices: Any, currency: str, standing_charge_per_day: float = 0.0, name: str = ""
    ) -> DynamicTariff:
        """From ``[{"ts": ISO, "price_per_kwh": x}, ...]`` or ``{ISO: x, ...}``."""
        if isinstance(prices, Mapping):
            prices = [{"ts": k, "price_per_kwh": v} for k, v in prices.items()]
        if not isinstance(prices, list) or not prices:
            raise TariffError(
                "dynamic tariff needs a non-empty list 'prices' of {ts, price_per_kwh}"
            )
        stamps, values = [], []
        for i, row in enumerate(prices):
            if not isinstance(row, Mapping) or "ts" not in row:
                raise TariffError(
                    f"dynamic price {i} must be an object with 'ts' and 'price_per_kwh'"
                )
            stamps.append(row["ts"])
            values.append(_number(row, "price_per_kwh", f"dynamic price {i}"))
        return cls._checked(stamps, values, currency, standing_charge_per_day, name)

    @classmethod
    def from_csv(
        cls,
        source: str | os.PathLike[str] | io.TextIOBase,
        currency: str,
        standing_charge_per_day: float = 0.0,
        name: str = "",
    ) -> DynamicTariff:
        """From a CSV file with the columns ``ts`` (ISO 8601, UTC hour start) and
        ``price_per_kwh``."""
        try:
            table = pd.read_csv(source)
        except (OSError, ValueError) as err:
            raise TariffError(f"cannot read the dynamic prices CSV: {err}") from err
        missing = {"ts", "price_per_kwh"} - set(table.columns)
        if missing:
            raise TariffError(f"dynamic prices CSV lacks the column(s) {sorted(missing)}")
        values = pd.to_numeric(table["price_per_kwh"], errors="coerce")
        bad = np.flatnonzero(~np.isfinite(values.to_numpy(dtype="float64")))
        if bad.size:
            row = table.iloc[bad[0]]
            raise TariffError(
                f"dynamic prices CSV row {bad[0] + 2}: price_per_kwh {row['price_per_kwh']!r} "
                "is not a number"
            )
        return cls._checked(
            list(table["ts"]), list(values), currency, standing_charge_per_day, name
        )

    @classmethod
    def _checked(cls, stamps, values, currency, standing, name) -> DynamicTariff:  # type: ignore[no-untyped-def]
        try:
            index = pd.DatetimeIndex(pd.to_datetime(stamps, utc=True), name="ts")
        except (ValueError, TypeError) as err:
            raise TariffError(f"dynamic prices: a 'ts' is not an ISO 8601 time ({err})") from err
        off = index[index != index.floor("h")]
        if len(off):
            raise TariffError(
                f"dynamic price at {off[0].isoformat()} is not at the start of an hour"
            )
        dup = index[index.duplicated()]
        if len(dup):
            raise TariffError(f"dynamic prices give {dup[0].isoformat()} twice")
        series = pd.Series(np.asarray(values, dtype="float64"), index=index.as_unit("ns"))
        return cls(currency, series, standing, name)

    def _prices_ns(self, ns: np.ndarray) -> np.ndarray:
        flat = np.asarray(ns, dtype="int64").ravel()
        if not len(self.prices):  # a feed's tariff before its first good poll: no price yet
            return np.full(np.shape(ns), np.nan)
        hours = flat - flat % 3_600_000_000_000
        keys = self.prices.index.asi8
        pos = np.clip(np.searchsorted(keys, hours), 0, max(len(keys) - 1, 0))
        found = keys[pos] == hours if len(keys) else np.zeros(len(hours), bool)
        out = np.where(found, self.prices.to_numpy()[pos], np.nan)
        return out.reshape(np.shape(ns))

    def to_json(self) -> dict[str, Any]:
        if self.feed:  # the document: its prices are the feed's at each use
            return {**self._base_json(), "feed": True}
        return {
            **self._base_json(),
            "prices": [
                {"ts": ts.strftime("%Y-%m-%dT%H:%M:%SZ"), "price_per_kwh": float(v)}
                for ts, v in self.prices.items()
            ],
        }


def _no_prices() -> pd.Series:
    return pd.Series([], dtype="float64", index=pd.DatetimeIndex([], tz="UTC", name="ts"))


#: Households that get :func:`default_tariff` when none is set.
DEMO_HOUSEHOLDS = ("A", "B", "C")


def default_tariff(timezone: str = "Asia/Kolkata") -> TimeOfUseTariff:
    """The demo households' (A/B/C) tariff: time-of-use in INR, every day alike.

    Shaped on India's time-of-day rules (Electricity (Rights of Consumers) Amendment Rules,
    2023: cheaper during the state's "solar hours", dearer at peak) with a typical urban
    residential energy charge of ₹7.00/kWh as the normal rate. Illustrative, not any one
    DISCOM's schedule:

    ======================  ============  =========
    period                  local time    ₹/kWh
    ======================  ============  =========
    night (off-peak)        22:00-06:00   6.30 (-10%)
    morning peak            06:00-09:00   8.40 (+20%)
    solar hours             09:00-17:00   5.60 (-20%)
    normal                  17:00-18:00   7.00
    evening peak            18:00-22:00   8.40 (+20%)
    ======================  ============  =========

    Standing (fixed) charge ₹4.00 per day (about ₹120 a month).
    """
    doc = {
        "type": "tou",
        "name": "Gridlight demo ToD (INR)",
        "currency": "INR",
        "timezone": timezone,
        "standing_charge_per_day": 4.0,
        "periods": [
            {"name": "night", "start": "22:00", "end": "06:00", "price_per_kwh": 6.30},
            {"name": "morning peak", "start": "06:00", "end": "09:00", "price_per_kwh": 8.40},
            {"name": "solar", "start": "09:00", "end": "17:00", "price_per_kwh": 5.60},
            {"name": "normal", "start": "17:00", "end": "18:00", "price_per_kwh": 7.00},
            {"name": "evening peak", "start": "18:00", "end": "22:00", "price_per_kwh": 8.40},
        ],
    }
    tariff = Tariff.from_json(doc)
    assert isinstance(tariff, TimeOfUseTariff)
    return tariff
