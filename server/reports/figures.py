"""The figures of one household's monthly report, computed from its readings (no I/O).

:func:`compute` takes a :class:`ReportInput` (the household's frame: one column per channel,
UTC index, average power [kW], ``Overall`` the whole house, covering the month and as much as
13 months before it; or the month alone and the months before as ``history`` at a coarser step,
such as 15 minutes) and returns :class:`Figures`:

* energy [kWh]: the month's local hours (bins aligned on the month's local midnight, so that a
  zone such as Asia/Kolkata's +05:30 counts whole local hours); an hour is known when at least
  half of its samples are present, and unknown hours count for nothing (``coverage`` says how
  much of the month is known; missing is never zero);
* energy by local day, this month and the previous one; an hour-of-day by day matrix;
* channel shares: each metered channel's energy and the rest of ``Overall`` as ``untracked``;
* peak demand: the highest 15-minute mean of ``Overall`` [kW] and when;
* cost by tariff period (:meth:`~server.insights.tariff.Tariff.cost_by_period`) plus the
  standing charge of the month's days; carbon [kg CO2] at the zone's intensity;
* per-day comparisons with the previous month and the same month a year earlier (when it has
  at least a day of readings);
* savings against the forecast baseline: the forecaster's seasonal baseline (as
  :class:`server.insights.ForecastModel` without a fitted model: each hour the mean of the same
  local hour over the 28 days before) predicts the month from the readings before it, each day
  from the days it predicted before, so nothing of the month itself is used; saving = predicted
  − actual over the hours with readings (negative when the month used more). Not the
  gradient-boosted model: fitting it takes about 7 s a month on one core (and the cumulative
  figure needs up to 13 months), while a report must take under 3 s
  (``benchmarks/bench_reports.py``);
* cumulative CO2 reduction since the household's first month: the months' savings added up
  (earlier months from the reports' index when given, else computed the same way, at most
  :data:`MAX_PRIOR_MONTHS` of them);
* what the household's schedules saved in the month, as the control package planned it
  (:mod:`server.reports.control_runs`; passed in, ``None`` when there is no schedule data);
* the top three recommendations (:func:`server.insights.recommendations` on the month) and the
  month's alerts counted by level.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from server.insights import Tariff, hourly_power_kw, recommendations
from server.insights.errors import InsightsError
from server.insights.features import HourGrid
from server.insights.hourly import resolution_s
from server.reports.months import add_months, month_bounds, month_label, month_of

__all__ = ["MAX_PRIOR_MONTHS", "Figures", "ReportInput", "compute", "monthly_saving"]

#: Earlier months whose savings are computed when the index does not have them.
MAX_PRIOR_MONTHS = 12
#: A comparison month needs this many known hours.
MIN_COMPARE_HOURS = 24
LEVEL_ORDER = ("critical", "red", "yellow", "green")
#: The seasonal baseline's window: the same local hour of this many days before [days].
BASELINE_DAYS = 28


@dataclass
class ReportInput:
    """What a report is made from (picklable: it crosses into the process pool)."""

    household: str
    name: str
    timezone: str
    channels: tuple[str, ...]
    month: str
    frame: pd.DataFrame
    #: the months before ``month`` at a coarser step (a live household's 15-minute rollups), when
    #: ``frame`` holds only the month
    history: pd.DataFrame | None = None
    tariff: Tariff | None = None
    carbon: dict[str, Any] | None = None  # {"zone", "g_per_kwh", "source"}
    alerts: list[dict[str, Any]] = field(default_factory=list)  # {"level", "rule", "kind"}
    prior: dict[str, dict[str, Any]] = field(default_factory=dict)  # month → index summary
    estimated: tuple[str, ...] = ()
    joined_s: float | None = None  # first reading (or registration) [epoch s]
    schedules: dict[str, Any] | None = None  # the month's schedule runs (control_runs)


@dataclass
class Figures:
    household: str
    name: str
    timezone: str
    month: str
    label: str
    start: pd.Timestamp
    end: pd.Timestamp
    days_in_month: int
    hours_in_month: int
    known_hours: int = 0
    energy_kwh: float = 0.0
    daily_kwh: pd.Series | None = None  # index: day of month 1..n
    prev_daily_kwh: pd.Series | None = None
    prev_label: str = ""
    heatmap_kwh: np.ndarray | None = None  # (24, days)
    shares: list[dict[str, Any]] = field(default_factory=list)
    peak_kw: float | None = None
    peak_at: pd.Timestamp | None = None  # local
    currency: str | None = None
    tariff_name: str | None = None
    by_period: list[dict[str, Any]] = field(default_factory=list)
    energy_cost: float | None = None
    standing_charge: float | None = None
    cost: float | None = None
    g_per_kwh: float | None = None
    carbon_source: str | None = None
    zone: str | None = None
    co2_kg: float | None = None
    comparisons: list[dict[str, Any]] = field(default_factory=list)
    saving: dict[str, Any] = field(default_factory=dict)
    cumulative: dict[str, Any] = field(default_factory=dict)
    recommendations: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    estimated: tuple[str, ...] = ()
    schedules: dict[str, Any] | None = None  # None: no schedule data for the household

    @property
    def has_data(self) -> bool:
        return self.known_hours > 0

    @property
    def coverage(self) -> float:
        return self.known_hours / self.hours_in_month if self.hours_in_month else 0.0

    @property
    def per_day_kwh(self) -> float | None:
        return self.energy_kwh / (self.known_hours / 24.0) if self.known_hours else None

    def summary(self) -> dict[str, Any]:
        """The headline figures kept in the reports' index (JSON)."""
        return {
            "energy_kwh": _r(self.energy_kwh),
            "coverage": _r(self.coverage, 4),
            "cost": _r(self.cost),
            "currency": self.currency,
            "co2_kg": _r(self.co2_kg),
            "peak_kw": _r(self.peak_kw, 3),
            "saved_kwh": _r(self.saving.get("saved_kwh")),
            "saved_co2_kg": _r(self.saving.get("saved_co2_kg")),
        }


