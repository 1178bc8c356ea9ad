"""Errors of Gridlight's insights (forecasts, tariffs, carbon, recommendations).

Every one is a :class:`ValueError` subclass so the command line reports it with exit status 2,
and the HTTP layer maps it to a 400 whose message names the problem::

    InsightsError (ValueError)
    ├── TariffError        a tariff document that cannot be used (overlap, gap, price, currency)
    ├── CarbonError        an unknown zone or an impossible intensity
    └── ForecastError      a horizon outside 1-168, no readings before the issue time
"""

from __future__ import annotations

__all__ = ["CarbonError", "ForecastError", "InsightsError", "TariffError"]


class InsightsError(ValueError):
    """Bad input to an insights function; the message names the bad value."""


class TariffError(InsightsError):
    """A tariff document that cannot be used; the message names the problem."""


class CarbonError(InsightsError):
    """An unknown carbon zone or an intensity outside the physical range."""


class ForecastError(InsightsError):
    """A forecast that cannot be made as asked (bad horizon, no history)."""
