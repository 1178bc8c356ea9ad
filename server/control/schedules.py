"""Schedules: deferrable loads in (``PUT …/schedule``), a plan out, against prices, carbon and the
forecast base load, planned by :mod:`server.control.milp`.

The inputs come through one small interface, ``inputs(household, start_s, hours) →``
:class:`PlanInputs` (hourly prices, carbon intensity and base load), so that the tariff storage
and forecasts of the insights HTTP layer plug in later; :func:`default_inputs` uses
:mod:`server.insights`' pure functions: the demo time-of-use tariff
(:func:`~server.insights.default_tariff`, in the household's zone), the shipped carbon table for
the household's zone, and no base load (0 kW) until a forecast is passed in.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from pydantic import ConfigDict, Field, model_validator

from generator.times import format_ts, parse_ts
from server.control.devices import DeviceId
from server.control.milp import LoadSpec, PlanError, plan_loads, slots_needed
from server.storage.database import Database
from server.validation import Body, Flag, expect, number, problem, whole

__all__ = [
    "Load",
    "PlanInputs",
    "insights_inputs",
    "ScheduleDocument",
    "ScheduleStore",
    "default_inputs",
    "make_plan",
]

MAX_LOADS = 10
Time = Annotated[
    str | int,
    expect("ISO 8601 with a zone (2026-11-22T06:00:00Z) or epoch seconds"),
]


class Load(Body):
    """A deferrable load: energy to deliver at a rated power, between two times."""

    id: DeviceId = Field(description="the load's id (letters, digits, '_' or '-')")
    device: DeviceId | None = Field(None, description="the device the plan switches on and off")
    energy_kwh: number(0.01, 500, description="energy to deliver [kWh]")
    power_kw: number(0.01, 100, description="rated power while on [kW]")
    earliest_start: Time | None = Field(None, description="not before (default: now)")
    deadline: Time | None = Field(None, description="done by (default: the horizon's end)")
    contiguous: Flag = Field(False, description="one uninterrupted run")
    min_on_min: whole(0, 1440, description="shortest run [min]") = 0
    min_off_min: whole(0, 1440, description="shortest pause between runs [min]") = 0
    max_starts: whole(1, 192, description="most runs") | None = None

    @model_validator(mode="after")
    def _times(self) -> Load:
        for name in ("earliest_start", "deadline"):
            value = getattr(self, name)
            if isinstance(value, str):
                try:
                    parse_ts(value)
                except ValueError:
                    raise problem(
                        f"expected ISO 8601 with a zone or epoch seconds, got {value!r}", at=name
                    ) from None
        return self

    def time_s(self, name: str) -> int | None:
        value = getattr(self, name)
        return None if value is None else (value if isinstance(value, int) else parse_ts(value))


class ScheduleDocument(Body):
    """Deferrable loads to plan over the next hours."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "loads": [
                        {
                            "id": "geyser",
                            "device": "plug1",
                            "energy_kwh": 3.0,
                            "power_kw": 2.0,
                            "contiguous": True,
                        }
                    ],
                    "connection_limit_kw": 7.0,
                    "carbon_weight_per_kg": 0.0,
                }
            ]
        }
    )

    loads: Annotated[
        list[Load], Field(max_length=MAX_LOADS), expect(f"a list of at most {MAX_LOADS} loads")
    ] = Field(description="the loads")
    connection_limit_kw: (
        number(0.1, 1000, description="the house's connection limit [kW]") | None
    ) = None
    carbon_weight_per_kg: number(0, 10_000, description="money per kg CO2 in the objective") = 0.0
    horizon_h: whole(1, 48, description="planning horizon [h] (default 24)") | None = None

    @model_validator(mode="after")
    def _unique(self) -> ScheduleDocument:
        seen: set[str] = set()
        for i, load in enumerate(self.loads):
            if load.id in seen:
                raise problem(f"load id {load.id!r} appears twice", at=f"loads[{i}].id")
            seen.add(load.id)
        return self


