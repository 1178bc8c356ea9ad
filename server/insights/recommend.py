"""Saving recommendations for a Gridlight household, ranked by what they save.

:func:`recommendations` looks at the household's last weeks of readings (28 days by default)
and runs five detectors; each that fires gives a dict with ``id``, ``title``, ``detail``,
``evidence`` (this household's figures that triggered it), ``saving_per_month`` (``energy_kwh``,
``money`` in the tariff's currency, ``co2_kg``), ``confidence`` and ``action`` (a schedule for
the control issue to apply, or None). Every saving comes from the household's own readings and
tariff, per :data:`MONTH_DAYS` days:

* ``baseload`` — the always-on load (the median of each day's lowest 15-minute mean) above
  :data:`EFFICIENT_BASELOAD_KW`; saves that excess at every hour's price.
* ``empty-home`` — cooling/heating (AC channels) running in waking hours in which the home is
  idle on most days (occupants' other use at the always-on level); saves that energy.
* ``shift-water-heating`` — water heating in hours dearer than the cheapest of the
  :data:`SHIFT_LOOKBACK_H` hours before them; saves the price difference (a heated tank keeps).
* ``peak-hours`` — whole-house use in the tariff's dear hours beyond what the household
  manages on its own lighter days (the 25th percentile of daily peak-hour energy), when that
  is more than ordinary variation (0.5 kWh and a fifth of the day's peak-hour use).
* ``spikes`` — short repeated surges far above the usual level; their dear-hour part, moved.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from server.insights.hourly import hourly_power_kw, resolution_s
from server.insights.tariff import Tariff

__all__ = [
    "EFFICIENT_BASELOAD_KW",
    "MONTH_DAYS",
    "SHIFT_LOOKBACK_H",
    "HouseholdWindow",
    "recommendations",
    "shift_savings",
]

MONTH_DAYS = 30.44
#: A frugal home's always-on load: a fridge (~40 W on average) plus router and standby. [kW]
EFFICIENT_BASELOAD_KW = 0.10
#: Water heating may move to the cheapest of this many hours before it. [h]
SHIFT_LOOKBACK_H = 8
WAKING_HOURS = (7, 22)  # local hours in which a quiet home is empty rather than asleep
AC_RE = re.compile(r"^(AC|HeaterAC|Heat.*|Cool.*|Aircon.*|HVAC)$", re.IGNORECASE)
WATER_RE = re.compile(r"^(Geyser|WaterHeater|Boiler|HotWater|HeaterAC)$", re.IGNORECASE)


@dataclass
class HouseholdWindow:
    """A household's recent readings, prepared once for every detector.

    ``minute`` holds 1-minute means of every channel [kW]; ``hourly`` hourly means [kW = kWh];
    ``prices`` each hour's price [currency/kWh] (NaN without a tariff); ``days`` the days of
    readings present. Times are UTC; ``timezone`` is the household's.
    """

    timezone: str
    minute: pd.DataFrame
    hourly: pd.DataFrame
    prices: np.ndarray
    days: float
    g_per_kwh: float | None
    tariff: Tariff | None

    @classmethod
    def build(
        cls,
        frame: pd.DataFrame,
        timezone: str,
        tariff: Tariff | None,
        g_per_kwh: float | None,
        *,
        as_of: pd.Timestamp | None = None,
        days: int = 28,
    ) -> HouseholdWindow:
        end = as_of if as_of is not None else frame.index[-1] + pd.Timedelta(seconds=1)
        recent = frame[(frame.index >= end - pd.Timedelta(days=days)) & (frame.index < end)]
        minute = recent if resolution_s(recent.index) >= 60 else recent.resample("60s").mean()
        hourly = pd.DataFrame({c: hourly_power_kw(recent[c], until=end) for c in recent.columns})
        prices = (
            tariff.hourly_prices(pd.DatetimeIndex(hourly.index))
            if tariff is not None
            else np.full(len(hourly), np.nan)
        )
        known = hourly["Overall"].notna().sum() / 24.0 if "Overall" in hourly else 0.0
        return cls(timezone, minute, hourly, prices, float(known), g_per_kwh, tariff)

    def local(self, index: pd.DatetimeIndex) -> pd.DatetimeIndex:
        return index.tz_convert(self.timezone)

    def per_month(self, total: float) -> float:
        """A total over the window scaled to a month."""
        return total / max(self.days, 1e-9) * MONTH_DAYS

    def saving(self, energy_kwh: float, money: float | None) -> dict[str, Any]:
        co2 = None if self.g_per_kwh is None else energy_kwh * self.g_per_kwh / 1000.0
        has_money = self.tariff is not None and money is not None and np.isfinite(money)
        return {
            "energy_kwh": round(float(energy_kwh), 2),
            "money": round(float(money), 2) if has_money else None,
            "co2_kg": None if co2 is None else round(float(co2), 2),
        }

    def channels(self, pattern: re.Pattern[str]) -> list[str]:
        return [c for c in self.hourly.columns if c != "Overall" and pattern.match(c)]

    def mean_price(self, mask: np.ndarray | None = None) -> float:
        p = self.prices if mask is None else self.prices[mask]
        return float(np.nanmean(p)) if np.isfinite(p).any() else float("nan")


def _clock(hour: float) -> str:
    return f"{int(hour) % 24:02d}:{int(round((hour % 1) * 60)):02d}"


def baseload(w: HouseholdWindow) -> dict[str, Any] | None:
    q = w.minute["Overall"].resample("15min").mean()
    local = q.tz_convert(w.timezone)
    per_day = local.groupby(local.index.date)
    counts = per_day.count()
    minima = per_day.min()[counts >= 0.8 * 96]
    if len(minima) < 3:
        return None
    base_kw = float(minima.median())
    best_kw = float(minima.quantile(0.1))
    excess_kw = base_kw - EFFICIENT_BASELOAD_KW
    if excess_kw < 0.05:
        return None
    energy = excess_kw * 24.0 * MONTH_DAYS
    money = excess_kw * w.per_month(float(np.nansum(w.prices[np.isfinite(w.prices)])))
    mean_kw = float(w.hourly["Overall"].mean())
    return {
        "id": "baseload",
        "title": "Cut the always-on load",
        "detail": (
            f"Even at its quietest, the home draws {base_kw * 1000:.0f} W on a typical day, "
            f"around the clock. A frugal home's always-on load is about "
            f"{EFFICIENT_BASELOAD_KW * 1000:.0f} W: look for devices on standby, an old fridge "
            "or freezer, pumps, or equipment left running."
        ),
        "evidence": {
            "baseload_kw": round(base_kw, 3),
            "lowest_nights_baseload_kw": round(best_kw, 3),
            "efficient_baseload_kw": EFFICIENT_BASELOAD_KW,
            "share_of_mean_demand": round(base_kw / mean_kw, 3) if mean_kw > 0 else None,
            "days": len(minima),
        },
        "saving_per_month": w.saving(energy, money),
        "confidence": "high" if best_kw <= EFFICIENT_BASELOAD_KW + 0.02 else "medium",
        "action": None,
    }


def _idle_slots(w: HouseholdWindow, ac: list[str]) -> pd.DataFrame:
    """Per (local day, hour): occupants' own use above the always-on level [kW]."""
    flexible = [
        c for c in w.hourly.columns if c != "Overall" and (AC_RE.match(c) or WATER_RE.match(c))
    ]
    other = w.hourly["Overall"] - w.hourly[flexible].sum(axis=1, min_count=1).fillna(0.0)
    q = w.minute["Overall"].resample("15min").mean()
    floor = float(q.groupby(q.index.tz_convert(w.timezone).date).min().median())
    local = w.local(pd.DatetimeIndex(other.index))
    return pd.DataFrame(
        {
            "activity_kw": (other - floor).to_numpy(),
            "ac_kwh": w.hourly[ac].sum(axis=1, min_count=1).to_numpy(),
            "hour": local.hour,
            "weekend": local.day_of_week >= 5,
            "price": w.prices,
        },
        index=other.index,
    )


