"""Deferrable loads planned by a MILP (``scipy.optimize.milp``): pure, no Flask, no MQTT.

Time is cut into slots of ``step_s`` (15 min) over the horizon. For load ``k`` with rated power
``P_k`` [kW], binary ``x[k,t]`` says it runs in slot ``t``, binary ``s[k,t]`` that it starts
there (as EMHASS formulates deferrable loads: an on/off binary per step, a start binary tied to
it, energy as a count of steps at nominal power, zero outside the load's window):

* energy: ``Σ_t x[k,t] = n_k``, ``n_k = ceil(energy_kwh / (P_k · Δt))`` slots;
* window: ``x[k,t] = 0`` outside ``[earliest_start, deadline)`` (bounds);
* starts: ``s[k,t] ≥ x[k,t] - x[k,t-1]``, ``s[k,t] ≤ x[k,t]``, ``s[k,t] + x[k,t-1] ≤ 1``;
  ``Σ_t s[k,t] = 1`` for a contiguous load, ``≤ max_starts`` otherwise;
* minimum on-time ``L`` slots: ``s[k,t] ≤ x[k,t+j]`` for ``0 < j < L``; minimum off-time ``M``:
  ``x[k,t-1] - x[k,t] + x[k,t+j] ≤ 1`` for ``0 < j < M``;
* connection: ``base_kw[t] + Σ_k P_k x[k,t] ≤ limit_kw`` (the forecast base load included);

minimising ``Σ P_k Δt x[k,t] (price[t] + w · g[t] / 1000)`` (``w``: money per kg CO2, ``g`` in
g CO2/kWh), with a negligible cost per start so that equal-cost plans do not chop a run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["LoadSpec", "PlanError", "Run", "plan_loads"]

START_COST = 1e-6  # per start, in money: breaks ties towards fewer runs
TIE_BREAK = 1e-9  # per slot index: breaks remaining ties towards earlier slots


class PlanError(ValueError):
    """No plan meets the constraints; the message says why."""


@dataclass(frozen=True)
class LoadSpec:
    id: str
    power_kw: float
    energy_kwh: float
    first: int  # first slot allowed
    end: int  # one past the last slot allowed
    contiguous: bool = False
    min_on: int = 1  # slots
    min_off: int = 0  # slots
    max_starts: int | None = None


@dataclass(frozen=True)
class Run:
    load: str
    first: int  # slot index
    end: int  # one past


def slots_needed(load: LoadSpec, step_h: float) -> int:
    return max(1, math.ceil(load.energy_kwh / (load.power_kw * step_h) - 1e-9))


def _check_alone(load: LoadSpec, need: int, base_kw: np.ndarray, limit_kw: float, step_h: float):  # noqa: ANN202
    window = max(0, load.end - load.first)
    if need > window:
        raise PlanError(
            f"load {load.id!r} needs {need * step_h:g} h at {load.power_kw:g} kW for "
            f"{load.energy_kwh:g} kWh, but only {window * step_h:g} h lie between its earliest "
            "start and its deadline"
        )
    room = limit_kw - base_kw[load.first : load.end]
    fits = int(np.sum(room + 1e-9 >= load.power_kw))
    if fits < need:
        raise PlanError(
            f"load {load.id!r} ({load.power_kw:g} kW) fits under the connection limit of "
            f"{limit_kw:g} kW (with the forecast base load) in {fits * step_h:g} h of its "
            f"window; it needs {need * step_h:g} h"
        )


def plan_loads(
    loads: list[LoadSpec],
    price: np.ndarray,
    g_per_kwh: np.ndarray,
    base_kw: np.ndarray,
    *,
    step_s: int,
    limit_kw: float,
    carbon_weight: float = 0.0,
    time_limit_s: float = 10.0,
) -> list[Run]:
    """The cheapest runs of every load (see the module doc); :class:`PlanError` if none."""
    n = len(price)
    if not len(g_per_kwh) == len(base_kw) == n:
        raise ValueError("price, g_per_kwh and base_kw need one value per slot")
    step_h = step_s / 3600.0
    if not loads:
        return []
    needs = [slots_needed(load, step_h) for load in loads]
    for load, need in zip(loads, needs, strict=True):
        _check_alone(load, need, base_kw, limit_kw, step_h)
    K = len(loads)
    nx = K * n  # x[k,t] at k*n + t; s[k,t] at nx + k*n + t
    cost = np.zeros(2 * nx)
    upper = np.zeros(2 * nx)
    for k, load in enumerate(loads):
        unit = load.power_kw * step_h * (price + carbon_weight * g_per_kwh / 1000.0)
        cost[k * n : (k + 1) * n] = unit + TIE_BREAK * np.arange(n)
        cost[nx + k * n : nx + (k + 1) * n] = START_COST
        upper[k * n + load.first : k * n + load.end] = 1
        upper[nx + k * n + load.first : nx + k * n + load.end] = 1
    rows: list[dict[int, float]] = []
    lo: list[float] = []
    hi: list[float] = []

    def add(coefs: dict[int, float], low: float, high: float) -> None:
        rows.append(coefs)
        lo.append(low)
        hi.append(high)

    for k, load in enumerate(loads):
        x = k * n
        s = nx + k * n
        add({x + t: 1.0 for t in range(n)}, needs[k], needs[k])
        min_on = min(load.min_on, needs[k])  # a run never needs to be longer than the energy
        for t in range(n):
            prev = {x + t - 1: -1.0} if t > 0 else {}
            add({x + t: 1.0, **prev, s + t: -1.0}, -np.inf, 0.0)  # s ≥ x[t] - x[t-1]
            add({s + t: 1.0, x + t: -1.0}, -np.inf, 0.0)  # s ≤ x[t]
            if t > 0:
                add({s + t: 1.0, x + t - 1: 1.0}, -np.inf, 1.0)  # no start while running
            if min_on > 1:  # every start of the last min_on slots still runs at t
                add(
                    {**{s + u: 1.0 for u in range(max(0, t - min_on + 1), t + 1)}, x + t: -1.0},
                    -np.inf,
                    0.0,
                )
                if t > n - min_on:  # a run must fit inside the horizon
                    add({s + t: 1.0}, -np.inf, 0.0)
            if t > 0 and load.min_off > 1:  # on at a-1: no start in a..t (a pause ≥ min_off)
                a = max(1, t - load.min_off + 1)
                add({x + a - 1: 1.0, **{s + u: 1.0 for u in range(a, t + 1)}}, -np.inf, 1.0)
        starts = {s + t: 1.0 for t in range(n)}
        if load.contiguous:
            add(starts, 1.0, 1.0)
        elif load.max_starts is not None:
            add(starts, 1.0, float(load.max_starts))
    for t in range(n):
        # where the base load alone exceeds the limit, no load runs (the row stays feasible)
        room = max(limit_kw - base_kw[t], 0.0)
        add({k * n + t: loads[k].power_kw for k in range(K)}, -np.inf, room)
    from scipy import sparse  # imported when a plan is made, not with the app
    from scipy.optimize import Bounds, LinearConstraint, milp

    matrix = sparse.lil_matrix((len(rows), 2 * nx))
    for i, coefs in enumerate(rows):
        for j, v in coefs.items():
            matrix[i, j] = v
    result = milp(
        cost,
        constraints=LinearConstraint(matrix.tocsr(), np.array(lo), np.array(hi)),
        # s is x[t]·(1 - x[t-1]) exactly once x is integral (its three rows), so only x is integer
        integrality=np.ones(2 * nx),
        bounds=Bounds(np.zeros(2 * nx), upper),
        options={"time_limit": time_limit_s},
    )
    if result.x is None:
        if result.status == 2:
            raise PlanError(_why_infeasible(loads, base_kw, limit_kw, needs))
        raise PlanError(f"the planner found no plan in {time_limit_s:g} s ({result.message})")
    x = np.round(result.x[:nx]).reshape(K, n).astype(bool)
    runs = []
    for k, load in enumerate(loads):
        t = 0
        while t < n:
            if x[k, t]:
                first = t
                while t < n and x[k, t]:
                    t += 1
                runs.append(Run(load.id, first, t))
            else:
                t += 1
    return runs


def _why_infeasible(
    loads: list[LoadSpec], base_kw: np.ndarray, limit_kw: float, needs: list[int]
) -> str:
    rigid = [
        load.id
        for load in loads
        if load.contiguous or load.max_starts is not None or load.min_on > 1 or load.min_off > 0
    ]
    text = (
        f"the loads together do not fit under the connection limit of {limit_kw:g} kW (with the "
        "forecast base load) within their windows"
    )
    if rigid:
        text += f", given the run constraints of {', '.join(repr(r) for r in rigid)}"
    return text + ": raise the limit, widen a window or relax a constraint"
