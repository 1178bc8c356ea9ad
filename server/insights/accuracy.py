"""How good a day-ahead forecast was: the forecast issued at a day's local midnight (using only
the readings before it) beside the day's metered whole-house energy, hour by hour.

* **The day** is a local calendar day of the household. Forecasts work on whole UTC hours, so
  the day's hours are the UTC hours that *start* within it (``[midnight, next midnight)``):
  24 in most zones, 23 or 25 on a DST change, and in a zone with a half-hour offset
  (Asia/Kolkata) the hours run from 00:30 to 00:30 local time.
* **The forecast** is :func:`server.insights.forecast.forecast` issued at that midnight: its
  model is fitted on the hours complete before it (the same-hour baseline under 14 days of
  history, as the live forecast).
* **The actual** is the hour's mean whole-house (``Overall``) power [kW] = its energy [kWh]
  (:func:`server.insights.hourly.hourly_power_kw`: an hour with under half its samples is
  unknown, ``null``, and left out of every error).
* **The errors**, over the hours whose actual is known:

  - ``wape_pct``, the weighted absolute percentage error of the hours:
    ``100 · Σ|P50 − actual| / Σ actual`` (how far the hourly profile was off, as a share of
    the energy used; the figure the dashboard writes);
  - ``daily_energy_error_pct``, the signed error of the day's energy:
    ``100 · (Σ P50 − Σ actual) / Σ actual`` (positive: the forecast expected more);
  - ``band_coverage_pct``, the share of hours whose actual lies within P10–P90 (about 80 %
    for a well-calibrated band).

  With no energy used (``Σ actual = 0``) the percentages are ``null``.

Pure: pandas in, a dictionary out (no Flask, no storage).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from server.insights.forecast import ForecastModel, forecast

__all__ = ["accuracy", "day_bounds"]


def day_bounds(day: dt.date, timezone: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The UTC instants of ``day``'s local midnight and the next one."""

    def midnight(d: dt.date) -> pd.Timestamp:
        local = pd.Timestamp(d).tz_localize(timezone, ambiguous=False, nonexistent="shift_forward")
        return local.tz_convert("UTC").as_unit("ns")

    return midnight(day), midnight(day + dt.timedelta(days=1))


def _r(value: float | None, digits: int = 4) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), digits)


def accuracy(
    hourly: pd.DataFrame,
    timezone: str,
    day: dt.date,
    *,
    household: str = "",
    model: ForecastModel | None = None,
) -> dict[str, Any]:
    """Day-ahead forecast of ``day`` against what happened (see the module doc).

    ``hourly`` holds hourly means [kW] by UTC hour start (``Overall``, and a temperature channel
    when the household has one); ``model``, when given, must have been trained no later than
    the day's midnight (else one is fitted here, as :func:`forecast` does).
    """
    start, end = day_bounds(day, timezone)
    first = start.ceil("h")
    horizon_h = int((end - first) / pd.Timedelta(hours=1)) + (0 if end == end.floor("h") else 1)
    fc = forecast(hourly, timezone, start, horizon_h, household=household, model=model)
    actual = hourly["Overall"] if "Overall" in hourly.columns else pd.Series(dtype="float64")
    hours: list[dict[str, Any]] = []
    p10, p50, p90, real = [], [], [], []
    for hour in fc["hours"]:
        ts = pd.Timestamp(hour["ts"])
        value = actual.get(ts, np.nan)
        value = float(value) if value is not None and np.isfinite(value) else np.nan
        band = hour["energy_kwh"]
        hours.append({"ts": hour["ts"], "forecast_kwh": band, "actual_kwh": _r(value)})
        p10.append(band["p10"])
        p50.append(band["p50"])
        p90.append(band["p90"])
        real.append(value)
    a = np.asarray(real, dtype="float64")
    known = np.isfinite(a)
    f = np.asarray(p50, dtype="float64")[known]
    lo = np.asarray(p10, dtype="float64")[known]
    hi = np.asarray(p90, dtype="float64")[known]
    a = a[known]
    total = float(a.sum())
    used = total > 0
    return {
        "household": household,
        "day": day.isoformat(),
        "timezone": timezone,
        "issued_at": fc["issued_at"],
        "model": fc["model"],
        "hours_compared": int(known.sum()),
        "forecast_kwh": _r(float(f.sum())) if known.any() else None,
        "actual_kwh": _r(total) if known.any() else None,
        "wape_pct": _r(100.0 * float(np.abs(f - a).sum()) / total, 2) if used else None,
        "daily_energy_error_pct": _r(100.0 * (float(f.sum()) - total) / total, 2) if used else None,
        "band_coverage_pct": _r(100.0 * float(((a >= lo) & (a <= hi)).mean()), 1)
        if known.any()
        else None,
        "hours": hours,
    }
