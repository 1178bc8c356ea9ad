"""``python -m server forecast ...`` and ``python -m server insights ...``.

``forecast --dataset DIR --household H --at ISO8601 [--horizon-h 24]`` prints the forecast JSON
of ``GET /api/v1/households/{h}/forecast`` as issued at ``--at``, from readings before it only.
``insights --dataset DIR --household H [--at ISO8601]`` prints the forecast, the cost and carbon
of the last 28 days, and the recommendations. Both take ``--tariff FILE`` (a tariff JSON
document; demo households A/B/C default to :func:`~server.insights.tariff.default_tariff`) and
``--zone CODE`` (the carbon zone; by default from the household's time zone). Bad input raises a
``ValueError`` subclass, which ``server.cli`` reports with exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from server.insights.errors import InsightsError, TariffError

__all__ = ["register"]


def _horizon(text: str) -> int:
    from server.insights.forecast import check_horizon

    try:
        return check_horizon(text)
    except InsightsError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", required=True, metavar="DIR", help="dataset directory")
    parser.add_argument("--household", required=True, metavar="H", help="household id")
    parser.add_argument("--tariff", metavar="FILE", help="tariff JSON document")
    parser.add_argument("--zone", metavar="CODE", help="carbon zone (country code, e.g. IN)")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``forecast`` and ``insights`` sub-commands."""
    fc = subparsers.add_parser(
        "forecast",
        help="print a household's hourly P10/P50/P90 demand forecast as JSON",
        description="Forecast a household's hourly demand from the readings before --at.",
    )
    _common(fc)
    fc.add_argument("--at", required=True, metavar="ISO8601", help="issue time (UTC if naive)")
    fc.add_argument(
        "--horizon-h", type=_horizon, default=24, metavar="HOURS", help="hours ahead, 1-168"
    )
    fc.set_defaults(func=run_forecast)
    ins = subparsers.add_parser(
        "insights",
        help="print forecast, cost, carbon and saving recommendations as JSON",
        description="Forecast, cost and carbon of the last 28 days, and recommendations.",
    )
    _common(ins)
    ins.add_argument("--at", metavar="ISO8601", help="as of (default: the end of the data)")
    ins.add_argument("--horizon-h", type=_horizon, default=24, metavar="HOURS")
    ins.set_defaults(func=run_insights)


def _load(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from generator.dataset import read_dataset
    from server.insights.carbon import CarbonIntensity, zone_for_timezone
    from server.insights.tariff import DEMO_HOUSEHOLDS, Tariff, default_tariff

    dataset = read_dataset(args.dataset, faulty=False)
    info = dataset.household(args.household)
    frame = dataset.frame(args.household)
    tariff = None
    if args.tariff:
        try:
            doc = json.loads(Path(args.tariff).read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise TariffError(f"argument --tariff: cannot read {args.tariff!r}: {err}") from err
        tariff = Tariff.from_json(doc, timezone=info.timezone)
    elif info.id in DEMO_HOUSEHOLDS and str(info.source).startswith("synthetic"):
        tariff = default_tariff(info.timezone)
    zone = zone_for_timezone(info.timezone, args.zone)
    carbon = CarbonIntensity().describe(zone)
    return info, frame, tariff, carbon


def _write(doc: dict[str, Any]) -> None:
    json.dump(doc, sys.stdout, indent=2, allow_nan=False)
    sys.stdout.write("\n")


def run_forecast(args: argparse.Namespace) -> int:
    from server.insights.forecast import forecast

    info, frame, tariff, carbon = _load(args)
    _write(
        forecast(frame, info.timezone, args.at, args.horizon_h, tariff, carbon, household=info.id)
    )
    return 0


def run_insights(args: argparse.Namespace) -> int:
    from server.insights.forecast import forecast, parse_time
    from server.insights.hourly import hourly_power_kw
    from server.insights.recommend import recommendations

    info, frame, tariff, carbon = _load(args)
    at = parse_time(args.at) if args.at else frame.index[-1] + pd.Timedelta(seconds=1)
    recent = frame[(frame.index >= at - pd.Timedelta(days=28)) & (frame.index < at)]
    energy = hourly_power_kw(recent["Overall"], until=at)
    days = float(energy.notna().sum()) / 24.0
    total_kwh = float(energy.sum())
    history: dict[str, Any] = {
        "from": recent.index[0].strftime("%Y-%m-%dT%H:%M:%SZ") if len(recent) else None,
        "days": round(days, 2),
        "energy_kwh": round(total_kwh, 2),
        "co2_kg": round(total_kwh * carbon["g_per_kwh"] / 1000.0, 2),
        "carbon": carbon,
    }
    if tariff is not None:
        energy_cost = float(np.nansum(tariff.cost(energy)))
        history.update(
            {
                "currency": tariff.currency,
                "tariff": tariff.to_json(),
                "energy_cost": round(energy_cost, 2),
                "standing_charge": round(tariff.standing_charge(days), 2),
                "cost": round(energy_cost + tariff.standing_charge(days), 2),
                "by_period": tariff.cost_by_period(energy),
            }
        )
    doc = {
        "household": info.id,
        "as_of": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "history": history,
        "forecast": forecast(
            frame, info.timezone, at, args.horizon_h, tariff, carbon, household=info.id
        ),
        "recommendations": recommendations(
            frame, info.timezone, tariff, carbon["g_per_kwh"], as_of=at
        ),
    }
    _write(doc)
    return 0