def empty_home(w: HouseholdWindow) -> dict[str, Any] | None:
    ac = w.channels(AC_RE)
    if not ac:
        return None
    slots = _idle_slots(w, ac).dropna(subset=["activity_kw", "ac_kwh"])
    waking = slots["hour"].between(WAKING_HOURS[0], WAKING_HOURS[1] - 1)
    busy_kw = float(slots.loc[waking, "activity_kw"].quantile(0.75))
    idle_kw = max(0.08, 0.25 * busy_kw)  # occupants at home use more than this
    slots["idle"] = slots["activity_kw"] < idle_kw
    share = slots[waking].groupby(["weekend", "hour"])["idle"].mean()
    usual = share[share >= 0.7].index
    key = pd.MultiIndex.from_arrays([slots["weekend"], slots["hour"]])
    wasted = slots[key.isin(usual) & slots["idle"] & waking & (slots["ac_kwh"] > 0.05)]
    energy = w.per_month(float(wasted["ac_kwh"].sum()))
    if energy < 5.0:
        return None
    money = w.per_month(float((wasted["ac_kwh"] * wasted["price"]).sum()))
    hours = sorted({int(h) for h in wasted["hour"]})
    weekday_hours = sorted({int(h) for h in wasted.loc[~wasted["weekend"], "hour"]})
    days = "weekday" if len(weekday_hours) * 2 >= len(hours) else "all"
    span = weekday_hours or hours
    return {
        "id": "empty-home",
        "title": f"Switch the {'/'.join(ac)} off when nobody is home",
        "detail": (
            f"The {'/'.join(ac)} ran in {len(wasted)} hours in which the rest of the home was "
            "idle, at times it is idle on most days. A timer or a presence rule would stop it."
        ),
        "evidence": {
            "hours_running_while_idle": int(len(wasted)),
            "energy_kwh_in_window": round(float(wasted["ac_kwh"].sum()), 2),
            "usually_idle_hours": [
                f"{'weekend' if we else 'weekday'} {h:02d}:00" for we, h in usual
            ],
            "idle_below_kw": round(idle_kw, 3),
            "days": round(w.days, 1),
        },
        "saving_per_month": w.saving(energy, money),
        "confidence": "medium",
        "action": {
            "type": "schedule",
            "channel": ac[0],
            "state": "off",
            "window": {
                "days": days,
                "start": _clock(min(span)),
                "end": _clock(max(span) + 1),
                "timezone": w.timezone,
            },
        },
    }