def _r(value: float | None, digits: int = 2) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


def minute_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """1-minute means of a frame sampled faster than a minute; coarser frames as they are."""
    if frame.empty or resolution_s(pd.DatetimeIndex(frame.index)) >= 60:
        return frame
    return frame.resample("60s").mean()


def local_hours(frame: pd.DataFrame, origin: pd.Timestamp) -> pd.DataFrame:
    """Mean power of each hour [kW] (= its energy [kWh]), bins aligned on ``origin``; NaN where
    fewer than half of the hour's samples are present."""
    if frame.empty:
        return frame.iloc[:0]
    step_s = resolution_s(pd.DatetimeIndex(frame.index))
    need = max(1.0, 0.5 * 3600.0 / step_s)
    grouped = frame.resample("1h", origin=origin)
    return grouped.mean().where(grouped.count() >= need)


def _month_hours(hourly: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    index = pd.date_range(start, end, freq="h", inclusive="left")
    return hourly.reindex(index)


def _known(series: pd.Series) -> tuple[float, int]:
    return float(series.sum(min_count=1) if series.notna().any() else 0.0), int(
        series.notna().sum()
    )


def _daily(series: pd.Series, timezone: str, days: int) -> pd.Series:
    local = series.index.tz_convert(timezone)
    by_day = series.groupby(local.day).sum(min_count=1)
    return by_day.reindex(range(1, days + 1))


def predict_month(
    history: pd.Series, timezone: str, start: pd.Timestamp, end: pd.Timestamp
) -> tuple[pd.Series, dict[str, Any]]:
    """Power of every UTC hour of ``[start, end)`` [kW] predicted by the seasonal baseline from
    ``history`` (UTC hours before ``start``): each hour is the mean of the same local hour on the
    :data:`BASELINE_DAYS` days before it, days of the month taking their own predictions (so
    nothing of the month itself is used); an hour of the day never seen gets the history's mean.
    And the baseline's description."""
    history = history[history.index + pd.Timedelta(hours=1) <= start]
    targets = pd.date_range(start.ceil("h"), end, freq="h", inclusive="left", name="ts")
    known = history.dropna()
    if known.empty:
        raise InsightsError("no readings before the month, so no baseline")
    history_days = float(known.size) / 24.0
    # only the window before the month counts (a day more for a DST switch)
    recent = history[history.index >= start - pd.Timedelta(days=BASELINE_DAYS + 1)]
    if recent.notna().any():
        history, known = recent, recent.dropna()
    full = pd.date_range(history.index[0], targets[-1], freq="h", name="ts")
    grid = HourGrid(history.reindex(full), timezone)
    pos = grid.positions(targets)
    grid.extend(int(pos.max()) + 1)
    values = grid.values
    fallback = float(known.mean())
    back = 24 * np.arange(1, BASELINE_DAYS + 1)
    order = np.unique(pos)
    # a block of fewer than 24 consecutive positions depends only on earlier blocks
    for block in np.split(order, np.flatnonzero(np.diff((order - order[0]) // 24)) + 1):
        look = block[:, None] - back[None, :]
        past = np.where(look >= 0, values[np.clip(look, 0, None)], np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=RuntimeWarning)
            mean = np.nanmean(past, axis=1)
        values[block] = np.where(np.isnan(mean), fallback, mean)
    description = {
        "name": "seasonal baseline",
        "window_days": BASELINE_DAYS,
        "history_days": round(history_days, 2),
    }
    return pd.Series(values[pos], index=targets), description


def monthly_saving(
    utc_hourly: pd.Series,
    timezone: str,
    month: str,
    tariff: Tariff | None,
    g_per_kwh: float | None,
) -> dict[str, Any]:
    """Predicted − actual energy of ``month`` [kWh] (and its money and CO2), from a model fitted
    on the UTC hours before it (see the module docstring); ``{"available": False, "reason"}``
    without a day of readings before the month or in it."""
    start, end = month_bounds(month, timezone)
    before = utc_hourly[utc_hourly.index + pd.Timedelta(hours=1) <= start]
    if before.notna().sum() < 24:
        return {
            "available": False,
            "reason": "fewer than 24 hours of readings before this month, so no baseline",
        }
    actual = utc_hourly[(utc_hourly.index >= start.ceil("h")) & (utc_hourly.index < end)]
    if actual.notna().sum() < 24:
        return {"available": False, "reason": "fewer than 24 hours of readings this month"}
    first = before.first_valid_index()
    try:
        predicted, model = predict_month(before.loc[first:], timezone, start, end)
    except InsightsError as err:
        return {"available": False, "reason": str(err)}
    joined = pd.DataFrame({"predicted": predicted, "actual": actual}).dropna()
    predicted_kwh = float(joined["predicted"].sum())
    actual_kwh = float(joined["actual"].sum())
    saved = predicted_kwh - actual_kwh
    out: dict[str, Any] = {
        "available": True,
        "predicted_kwh": predicted_kwh,
        "actual_kwh": actual_kwh,
        "saved_kwh": saved,
        "saved_pct": 100.0 * saved / predicted_kwh if predicted_kwh > 0 else None,
        "hours": len(joined),
        "model": model,
        "saved_co2_kg": None if g_per_kwh is None else saved * g_per_kwh / 1000.0,
        "saved_money": None,
    }
    if tariff is not None:
        cost = tariff.cost(joined["predicted"]).sum() - tariff.cost(joined["actual"]).sum()
        out["saved_money"] = float(cost)
    return out


def _comparison(
    label: str, month: str, hourly: pd.Series, timezone: str, per_day: float | None
) -> dict[str, Any]:
    start, end = month_bounds(month, timezone)
    energy, known = _known(_month_hours(hourly.to_frame(), start, end).iloc[:, 0])
    out: dict[str, Any] = {"what": label, "month": month, "label": month_label(month)}
    if known < MIN_COMPARE_HOURS:
        out["available"] = False
        return out
    other = energy / (known / 24.0)
    out.update(
        {
            "available": True,
            "energy_kwh": energy,
            "per_day_kwh": other,
            "change_pct": None if per_day is None or other <= 0 else 100 * (per_day / other - 1),
        }
    )
    return out


def _alert_counts(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    counts: dict[str, dict[str, int]] = {}
    for alert in alerts:
        if alert.get("kind", "alert") != "alert":
            continue
        rules = counts.setdefault(str(alert.get("level", "unknown")), {})
        rule = str(alert.get("rule", "other"))
        rules[rule] = rules.get(rule, 0) + 1
    order = {level: i for i, level in enumerate(LEVEL_ORDER)}
    return [
        {"level": level, "count": sum(rules.values()), "rules": dict(sorted(rules.items()))}
        for level, rules in sorted(counts.items(), key=lambda kv: order.get(kv[0], 99))
    ]


def compute(inp: ReportInput) -> Figures:
    """Every figure of ``inp``'s month (see the module docstring)."""
    tz = inp.timezone
    start, end = month_bounds(inp.month, tz)
    days = (end.tz_convert(tz).normalize() - start.tz_convert(tz).normalize()).days
    hours = int(round((end - start) / pd.Timedelta(hours=1)))
    fig = Figures(
        household=inp.household,
        name=inp.name,
        timezone=tz,
        month=inp.month,
        label=month_label(inp.month),
        start=start,
        end=end,
        days_in_month=days,
        hours_in_month=hours,
        estimated=inp.estimated,
        schedules=inp.schedules,
    )
    fig.alerts = _alert_counts(inp.alerts)
    if inp.tariff is not None:
        fig.currency, fig.tariff_name = inp.tariff.currency, inp.tariff.name
    if inp.carbon is not None:
        fig.g_per_kwh = float(inp.carbon["g_per_kwh"])
        fig.carbon_source, fig.zone = inp.carbon.get("source"), inp.carbon.get("zone")
    frame = inp.frame
    if "Overall" not in frame.columns or frame.empty:
        return fig
    frame = frame[frame.index < end]
    minute = minute_frame(frame)
    hourly = local_hours(minute, start)
    history = inp.history
    if history is not None and "Overall" in history.columns and history["Overall"].notna().any():
        history = history[history.index < start]
        hourly = pd.concat([local_hours(history, start), hourly])
        hourly = hourly[~hourly.index.duplicated(keep="last")].sort_index()
        month_utc = hourly_power_kw(frame["Overall"])
        before_utc = hourly_power_kw(history["Overall"])
        utc_hourly = pd.concat([before_utc[before_utc.index < month_utc.index[0]], month_utc])
        utc_hourly = utc_hourly.reindex(
            pd.date_range(utc_hourly.index[0], utc_hourly.index[-1], freq="h", name="ts")
        )
    else:
        utc_hourly = hourly_power_kw(frame["Overall"])
    month_hourly = _month_hours(hourly, start, end)
    overall = month_hourly["Overall"]
    fig.energy_kwh, fig.known_hours = _known(overall)
    if not fig.has_data:
        return fig
    fig.daily_kwh = _daily(overall, tz, days)
    prev = add_months(inp.month, -1)
    prev_start, prev_end = month_bounds(prev, tz)
    prev_overall = _month_hours(hourly, prev_start, prev_end)["Overall"]
    if prev_overall.notna().any():
        prev_days = (
            prev_end.tz_convert(tz).normalize() - prev_start.tz_convert(tz).normalize()
        ).days
        fig.prev_daily_kwh = _daily(prev_overall, tz, prev_days)
    fig.prev_label = month_label(prev)
    # hour of day × day of month
    local = overall.index.tz_convert(tz)
    grid = overall.groupby([local.hour, local.day]).sum(min_count=1).unstack()
    fig.heatmap_kwh = grid.reindex(index=range(24), columns=range(1, days + 1)).to_numpy(
        dtype="float64"
    )
    # channel shares
    tracked = 0.0
    for channel in inp.channels:
        if channel == "Overall" or channel not in month_hourly.columns:
            continue
        energy = float(month_hourly[channel][overall.notna()].sum())
        tracked += energy
        fig.shares.append(
            {"channel": channel, "energy_kwh": energy, "estimated": channel in inp.estimated}
        )
    fig.shares.append(
        {
            "channel": "untracked",
            "energy_kwh": max(fig.energy_kwh - tracked, 0.0),
            "estimated": False,
        }
    )
    total = sum(s["energy_kwh"] for s in fig.shares) or 1.0
    for share in fig.shares:
        share["share_pct"] = 100.0 * share["energy_kwh"] / total
    # peak demand: the highest 15-minute mean
    month_minute = minute[(minute.index >= start) & (minute.index < end)]["Overall"]
    step_s = resolution_s(pd.DatetimeIndex(month_minute.index))
    quarter = month_minute.resample("15min", origin=start)
    means = quarter.mean().where(quarter.count() >= max(1.0, 0.5 * 900 / step_s))
    if means.notna().any():
        fig.peak_kw = float(means.max())
        fig.peak_at = means.idxmax().tz_convert(tz)
    # cost and carbon
    if inp.tariff is not None:
        fig.by_period = inp.tariff.cost_by_period(overall)
        fig.energy_cost = float(sum(p["cost"] for p in fig.by_period))
        fig.standing_charge = float(inp.tariff.standing_charge(days))
        fig.cost = fig.energy_cost + fig.standing_charge
    if fig.g_per_kwh is not None:
        fig.co2_kg = fig.energy_kwh * fig.g_per_kwh / 1000.0
    # comparisons (per day, so that months of other lengths and coverage compare)
    fig.comparisons = [
        _comparison("previous month", prev, hourly["Overall"], tz, fig.per_day_kwh),
        _comparison(
            "same month a year earlier",
            add_months(inp.month, -12),
            hourly["Overall"],
            tz,
            fig.per_day_kwh,
        ),
    ]
    # savings against the forecast baseline, and their sum since the household's first month
    fig.saving = monthly_saving(utc_hourly, tz, inp.month, inp.tariff, fig.g_per_kwh)
    fig.cumulative = _cumulative(inp, utc_hourly, fig)
    month_frame = minute[(minute.index >= start) & (minute.index < end)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        fig.recommendations = recommendations(
            month_frame, tz, inp.tariff, fig.g_per_kwh, as_of=end, days=days
        )[:3]
    return fig


def _cumulative(inp: ReportInput, utc_hourly: pd.Series, fig: Figures) -> dict[str, Any]:
    """CO2 saved since the household's first month [kg], this month included."""
    if fig.g_per_kwh is None:
        return {"available": False, "reason": "no carbon intensity for this household's zone"}
    first_s = inp.joined_s
    if first_s is None:
        known = utc_hourly.first_valid_index()
        first_s = known.timestamp() if known is not None else fig.start.timestamp()
    first = min(month_of(first_s, inp.timezone), inp.month)
    first = max(first, add_months(inp.month, -MAX_PRIOR_MONTHS))
    total = fig.saving.get("saved_co2_kg") or 0.0
    counted = 1 if fig.saving.get("available") else 0
    month = first
    while month < inp.month:
        known = inp.prior.get(month)
        if known is not None:
            saved = known.get("saved_co2_kg")
        else:
            saved = monthly_saving(utc_hourly, inp.timezone, month, None, fig.g_per_kwh).get(
                "saved_co2_kg"
            )
        if saved is not None:
            total += saved
            counted += 1
        month = add_months(month, 1)
    return {
        "available": True,
        "since": first,
        "since_label": month_label(first),
        "co2_kg": total,
        "months": counted,
    }