@dataclass(frozen=True)
class PlanInputs:
    """Hourly inputs from ``start_s`` (an hour start): price [currency/kWh], carbon intensity
    [g CO2/kWh] and the forecast base load [kW]; ``sources`` names where each came from."""

    start_s: int
    price_per_kwh: np.ndarray
    g_co2_per_kwh: np.ndarray
    base_kw: np.ndarray
    currency: str
    sources: dict[str, Any] = field(default_factory=dict)

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for values in (self.price_per_kwh, self.g_co2_per_kwh, self.base_kw):
            digest.update(np.round(np.asarray(values, dtype=float), 6).tobytes())
        return digest.hexdigest()[:16]


Inputs = Callable[[str, int, int], PlanInputs]


def default_inputs(households: Any) -> Inputs:
    """Inputs from :mod:`server.insights`' pure functions (see the module doc)."""
    from server.insights import CarbonIntensity, default_tariff, zone_for_timezone

    carbon = CarbonIntensity()

    def inputs(household: str, start_s: int, hours: int) -> PlanInputs:
        timezone = households.info(household).timezone
        tariff = default_tariff(timezone)
        index = pd.date_range(pd.Timestamp(start_s, unit="s", tz="UTC"), periods=hours, freq="h")
        try:
            info = carbon.describe(zone_for_timezone(timezone))
        except Exception:  # noqa: BLE001 - a zone outside the table: plan on price alone
            info = {"zone": None, "g_per_kwh": 0.0, "source": "unknown zone"}
        return PlanInputs(
            start_s,
            tariff.hourly_prices(index),
            np.full(hours, float(info["g_per_kwh"])),
            np.zeros(hours),
            tariff.currency,
            {"tariff": tariff.name, "carbon": info, "base_load": "none (0 kW)"},
        )

    return inputs


def insights_inputs(service: Any, households: Any) -> Inputs:
    """Inputs from the insights service (:class:`server.insights.service.InsightsService`): the
    household's own tariff (stored, or the demo default), its zone's carbon intensity (live feed
    or table) and the P50 of its demand forecast as the base load. A forecast issued for other
    hours than the plan's (a dataset household is judged as of the end of its data) is used by
    local hour of day; without a tariff or forecast, the pure defaults stand in and ``sources``
    says so."""
    fallback = default_inputs(households)

    def inputs(household: str, start_s: int, hours: int) -> PlanInputs:
        base = fallback(household, start_s, hours)
        sources = dict(base.sources)
        prices, currency = base.price_per_kwh, base.currency
        index = pd.date_range(pd.Timestamp(start_s, unit="s", tz="UTC"), periods=hours, freq="h")
        tariff, source, _ = service.tariff(household)
        if tariff is not None:
            priced = np.asarray(tariff.hourly_prices(index), dtype=float)
            known = np.isfinite(priced)
            if known.any():  # a dynamic tariff's hours without a price yet: their mean
                prices, currency = np.where(known, priced, priced[known].mean()), tariff.currency
                sources["tariff"] = f"{tariff.name} ({source})"
                if not known.all():
                    sources["tariff"] += f"; {int((~known).sum())} h unpriced, at the mean"
            else:
                sources["tariff"] = f"{tariff.name} ({source}): no price for these hours yet"
        carbon = np.asarray(base.g_co2_per_kwh, dtype=float)
        found = service.carbon_of(household)
        if found is not None:
            carbon = np.full(hours, float(found["g_per_kwh"]))
            sources["carbon"] = found
        base_kw = np.zeros(hours)
        try:
            answer = service.forecast(household, min(max(hours, 24), 168))
        except Exception as err:  # noqa: BLE001 - no forecast yet: plan without a base load
            sources["base_load"] = f"none (0 kW): {err}"[:200]
        else:
            by_ts = {h["ts"]: h["power_kw"]["p50"] for h in answer["hours"]}
            stamps = index.strftime("%Y-%m-%dT%H:%M:%SZ")
            if all(s in by_ts for s in stamps):
                base_kw = np.array([by_ts[s] for s in stamps], dtype=float)
                sources["base_load"] = f"forecast P50 ({answer['model']['name']})"
            else:
                zone = households.info(household).timezone
                by_hour: dict[int, list[float]] = {}
                for h in answer["hours"]:
                    local = pd.Timestamp(h["ts"]).tz_convert(zone).hour
                    by_hour.setdefault(local, []).append(h["power_kw"]["p50"])
                hour_means = {k: float(np.mean(v)) for k, v in by_hour.items()}
                local_hours = index.tz_convert(zone).hour
                base_kw = np.array([hour_means.get(int(x), 0.0) for x in local_hours])
                sources["base_load"] = (
                    f"forecast P50 by local hour, issued {answer['issued_at']} "
                    f"({answer['model']['name']})"
                )
        return PlanInputs(start_s, prices, carbon, np.nan_to_num(base_kw), currency, sources)

    return inputs


