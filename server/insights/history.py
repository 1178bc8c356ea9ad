"""``energy_kwh``, ``cost`` and ``co2_kg`` on the rows of ``GET /api/v1/households/{h}/readings``.

The energy of a row is what its readings measured: each stored reading is a 1-second average,
so a channel's energy is its power times the seconds that reported [kWh] (a raw row: power ×
1 s; an aggregated row: mean × count × 1 s). Missing seconds add nothing; they are not filled.
The cost prices each minute's energy at that minute's price of the household's tariff (its
stored one, or the demo's default; ``null`` without a tariff), so a row that spans a tariff
boundary is priced in proportion; ``co2_kg`` is the energy at the zone's intensity in use now
(the live feed's last good value, else the yearly average: past intensities are not stored).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from generator.times import format_ts

__all__ = ["ReadingCosts"]


def _r(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 6)


class ReadingCosts:
    """The ``history_extras`` hook of :class:`server.ingest.Ingest` (see the module doc)."""

    def __init__(self, service: Any, store: Any) -> None:
        self.service = service
        self.store = store

    def __call__(
        self,
        info: Any,
        resolution: str,
        start_s: int,
        end_s: int,
        frame: pd.DataFrame,
        body: dict[str, Any],
    ) -> None:
        household = info.id
        tariff, source, _ = self.service.tariff(household)
        carbon = self.service.carbon_of(household)
        body["currency"] = None if tariff is None else tariff.currency
        body["tariff"] = source
        body["carbon"] = carbon
        rows = body["readings"]
        if not rows:
            return
        g = None if carbon is None else carbon["g_per_kwh"]
        if resolution == "raw":
            energy = frame.astype("float64") / 3600.0  # 1-second readings [kWh]
            cost = self._priced(energy, tariff)
        else:
            minutes = frame if resolution == "1m" else self._minutes(household, start_s, end_s)
            channels = list(dict.fromkeys(c for c, _ in minutes.columns))
            energy = pd.DataFrame(
                {
                    c: minutes[(c, "mean_kw")].to_numpy(dtype="float64")
                    * minutes[(c, "count")].to_numpy(dtype="float64")
                    / 3600.0
                    for c in channels
                },
                index=minutes.index,
            )
            cost = self._priced(energy, tariff)
            if resolution != "1m":
                buckets = self._buckets(energy.index, resolution, info.timezone)
                energy = energy.groupby(buckets).sum(min_count=1)
                cost = cost.groupby(buckets).sum(min_count=1) if cost is not None else None
        by_ts = {format_ts(int(ts.timestamp())): i for i, ts in enumerate(energy.index)}
        for row in rows:
            i = by_ts.get(row["ts"])
            channels = list(row["power_kw"])
            if i is None:
                row["energy_kwh"] = {c: None for c in channels}
                row["cost"] = {c: None for c in channels}
                row["co2_kg"] = {c: None for c in channels}
                continue
            e = {c: float(energy[c].iloc[i]) if c in energy else math.nan for c in channels}
            row["energy_kwh"] = {c: _r(v) for c, v in e.items()}
            row["cost"] = {
                c: None if cost is None or c not in cost else _r(float(cost[c].iloc[i]))
                for c in channels
            }
            row["co2_kg"] = {c: None if g is None else _r(v * g / 1000.0) for c, v in e.items()}

    @staticmethod
    def _priced(energy: pd.DataFrame, tariff: Any) -> pd.DataFrame | None:
        if tariff is None:
            return None
        prices = tariff.prices_at(pd.DatetimeIndex(energy.index))
        return energy.mul(np.asarray(prices, dtype="float64"), axis=0)

    def _minutes(self, household: str, start_s: int, end_s: int) -> pd.DataFrame:
        return self.store.query(household, start_s, end_s, "1m")

    @staticmethod
    def _buckets(index: pd.DatetimeIndex, resolution: str, timezone: str) -> pd.DatetimeIndex:
        """Each minute's row, as :meth:`ReadingStore.query` buckets them."""
        if resolution == "1d":
            local = index.tz_convert(timezone).floor(
                "D", ambiguous=False, nonexistent="shift_forward"
            )
            return local.tz_convert("UTC")
        return index.floor({"15m": "15min", "1h": "1h"}[resolution])
