"""Evaluate Gridlight's day-ahead demand forecasts (``server.insights``) on real and synthetic homes.

``python benchmarks/eval_forecast.py [--quick]``

For every test day of each household a forecast is issued at local midnight for the next 24 hours
from the readings before it (the model retrained every 7 days, as a server caching it would, and
always fed the latest readings). Hourly MAE of the P50 is compared with two baselines computed in
the same run from the same history: the mean of the same local hour over the previous 28 days, and
the same hour of the previous day; plus the share of hours inside P10-P90. Households:

* the real UCI house (Sceaux, France; 1-minute readings 2006-12-16 to 2007-04-20), imported from
  ``../shared/data/real/`` (or ``$GRIDLIGHT_REAL_DATA``);
* synthetic A/B/C, 120 days from 2026-02-02 (seed 7), averaged to 1 minute. The generator's own
  outdoor temperature is given to their models as the weather forecast (a perfect one).

Test days are those with 28 days of history before them. Targets: P50 MAE >= 10% below the
28-day same-hour mean on average, no test week worse than it, P10-P90 holding 70-90% of hours.
Exits 1 when a target is missed. Then recommendation savings are checked against simulation
(:func:`check_savings`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from generator.importers.uci import import_uci  # noqa: E402
from generator.profile_loader import resolve_profiles  # noqa: E402
from generator.synth import generate  # noqa: E402
from generator.weather import Weather  # noqa: E402
from server.insights.features import HourGrid  # noqa: E402
from server.insights.forecast import fit_model  # noqa: E402
from server.insights.hourly import hourly_power_kw  # noqa: E402

REAL = Path(os.environ.get("GRIDLIGHT_REAL_DATA", ROOT.parent / "shared" / "data" / "real"))
UCI_FILE = "uci_household_power_2006-12-16_to_2007-04-20.txt"
SYNTH = {"days": 120, "seed": 7, "start": "2026-02-02"}
RETRAIN_DAYS = 7


def load_households(quick: bool) -> list[dict]:
    """``[{"id", "timezone", "frame", "temp_c"}]``: UCI then A/B/C at 1-minute resolution."""
    out = []
    uci = import_uci(REAL / UCI_FILE, "uci").dataset
    out.append(
        {
            "id": "uci",
            "timezone": uci.households["uci"].timezone,
            "frame": uci.frame("uci"),
            "temp_c": None,
        }
    )
    days = 60 if quick else SYNTH["days"]
    for hid in ("A",) if quick else ("A", "B", "C"):
        ds = generate(households=[hid], days=days, seed=SYNTH["seed"], start=SYNTH["start"])
        frame = ds.frame(hid).resample("60s").mean()
        info = ds.households[hid]
        site = resolve_profiles([hid])[0].site
        t0 = int(frame.index[0].timestamp())
        t1 = int(frame.index[-1].timestamp()) + 3600
        hours = pd.date_range(frame.index[0].floor("h"), frame.index[-1], freq="h")
        weather = Weather(site, SYNTH["seed"], t0 - 86400, t1 + 86400)
        temp = weather.temp_c(hours.asi8 / 1e9 + 1800.0)
        out.append(
            {
                "id": hid,
                "timezone": info.timezone,
                "frame": frame,
                "temp_c": pd.Series(temp, index=hours),
            }
        )
    return out


def evaluate(house: dict, quick: bool) -> pd.DataFrame:
    """One row per forecast hour: ts, day, actual, p10/p50/p90, base28, base1."""
    tz = house["timezone"]
    hourly = hourly_power_kw(house["frame"]["Overall"])
    local = hourly.index.tz_convert(tz)
    first_day = (local[0].normalize() + pd.Timedelta(days=29)).tz_localize(None)
    last_day = (local[-1].normalize() - pd.Timedelta(days=1)).tz_localize(None)
    days = pd.date_range(first_day, last_day, freq="D")
    if quick:
        days = days[-14:]
    rows = []
    model = None
    for i, day in enumerate(days):
        issued = day.tz_localize(tz).tz_convert("UTC")
        history = hourly[hourly.index + pd.Timedelta(hours=1) <= issued]
        if model is None or i % RETRAIN_DAYS == 0:
            model = fit_model(history, tz, issued, temp_c=house["temp_c"])
        q = model.predict(history, issued, 24, temp_c=house["temp_c"])
        grid = HourGrid(history, tz)
        pos = grid.positions(q.index)
        grid.extend(int(pos.max()) + 1)
        lead_day = pos - 24 * np.maximum(1, -(-(pos - grid.last) // 24))
        past = np.vstack([grid.values[lead_day - 24 * d] for d in range(28)])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            base28 = np.nanmean(past, axis=0)
        frame = q.copy()
        frame["actual"] = hourly.reindex(q.index).to_numpy()
        frame["base28"] = base28
        frame["base1"] = grid.values[lead_day]
        frame["day"] = day
        rows.append(frame)
    out = pd.concat(rows)
    return out.dropna(subset=["actual", "base28", "base1"])


def summarise(hid: str, r: pd.DataFrame) -> dict:
    err = (r["p50"] - r["actual"]).abs()
    e28 = (r["base28"] - r["actual"]).abs()
    e1 = (r["base1"] - r["actual"]).abs()
    inside = ((r["actual"] >= r["p10"]) & (r["actual"] <= r["p90"])).mean()
    week = ((r["day"] - r["day"].min()).dt.days // 7).to_numpy()
    weekly = pd.DataFrame({"m": err.to_numpy(), "b": e28.to_numpy(), "w": week}).groupby("w")
    ratios = (weekly["m"].mean() / weekly["b"].mean()).to_numpy()
    return {
        "household": hid,
        "days": r["day"].nunique(),
        "hours": len(r),
        "mae_kw": err.mean(),
        "mae_base28_kw": e28.mean(),
        "mae_base1_kw": e1.mean(),
        "gain_vs_28": 1 - err.mean() / e28.mean(),
        "gain_vs_1": 1 - err.mean() / e1.mean(),
        "coverage": inside,
        "weeks": len(ratios),
        "worst_week_ratio": float(ratios.max()),
        "weeks_worse": int((ratios > 1).sum()),
        "week_ratios": " ".join(f"{x:.2f}" for x in ratios),
    }


def _simulated_shift(minute_kw: pd.Series, tariff) -> float:
    """Money saved by heating each minute's water in the cheapest of the 8 hours before it."""
    hours = pd.date_range(
        minute_kw.index[0].floor("h") - pd.Timedelta(hours=8),
        minute_kw.index[-1].floor("h"),
        freq="h",
    )
    hourly_price = pd.Series(tariff.hourly_prices(hours), index=hours)
    cheapest = hourly_price.rolling(8, min_periods=1).min().shift(1)  # hours before, not this one
    now = tariff._prices_ns(minute_kw.index.as_unit("ns").asi8)  # each minute's own price
    best = cheapest.reindex(minute_kw.index.floor("h")).to_numpy()
    gain = np.where(now - best > 0.02 * now, now - best, 0.0)
    return float(np.nansum(minute_kw.to_numpy() / 60.0 * gain))