def _slot_values(hourly: np.ndarray, start_s: int, first_s: int, n: int, step_s: int) -> np.ndarray:
    at = first_s + step_s * np.arange(n) - start_s
    return np.asarray(hourly, dtype=float)[np.minimum(at // 3600, len(hourly) - 1)]


def make_plan(
    doc: ScheduleDocument,
    inputs: PlanInputs,
    *,
    now_s: float,
    step_s: int,
    horizon_h: int,
    limit_kw: float,
) -> dict[str, Any]:
    """The plan JSON of ``doc`` from the slot containing ``now_s``; :class:`PlanError` if none."""
    first_s = int(now_s // step_s * step_s)
    n = int(horizon_h * 3600 // step_s)
    end_s = first_s + n * step_s
    price = _slot_values(inputs.price_per_kwh, inputs.start_s, first_s, n, step_s)
    g = _slot_values(inputs.g_co2_per_kwh, inputs.start_s, first_s, n, step_s)
    base = _slot_values(inputs.base_kw, inputs.start_s, first_s, n, step_s)
    limit = doc.connection_limit_kw or limit_kw
    step_h = step_s / 3600.0
    specs = []
    for load in doc.loads:
        earliest = load.time_s("earliest_start")
        deadline = load.time_s("deadline")
        earliest_s = first_s if earliest is None else max(earliest, first_s)
        deadline_s = end_s if deadline is None else deadline
        if deadline is not None and deadline_s <= now_s:
            raise PlanError(f"load {load.id!r}: its deadline {format_ts(deadline_s)} has passed")
        if deadline_s > end_s:
            deadline_s = end_s
        specs.append(
            LoadSpec(
                load.id,
                load.power_kw,
                load.energy_kwh,
                first=math.ceil((earliest_s - first_s) / step_s),
                end=(deadline_s - first_s) // step_s,
                contiguous=load.contiguous,
                min_on=max(1, math.ceil(load.min_on_min * 60 / step_s)),
                min_off=math.ceil(load.min_off_min * 60 / step_s),
                max_starts=load.max_starts,
            )
        )
    runs = plan_loads(
        specs,
        price,
        g,
        base,
        step_s=step_s,
        limit_kw=limit,
        carbon_weight=doc.carbon_weight_per_kg,
    )
    out_loads = []
    for load, spec in zip(doc.loads, specs, strict=True):
        mine = [r for r in runs if r.load == load.id]
        slots = []
        for run in mine:
            sl = slice(run.first, run.end)
            energy = load.power_kw * step_h * (run.end - run.first)
            slots.append(
                {
                    "start": format_ts(first_s + run.first * step_s),
                    "end": format_ts(first_s + run.end * step_s),
                    "power_kw": load.power_kw,
                    "energy_kwh": round(energy, 4),
                    "cost": round(float(np.sum(price[sl])) * load.power_kw * step_h, 4),
                    "co2_kg": round(float(np.sum(g[sl])) * load.power_kw * step_h / 1000, 4),
                }
            )
        need = slots_needed(spec, step_h)
        asap = slice(spec.first, spec.first + need)  # running at its earliest start
        asap_cost = float(np.sum(price[asap])) * load.power_kw * step_h
        asap_co2 = float(np.sum(g[asap])) * load.power_kw * step_h / 1000
        cost = sum(s["cost"] for s in slots)
        co2 = sum(s["co2_kg"] for s in slots)
        out_loads.append(
            {
                "id": load.id,
                "device": load.device,
                "slots": slots,
                "energy_kwh": round(need * load.power_kw * step_h, 4),
                "cost": round(cost, 4),
                "co2_kg": round(co2, 4),
                "earliest_start_cost": round(asap_cost, 4),
                "saving": round(asap_cost - cost, 4),
                "co2_saving_kg": round(asap_co2 - co2, 4),
            }
        )
    return {
        "start": format_ts(first_s),
        "end": format_ts(end_s),
        "step_s": step_s,
        "currency": inputs.currency,
        "connection_limit_kw": limit,
        "loads": out_loads,
        "cost": round(sum(item["cost"] for item in out_loads), 4),
        "co2_kg": round(sum(item["co2_kg"] for item in out_loads), 4),
        "saving": round(sum(item["saving"] for item in out_loads), 4),
        "inputs": inputs.sources,
        "inputs_fingerprint": inputs.fingerprint(),
    }


class ScheduleStore:
    """``control_schedules`` and its claims, in the installation's database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def put(self, household: str, doc: dict, plan: dict, now_s: float) -> None:
        with self.db.write() as c:
            c.execute(
                sa.text(
                    "INSERT INTO control_schedules (household, doc, plan, inputs_fp, updated_s)"
                    " VALUES (:h, :doc, :plan, :fp, :now) ON CONFLICT (household) DO UPDATE SET"
                    " doc = excluded.doc, plan = excluded.plan, inputs_fp = excluded.inputs_fp,"
                    " updated_s = excluded.updated_s"
                ),
                {"h": household, "doc": json.dumps(doc), "plan": json.dumps(plan),
                 "fp": plan["inputs_fingerprint"], "now": now_s},
            )  # fmt: skip

    def get(self, household: str) -> tuple[dict, dict] | None:
        with self.db.read() as c:
            row = c.execute(
                sa.text("SELECT doc, plan FROM control_schedules WHERE household = :h"),
                {"h": household},
            ).first()
        return None if row is None else (json.loads(row[0]), json.loads(row[1]))

    def households(self) -> list[str]:
        with self.db.read() as c:
            rows = c.execute(sa.text("SELECT household FROM control_schedules")).all()
        return [h for (h,) in rows]

    def claim(
        self, household: str, load_id: str, at_s: int, action: str, command_id: str, now_s: float
    ) -> bool:
        """Claim one planned switch (once across processes and hosts sharing the database):
        True for the one caller whose row went in; the others find it there (on PostgreSQL
        ``ON CONFLICT DO NOTHING`` waits for a concurrent inserter, then yields to it)."""
        with self.db.write() as c:
            row = c.execute(
                sa.text(
                    "INSERT INTO control_schedule_claims (household, load_id, at_s, action,"
                    " command_id, claimed_s) VALUES (:h, :load, :at, :action, :cid, :now)"
                    " ON CONFLICT (household, load_id, at_s, action) DO NOTHING RETURNING at_s"
                ),
                {"h": household, "load": load_id, "at": int(at_s), "action": action,
                 "cid": command_id, "now": now_s},
            ).first()  # fmt: skip
        return row is not None


def plan_or_422(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """:func:`make_plan`, its :class:`PlanError` as a 422 naming why."""
    from server.control.errors import Infeasible

    try:
        return make_plan(*args, **kwargs)
    except PlanError as err:
        raise Infeasible(f"no schedule meets the constraints: {err}") from None