def shift_savings(
    energy_kwh: np.ndarray, prices: np.ndarray, lookback_h: int = SHIFT_LOOKBACK_H
) -> tuple[np.ndarray, np.ndarray]:
    """Per hour: the money saved by moving its energy to the cheapest of the ``lookback_h``
    hours before it, and the offset [h] of that hour (0 where nothing is gained)."""
    n = len(prices)
    best = np.full(n, np.inf)
    offset = np.zeros(n, dtype=np.int64)
    for k in range(1, lookback_h + 1):
        earlier = np.full(n, np.inf)
        earlier[k:] = np.where(np.isfinite(prices[:-k]), prices[:-k], np.inf)
        better = earlier < best
        best[better], offset[better] = earlier[better], k
    gain = np.where(np.isfinite(best), prices - best, 0.0)
    gain = np.where(np.isfinite(gain) & (gain > 0.02 * np.abs(prices)), gain, 0.0)
    saved = np.nan_to_num(energy_kwh) * gain
    return saved, np.where(gain > 0, offset, 0)


def shift_water_heating(w: HouseholdWindow) -> dict[str, Any] | None:
    water = [c for c in w.channels(WATER_RE)]
    if not water or w.tariff is None:
        return None
    ch = water[0]
    energy = w.hourly[ch].to_numpy(dtype="float64")
    saved, offset = shift_savings(energy, w.prices)
    moved = saved > 0
    money = w.per_month(float(saved.sum()))
    moved_kwh = w.per_month(float(np.nansum(energy[moved])))
    if money <= 0 or moved_kwh < 3.0:
        return None
    # The window: the local hours the moved energy goes to, weighted by energy.
    to_hours = w.local(
        pd.DatetimeIndex(w.hourly.index[moved]) - pd.to_timedelta(offset[moved], "h")
    )
    weights = pd.Series(energy[moved], index=to_hours.hour).groupby(level=0).sum()
    on = w.minute[ch]
    rated_kw = float(on[on > 0.1].quantile(0.95)) if (on > 0.1).any() else 1.0
    need_h = max(1, int(np.ceil(moved_kwh / MONTH_DAYS / max(rated_kw, 0.1))))
    top = int(weights.idxmax())
    windows = []
    for hour in weights.sort_values(ascending=False).index[:2]:
        windows.append(
            {"start": _clock(hour), "end": _clock(hour + need_h), "timezone": w.timezone}
        )
    from_hours = w.local(pd.DatetimeIndex(w.hourly.index[moved])).hour
    return {
        "id": "shift-water-heating",
        "title": f"Heat water ({ch}) in cheaper hours",
        "detail": (
            f"{moved_kwh:.0f} kWh a month of water heating falls in dear hours. Heating the "
            f"tank in the cheapest hours before it is used (from {_clock(top)}) costs less; "
            "a timer on the heater does it."
        ),
        "evidence": {
            "water_heating_kwh_per_month": round(w.per_month(float(np.nansum(energy))), 1),
            "movable_kwh_per_month": round(moved_kwh, 1),
            "dear_hours": sorted({_clock(h) for h in from_hours}),
            "mean_price_now": round(float(np.average(w.prices[moved], weights=energy[moved])), 3),
            "mean_price_moved": round(
                float(
                    np.average(
                        w.prices[moved] - saved[moved] / energy[moved], weights=energy[moved]
                    )
                ),
                3,
            ),
            "rated_kw": round(rated_kw, 2),
            "currency": w.tariff.currency,
        },
        "saving_per_month": w.saving(0.0, money),
        "confidence": "high" if w.days >= 14 else "medium",
        "action": {
            "type": "schedule",
            "channel": ch,
            "state": "on",
            "window": windows[0],
            "windows": windows,
        },
    }


