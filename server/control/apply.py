"""A recommendation's ``action`` (:mod:`server.insights.recommend`) as a deferrable load.

``POST /api/v1/households/{h}/recommendations/{id}/apply`` looks the recommendation up among the
household's current ones and maps a ``{"type": "schedule", "state": "on", "channel": …,
"window": {"start": "HH:MM", "end": "HH:MM", "timezone": …}}`` action (``shift-water-heating``)
to a :class:`~server.control.schedules.Load`:

* ``id``: the recommendation's id; it replaces a load of that id already in the schedule;
* ``device``: the body's ``device``, else the household's device whose id or name is the
  channel's (case-insensitive), else its only ``water_heater`` for a water-heating channel;
* ``earliest_start`` / ``deadline``: the window's next local occurrence (from now; a window
  already open starts now and ends at its end);
* ``energy_kwh``: the body's, else a day's share of the recommendation's movable energy
  (``evidence.movable_kwh_per_month`` / 30.44), at most what the window holds at the power;
* ``power_kw``: the body's, else the device's rated power, else ``evidence.rated_kw``.

An action that switches something off for a while (``empty-home``) is not a load to deliver:
it is refused like a recommendation without an action (400).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pandas as pd
from pydantic import Field

from server.control.devices import DeviceId
from server.control.errors import Conflict
from server.errors import InvalidParameter
from server.validation import Body, number

__all__ = ["ApplyRequest", "load_of"]

MONTH_DAYS = 30.44
WATER_RE = re.compile(r"^(Geyser|WaterHeater|Boiler|HotWater|HeaterAC)$", re.IGNORECASE)


class ApplyRequest(Body):
    """Optional overrides of what the recommendation's action implies."""

    device: DeviceId | None = Field(None, description="the device to switch (default: matched)")
    energy_kwh: number(0.01, 500, description="energy to deliver [kWh]") | None = None
    power_kw: number(0.01, 100, description="rated power while on [kW]") | None = None


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def next_window(window: dict[str, Any], now_s: float, step_s: int = 900) -> tuple[int, int]:
    """``(start_s, end_s)`` of the window's next local occurrence with a whole ``step_s`` slot
    left (an open window starts at the next slot)."""
    zone = window.get("timezone") or "UTC"
    now = pd.Timestamp(now_s, unit="s", tz="UTC").tz_convert(zone)
    start_m, end_m = _minutes(window["start"]), _minutes(window["end"])
    length_m = (end_m - start_m) % 1440 or 1440
    for days in (-1, 0, 1):
        day = (now + dt.timedelta(days=days)).normalize()
        start = day + pd.Timedelta(minutes=start_m)
        end = start + pd.Timedelta(minutes=length_m)
        first = max(int(start.timestamp()), -(-int(now_s) // step_s) * step_s)
        if int(end.timestamp()) - first >= step_s:
            return first, int(end.timestamp())
    raise AssertionError("unreachable: one of three days' windows is ahead")


def _device(devices: list[Any], channel: str, wanted: str | None) -> Any:
    if wanted is not None:
        for device in devices:
            if device.id == wanted:
                return device
        raise Conflict(f"the household has no controllable device {wanted!r}")
    for device in devices:
        if channel.lower() in (device.id.lower(), (device.name or "").lower()):
            return device
    if WATER_RE.match(channel):
        heaters = [d for d in devices if d.kind == "water_heater"]
        if len(heaters) == 1:
            return heaters[0]
    raise Conflict(
        f"no controllable device matches the channel {channel!r}: register one (PUT …/controls) "
        "with that id or name, or a single water_heater, or name it in the body's 'device'"
    )


def load_of(
    rec: dict[str, Any], devices: list[Any], body: ApplyRequest, now_s: float, step_s: int = 900
) -> dict[str, Any]:
    """The load (the JSON of a :class:`~server.control.schedules.Load`) the action implies."""
    action = rec.get("action")
    if not action:
        raise InvalidParameter(f"recommendation {rec['id']!r} has no action to apply")
    if action.get("type") != "schedule" or action.get("state") != "on":
        raise InvalidParameter(
            f"recommendation {rec['id']!r}'s action switches {action.get('channel')} "
            f"{action.get('state')} for a while; it is not a deferrable load (an automation or a "
            "command does it)"
        )
    channel = str(action.get("channel") or "")
    device = _device(devices, channel, body.device)
    start_s, end_s = next_window(action["window"], now_s, step_s)
    evidence = rec.get("evidence") or {}
    power = body.power_kw or device.power_kw or evidence.get("rated_kw")
    if not power:
        raise InvalidParameter(
            f"no power for device {device.id!r}: give 'power_kw' in the body or the device's"
        )
    power = float(power)
    hours = (end_s - start_s) // step_s * step_s / 3600  # whole slots
    energy = body.energy_kwh
    if energy is None:
        daily = float(evidence.get("movable_kwh_per_month") or 0.0) / MONTH_DAYS
        energy = max(0.01, min(daily, power * hours))
    return {
        "id": rec["id"],
        "device": device.id,
        "energy_kwh": round(float(energy), 4),
        "power_kw": round(power, 4),
        "earliest_start": start_s,
        "deadline": end_s,
    }