def check_savings(houses: list[dict]) -> bool:
    """Estimate savings on 28 days of a synthetic home, then apply the change to the *next* 28
    days of its readings (minute by minute) and compare: within +-25% is a PASS."""
    from server.insights.recommend import EFFICIENT_BASELOAD_KW, MONTH_DAYS, recommendations
    from server.insights.tariff import default_tariff

    ok = True
    print("recommendation savings per month: estimate (days -56..-28) vs simulated (next 28 days)")
    for house in houses:
        frame, tz = house["frame"], house["timezone"]
        tariff = default_tariff(tz)
        split = frame.index[-1].floor("D") - pd.Timedelta(days=28)
        recs = {r["id"]: r for r in recommendations(frame, tz, tariff, 713.0, as_of=split)}
        after = frame[(frame.index >= split) & (frame.index < split + pd.Timedelta(days=28))]
        scale = MONTH_DAYS / (after["Overall"].notna().sum() / 1440.0)
        checks = []
        if "shift-water-heating" in recs:
            est = recs["shift-water-heating"]["saving_per_month"]["money"]
            sim = _simulated_shift(after["Geyser"], tariff) * scale
            checks.append(("shift-water-heating, INR", est, sim))
        if "baseload" in recs:
            excess = recs["baseload"]["evidence"]["baseload_kw"] - EFFICIENT_BASELOAD_KW
            cut = np.minimum(after["Overall"].to_numpy(), excess)  # lowered, never below zero
            prices = tariff._prices_ns(after.index.as_unit("ns").asi8)
            checks.append(
                (
                    "baseload, INR",
                    recs["baseload"]["saving_per_month"]["money"],
                    float(np.nansum(cut / 60.0 * prices)) * scale,
                )
            )
        if not checks:
            print(f"  {house['id']}: no shift or baseload recommendation to simulate")
        for name, est, sim in checks:
            passed = abs(est - sim) <= 0.25 * abs(sim)
            ok &= passed
            print(
                f"{'PASS' if passed else 'FAIL'} {house['id']} {name}: estimate {est:.1f}, "
                f"simulated {sim:.1f} ({est / sim - 1:+.0%})"
            )
    return ok