def _peak_mask(w: HouseholdWindow) -> np.ndarray:
    if w.tariff is None or not np.isfinite(w.prices).any():
        return np.zeros(len(w.prices), dtype=bool)
    mean = w.mean_price()
    return np.nan_to_num(w.prices) >= 1.1 * mean


def peak_hours(w: HouseholdWindow) -> dict[str, Any] | None:
    peak = _peak_mask(w)
    if not peak.any():
        return None
    overall = w.hourly["Overall"].copy()
    water = w.channels(WATER_RE)
    if water:  # counted by shift-water-heating
        overall = overall - w.hourly[water[0]].fillna(0.0)
    local = w.local(pd.DatetimeIndex(overall.index))
    daily = overall[peak].groupby(local[peak].date).sum(min_count=1).dropna()
    if len(daily) < 7:
        return None
    movable = float(daily.mean() - daily.quantile(0.25))
    spread = w.mean_price(peak) - w.mean_price(~peak)
    money = movable * spread * MONTH_DAYS
    # Ordinary day-to-day variation is not a habit to change.
    if movable < max(0.5, 0.2 * float(daily.mean())) or money <= 0:
        return None
    hours = sorted({int(h) for h in local[peak].hour})
    return {
        "id": "peak-hours",
        "title": "Move flexible use out of peak hours",
        "detail": (
            f"The home uses {daily.mean():.1f} kWh a day in the tariff's dear hours; on its "
            f"lighter days it manages {daily.quantile(0.25):.1f} kWh. Running washing, ironing, "
            "charging or pumping outside those hours saves the difference in price."
        ),
        "evidence": {
            "peak_hours_local": [_clock(h) for h in hours],
            "peak_kwh_per_day": round(float(daily.mean()), 2),
            "light_day_peak_kwh": round(float(daily.quantile(0.25)), 2),
            "peak_price": round(w.mean_price(peak), 3),
            "off_peak_price": round(w.mean_price(~peak), 3),
        },
        "saving_per_month": w.saving(0.0, money),
        "confidence": "medium",
        "action": None,
    }


