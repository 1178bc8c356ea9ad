"""Gridlight insights: demand forecasts, tariffs and cost, carbon, and saving recommendations.

Pure (no Flask, no Redis): functions take a household's frame (one column per channel, UTC
index, average power [kW]; ``Overall`` the whole house) and return plain values or JSON-ready
dicts, for the HTTP layer and the command line alike.

* :func:`forecast` — the forecast JSON (P10/P50/P90 ``power_kw`` and ``energy_kwh`` per hour,
  ``cost``, ``co2_kg``); :func:`fit_model` trains a :class:`ForecastModel` to cache and pass in.
* :meth:`Tariff.from_json` — validates a tariff document (:class:`TariffError` names the
  problem); ``price_at``, ``hourly_prices``, ``cost``, ``cost_by_period``;
  :func:`default_tariff` is the demo households' INR time-of-use tariff.
* :class:`CarbonIntensity` — g CO2/kWh per zone (shipped yearly table, live override);
  :func:`zone_for_timezone` finds a household's zone.
* :func:`recommendations` — ranked saving recommendations.
"""

from server.insights.carbon import CarbonIntensity, carbon_table, co2_kg, zone_for_timezone
from server.insights.errors import CarbonError, ForecastError, InsightsError, TariffError
from server.insights.forecast import (
    MAX_HORIZON_H,
    MIN_MODEL_DAYS,
    ForecastModel,
    check_horizon,
    fit_model,
    forecast,
    hourly_history,
)
from server.insights.hourly import hourly_power_kw
from server.insights.recommend import recommendations
from server.insights.tariff import (
    DEMO_HOUSEHOLDS,
    DynamicTariff,
    FlatTariff,
    Tariff,
    TimeOfUseTariff,
    default_tariff,
)

__all__ = [
    "DEMO_HOUSEHOLDS",
    "MAX_HORIZON_H",
    "MIN_MODEL_DAYS",
    "CarbonError",
    "CarbonIntensity",
    "DynamicTariff",
    "FlatTariff",
    "ForecastError",
    "ForecastModel",
    "InsightsError",
    "Tariff",
    "TariffError",
    "TimeOfUseTariff",
    "carbon_table",
    "check_horizon",
    "co2_kg",
    "default_tariff",
    "fit_model",
    "forecast",
    "hourly_history",
    "hourly_power_kw",
    "recommendations",
    "zone_for_timezone",
]