def time_training() -> bool:
    """Train on a year of 1-minute history (synthetic A) and time a cached forecast."""
    from server.insights.forecast import forecast

    ds = generate(households=["A"], days=365, seed=3, start=SYNTH["start"])
    frame = ds.frame("A").resample("60s").mean()
    del ds
    at = frame.index[-1] + pd.Timedelta(minutes=1)
    began, cpu = time.perf_counter(), time.process_time()
    model = fit_model(hourly_power_kw(frame["Overall"], until=at), "Asia/Kolkata", at)
    # judged on the CPU time: the fit runs on one thread, so on a machine of its own the wall
    # time is the same, while on a shared one the wall time measures the other work too
    train_s = time.process_time() - cpu
    wall_s = time.perf_counter() - began
    runs = []
    for _ in range(5):
        began = time.perf_counter()
        forecast(frame, "Asia/Kolkata", at, 24, model=model)
        runs.append(time.perf_counter() - began)
    cached_s = sorted(runs)[2]
    print(
        f"PASS training, a year of 1-minute history: {train_s:.1f} s CPU, {wall_s:.1f} s wall "
        "(target < 10 s)"
        if train_s < 10
        else f"FAIL training, a year of 1-minute history: {train_s:.1f} s CPU, {wall_s:.1f} s wall"
    )
    print(
        f"(cached-model forecast incl. hourly means of the year: median {cached_s * 1000:.0f} ms)"
    )
    return train_s < 10


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="UCI and A only, last 14 days")
    parser.add_argument("--skip-savings", action="store_true")
    parser.add_argument("--only", nargs="*", help="households to evaluate (default all)")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    houses = load_households(args.quick)
    print(f"data loaded in {time.perf_counter() - began:.1f} s")
    results = []
    for house in houses:
        if args.only and house["id"] not in args.only:
            continue
        t = time.perf_counter()
        r = evaluate(house, args.quick)
        s = summarise(house["id"], r)
        s["seconds"] = time.perf_counter() - t
        results.append(s)
    header = (
        f"{'household':9} {'days':>4} {'MAE P50':>8} {'28-day':>8} {'prev-day':>8} "
        f"{'vs 28d':>7} {'vs 1d':>7} {'P10-P90':>8} {'worst wk':>9} {'time':>6}"
    )
    print(header)
    for s in results:
        print(
            f"{s['household']:9} {s['days']:4d} {s['mae_kw']:8.3f} {s['mae_base28_kw']:8.3f} "
            f"{s['mae_base1_kw']:8.3f} {s['gain_vs_28']:7.1%} {s['gain_vs_1']:7.1%} "
            f"{s['coverage']:8.1%} {s['worst_week_ratio']:9.2f} {s['seconds']:5.0f}s"
        )
    mean_gain = float(np.mean([s["gain_vs_28"] for s in results]))
    worse = sum(s["weeks_worse"] for s in results)
    weeks = sum(s["weeks"] for s in results)
    cov = [s["coverage"] for s in results]
    for s in results:
        print(f"{s['household']:9} weekly MAE / 28-day baseline MAE: {s['week_ratios']}")
    print("(MAE in kW = kWh per hour; 'worst wk' = worst weekly MAE / 28-day baseline MAE)")
    checks = [
        (f"mean MAE gain vs 28-day same-hour mean >= 10%: {mean_gain:.1%}", mean_gain >= 0.10),
        (f"test weeks worse than the 28-day mean: {worse} of {weeks}", worse == 0),
        (
            f"P10-P90 coverage in 70-90%: {min(cov):.1%}-{max(cov):.1%}",
            0.70 <= min(cov) and max(cov) <= 0.90,
        ),
    ]
    ok = True
    for text, passed in checks:
        print(("PASS " if passed else "FAIL ") + text)
        ok &= passed
    if not args.quick:
        ok &= time_training()
    if not args.skip_savings:
        ok &= check_savings([h for h in houses if h["id"] != "uci"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
