"""Grid carbon intensity for Gridlight households [g CO2/kWh].

A small table of yearly averages ships with the package (``carbon_intensity.json``: Ember's
yearly electricity data for 2023, source named in the file). A household's zone is its country,
found from its IANA time zone through tzdata's ``zone.tab`` (``Asia/Kolkata`` → ``IN``,
``Europe/Paris`` → ``FR``, ``Europe/London`` → ``GB``), unless the household names one.

:class:`CarbonIntensity` answers the intensity of a zone: the last good live value when a feed
(HTTP JSON or MQTT, wired by the server) has given one, else the table's yearly average. A feed
that fails leaves the last good value in use and marks the zone degraded.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from server.insights.errors import CarbonError

__all__ = ["CarbonIntensity", "LiveValue", "carbon_table", "co2_kg", "zone_for_timezone"]

#: Intensities outside this range are not electricity grids. [g CO2/kWh]
MAX_G_PER_KWH = 2000.0

# Old names that zone.tab does not list.
_ALIASES = {
    "Asia/Calcutta": "IN",
    "Europe/Kiev": "UA",
    "US/Eastern": "US",
    "US/Central": "US",
    "US/Mountain": "US",
    "US/Pacific": "US",
    "GB": "GB",
    "Europe/Belfast": "GB",
}


@cache
def carbon_table() -> dict[str, Any]:
    """The shipped table: ``{"unit", "year", "source", "zones": {code: g CO2/kWh}}``."""
    text = resources.files("server.insights").joinpath("carbon_intensity.json").read_text()
    return json.loads(text)


@cache
def _zone_tab() -> dict[str, str]:
    text = resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            fields = line.split("\t")
            out[fields[2]] = fields[0]
    return out


def zone_for_timezone(timezone: str, override: str | None = None) -> str:
    """The carbon zone (ISO 3166 country code) of an IANA time zone, or ``override``."""
    if override:
        return override.upper()
    zone = _zone_tab().get(timezone) or _ALIASES.get(timezone)
    if zone is None:
        raise CarbonError(
            f"no carbon zone for time zone {timezone!r}: give the household's zone "
            "(a country code such as 'IN') explicitly"
        )
    return zone


@dataclass(frozen=True)
class LiveValue:
    """A live intensity reading of a zone. [g CO2/kWh, UTC]"""

    g_per_kwh: float
    at: dt.datetime


class CarbonIntensity:
    """Intensity per zone: last good live value, else the shipped yearly average.

    ``update(zone, g_per_kwh, at)`` stores a live value (validated); ``failed(zone, reason)``
    records a failed fetch without dropping the last good value; ``degraded()`` lists the zones
    whose feed is failing (for ``/healthz``).
    """

    def __init__(self, table: dict[str, float] | None = None) -> None:
        self._table = dict(carbon_table()["zones"] if table is None else table)
        self._live: dict[str, LiveValue] = {}
        self._failing: dict[str, str] = {}

    def update(self, zone: str, g_per_kwh: float, at: dt.datetime) -> None:
        value = float(g_per_kwh)
        if not math.isfinite(value) or not 0 <= value <= MAX_G_PER_KWH:
            raise CarbonError(
                f"carbon intensity {g_per_kwh!r} for {zone!r} is outside 0-{MAX_G_PER_KWH:g} g/kWh"
            )
        self._live[zone.upper()] = LiveValue(value, at)
        self._failing.pop(zone.upper(), None)

    def failed(self, zone: str, reason: str) -> None:
        self._failing[zone.upper()] = reason

    def degraded(self) -> dict[str, str]:
        return dict(self._failing)

    def g_per_kwh(self, zone: str) -> float:
        """The intensity in use for ``zone`` [g CO2/kWh]."""
        zone = zone.upper()
        if zone in self._live:
            return self._live[zone].g_per_kwh
        try:
            return float(self._table[zone])
        except KeyError:
            known = ", ".join(sorted(self._table))
            raise CarbonError(f"unknown carbon zone {zone!r} (known: {known})") from None

    def describe(self, zone: str) -> dict[str, Any]:
        """``{"zone", "g_per_kwh", "source"}`` for JSON."""
        zone = zone.upper()
        value = self.g_per_kwh(zone)
        if zone in self._live:
            live = self._live[zone]
            source = f"live feed at {live.at.isoformat()}"
        else:
            meta = carbon_table()
            source = f"yearly average {meta['year']}: {meta['source']}"
        return {"zone": zone, "g_per_kwh": value, "source": source}


def co2_kg(energy_kwh: pd.Series | np.ndarray | float, g_per_kwh: float) -> Any:
    """Emissions of ``energy_kwh`` at an intensity [kg CO2]."""
    return energy_kwh * (g_per_kwh / 1000.0)