def spikes(w: HouseholdWindow) -> dict[str, Any] | None:
    power = w.minute["Overall"].dropna()
    if len(power) < 1440 * 3:
        return None
    usual = float(power.median())
    threshold = max(float(power.quantile(0.995)), 3.0 * usual, usual + 1.0)
    high = (w.minute["Overall"] > threshold).to_numpy()
    starts = np.flatnonzero(high & ~np.r_[False, high[:-1]])
    ends = np.flatnonzero(high & ~np.r_[high[1:], False]) + 1
    short = (ends - starts) <= 30
    starts, ends = starts[short], ends[short]
    per_day = len(starts) / max(w.days, 1e-9)
    if len(starts) < 10 or per_day < 0.5:
        return None
    values = w.minute["Overall"].to_numpy()
    energy = np.array(
        [np.nansum(values[a:b] - usual) / 60.0 for a, b in zip(starts, ends, strict=True)]
    )
    when = w.minute.index[starts]
    hours = when.floor("h")
    price_at = pd.Series(w.prices, index=w.hourly.index)
    price = price_at.reindex(hours).to_numpy()
    peak = pd.Series(_peak_mask(w), index=w.hourly.index).reindex(hours).fillna(False).to_numpy()
    spread = w.mean_price(_peak_mask(w)) - w.mean_price(~_peak_mask(w))
    money = w.per_month(float(energy[peak].sum()) * spread) if peak.any() else 0.0
    local_hours = w.local(pd.DatetimeIndex(when)).hour
    common = int(pd.Series(local_hours).mode().iloc[0])
    return {
        "id": "spikes",
        "title": "Repeated power surges",
        "detail": (
            f"The home surges above {threshold:.1f} kW about {per_day:.1f} times a day, most "
            f"often around {_clock(common)}. Short, heavy uses (kettle, iron, pump, heater) in "
            "dear hours cost more; staggering them also keeps the connection within its limit."
        ),
        "evidence": {
            "spikes": int(len(starts)),
            "per_day": round(per_day, 2),
            "threshold_kw": round(threshold, 2),
            "median_spike_kwh": round(float(np.median(energy)), 3),
            "usual_kw": round(usual, 3),
            "most_common_hour": _clock(common),
            "in_peak_hours": int(peak.sum()),
            "mean_price": round(float(np.nanmean(price)), 3) if np.isfinite(price).any() else None,
        },
        "saving_per_month": w.saving(0.0, money if np.isfinite(money) else None),
        "confidence": "low",
        "action": None,
    }


DETECTORS = (baseload, empty_home, shift_water_heating, peak_hours, spikes)


def recommendations(
    frame: pd.DataFrame,
    timezone: str,
    tariff: Tariff | None = None,
    g_per_kwh: float | None = None,
    *,
    as_of: pd.Timestamp | None = None,
    days: int = 28,
) -> list[dict[str, Any]]:
    """Recommendations for a household frame (columns = channels, ``Overall`` the whole house),
    ranked by money saved per month (energy when there is no tariff)."""
    w = HouseholdWindow.build(frame, timezone, tariff, g_per_kwh, as_of=as_of, days=days)
    if "Overall" not in w.hourly or w.days < 3:
        return []
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)  # all-NaN slices
        for detector in DETECTORS:
            found = detector(w)
            if found is not None:
                out.append(found)

    def rank(rec: dict[str, Any]) -> tuple[float, float]:
        s = rec["saving_per_month"]
        return (s["money"] or 0.0, s["energy_kwh"])

    return sorted(out, key=rank, reverse=True)
