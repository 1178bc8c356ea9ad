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

Solving several loads: HiGHS (through ``scipy.optimize.milp``) finds the optimum's bound at the
root at once, but under a tight connection limit (loads that cannot run together competing for
the cheap hours) its own heuristics can take seconds to find an integral plan near it, and
``scipy.optimize.milp`` takes no starting solution. So :func:`plan_loads` first plans the loads
one at a time, the most powerful first, each in the room the ones before left (each alone is an
easy MILP), and solves the LP relaxation of the whole problem: when that plan costs at most
``MIP_GAP`` (0.1%) more than the relaxation's optimum, which no plan can beat, it is proven
within the gap and returned. Otherwise (a load no longer fits, or the gap is wider) the whole
MILP is solved with ``mip_rel_gap = MIP_GAP``, and the cheaper of the two plans is kept. One
load alone is solved exactly as before. ``eval_schedule.py``'s 5 loads over 48 h under 5 kW:
3-4 s before, 0.3-0.6 s now, 0.05% above the relaxation's bound.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

__all__ = ["LoadSpec", "PlanError", "Run", "plan_loads"]

START_COST = 1e-6  # per start, in money: breaks ties towards fewer runs
TIE_BREAK = 1e-9  # per slot index: breaks remaining ties towards earlier slots
MIP_GAP = 1e-3  # a plan of several loads costs at most 0.1% more than the optimum


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
    gap: float = MIP_GAP,
) -> list[Run]:
    """The cheapest runs of every load (see the module doc), within ``gap`` of the optimum's
    cost; :class:`PlanError` if none."""
    n = len(price)
    if not len(g_per_kwh) == len(base_kw) == n:
        raise ValueError("price, g_per_kwh and base_kw need one value per slot")
    step_h = step_s / 3600.0
    if not loads:
        return []
    needs = [slots_needed(load, step_h) for load in loads]
    for load, need in zip(loads, needs, strict=True):
        _check_alone(load, need, base_kw, limit_kw, step_h)
    unit = step_h * (np.asarray(price, dtype=float) + carbon_weight * g_per_kwh / 1000.0)
    # where the base load alone exceeds the limit, no load runs (the row stays feasible)
    room = np.maximum(limit_kw - np.asarray(base_kw, dtype=float), 0.0)
    model = _Model(loads, needs, unit, room)
    if len(loads) == 1:  # one load: HiGHS solves it at once
        x = model.solve(time_limit_s, gap=None)
        if x is None:
            raise PlanError(_why_infeasible(loads, base_kw, limit_kw, needs))
        return _runs(loads, x)
    began = time.perf_counter()
    bound = model.relaxation()
    if bound is None:  # even fractional runs do not fit
        raise PlanError(_why_infeasible(loads, base_kw, limit_kw, needs))
    incumbent = _one_by_one(loads, needs, unit, room, time_limit_s)
    if incumbent is not None:
        value = model.value(incumbent)
        if value - bound <= gap * max(abs(value), 1e-9):  # proven within the gap: done
            return _runs(loads, incumbent)
    left = max(time_limit_s - (time.perf_counter() - began), 0.5)
    x = model.solve(left, gap=gap)
    if x is None:
        if incumbent is not None:  # the time ran out: the heuristic's plan is feasible
            return _runs(loads, incumbent)
        raise PlanError(_why_infeasible(loads, base_kw, limit_kw, needs))
    if incumbent is not None and model.value(incumbent) < model.value(x):
        x = incumbent
    return _runs(loads, x)


def _one_by_one(
    loads: list[LoadSpec],
    needs: list[int],
    unit: np.ndarray,
    room: np.ndarray,
    time_limit_s: float,
) -> np.ndarray | None:
    """A feasible plan by planning one load at a time, the most powerful first, each in the
    room the ones before left (each alone is an easy MILP); None when one no longer fits."""
    n = len(unit)
    x = np.zeros((len(loads), n))
    left = room.copy()
    order = sorted(range(len(loads)), key=lambda k: (-loads[k].power_kw, -needs[k]))
    for k in order:
        load = loads[k]
        if int(np.sum(left[load.first : load.end] + 1e-9 >= load.power_kw)) < needs[k]:
            return None
        alone = _Model([load], [needs[k]], unit, left)
        solved = alone.solve(time_limit_s, gap=None)
        if solved is None:
            return None
        x[k] = solved[0]
        left = np.maximum(left - load.power_kw * solved[0], 0.0)
    return x


def _runs(loads: list[LoadSpec], x: np.ndarray) -> list[Run]:
    runs = []
    for k, load in enumerate(loads):
        on = x[k] > 0.5
        t, n = 0, len(on)
        while t < n:
            if on[t]:
                first = t
                while t < n and on[t]:
                    t += 1
                runs.append(Run(load.id, first, t))
            else:
                t += 1
    return runs


class _Model:
    """The MILP of the module doc for ``loads`` under ``room`` [kW] per slot, as sparse rows."""

    def __init__(
        self, loads: list[LoadSpec], needs: list[int], unit: np.ndarray, room: np.ndarray
    ) -> None:
        n = len(unit)
        K = len(loads)
        self.n, self.K = n, K
        nx = K * n  # x[k,t] at k*n + t; s[k,t] at nx + k*n + t
        self.cost = np.zeros(2 * nx)
        self.upper = np.zeros(2 * nx)
        ticks = TIE_BREAK * np.arange(n)
        for k, load in enumerate(loads):
            self.cost[k * n : (k + 1) * n] = load.power_kw * unit + ticks
            self.cost[nx + k * n : nx + (k + 1) * n] = START_COST
            self.upper[k * n + load.first : k * n + load.end] = 1
            self.upper[nx + k * n + load.first : nx + k * n + load.end] = 1
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        lo: list[float] = []
        hi: list[float] = []

        upper = self.upper

        def add(coefs: dict[int, float], low: float, high: float) -> None:
            if low <= 0.0 <= high and not any(upper[j] for j in coefs):
                return  # every variable in it is 0 by its bounds: the row holds
            i = len(lo)
            for j, v in coefs.items():
                rows.append(i)
                cols.append(j)
                vals.append(v)
            lo.append(low)
            hi.append(high)

        inf = np.inf
        for k, load in enumerate(loads):
            x = k * n
            s = nx + k * n
            add({x + t: 1.0 for t in range(n)}, needs[k], needs[k])
            min_on = min(load.min_on, needs[k])  # a run never needs to be longer than the energy
            for t in range(n):
                prev = {x + t - 1: -1.0} if t > 0 else {}
                add({x + t: 1.0, **prev, s + t: -1.0}, -inf, 0.0)  # s ≥ x[t] - x[t-1]
                add({s + t: 1.0, x + t: -1.0}, -inf, 0.0)  # s ≤ x[t]
                if t > 0:
                    add({s + t: 1.0, x + t - 1: 1.0}, -inf, 1.0)  # no start while running
                if min_on > 1:  # every start of the last min_on slots still runs at t
                    add(
                        {**{s + u: 1.0 for u in range(max(0, t - min_on + 1), t + 1)}, x + t: -1.0},
                        -inf,
                        0.0,
                    )
                    if t > n - min_on:  # a run must fit inside the horizon
                        add({s + t: 1.0}, -inf, 0.0)
                if t > 0 and load.min_off > 1:  # on at a-1: no start in a..t (a pause ≥ min_off)
                    a = max(1, t - load.min_off + 1)
                    add({x + a - 1: 1.0, **{s + u: 1.0 for u in range(a, t + 1)}}, -inf, 1.0)
            starts = {s + t: 1.0 for t in range(n)}
            if load.contiguous:
                add(starts, 1.0, 1.0)
            elif load.max_starts is not None:
                add(starts, 1.0, float(load.max_starts))
        for t in range(n):
            add({k * n + t: loads[k].power_kw for k in range(K)}, -inf, float(room[t]))
        from scipy import sparse  # imported when a plan is made, not with the app

        self.matrix = sparse.csr_matrix((vals, (rows, cols)), shape=(len(lo), 2 * nx))
        self.lo = np.array(lo)
        self.hi = np.array(hi)

    def _milp(self, integral: bool, options: dict) -> object:
        from scipy.optimize import Bounds, LinearConstraint, milp

        return milp(
            self.cost,
            constraints=LinearConstraint(self.matrix, self.lo, self.hi),
            # s is x[t]·(1 - x[t-1]) exactly once x is integral (its three rows)
            integrality=np.full(len(self.cost), 1 if integral else 0),
            bounds=Bounds(np.zeros(len(self.cost)), self.upper),
            options=options,
        )

    def relaxation(self) -> float | None:
        """The LP relaxation's optimum: no plan costs less; None if even it is infeasible."""
        result = self._milp(False, {})
        return None if result.x is None else float(result.fun)

    def solve(self, time_limit_s: float, *, gap: float | None) -> np.ndarray | None:
        """The x part of a plan (0/1 per load and slot), or None if none was found."""
        options: dict = {"time_limit": time_limit_s}
        if gap is not None:
            options["mip_rel_gap"] = gap
        result = self._milp(True, options)
        if result.x is None:
            return None
        return np.round(result.x[: self.K * self.n]).reshape(self.K, self.n)

    def value(self, x: np.ndarray) -> float:
        """The objective of a plan given by its x part (its starts follow from x)."""
        x = np.asarray(x, dtype=float).reshape(self.K, self.n)
        starts = np.clip(x - np.hstack([np.zeros((self.K, 1)), x[:, :-1]]), 0, None)
        return float(self.cost @ np.concatenate([x.ravel(), starts.ravel()]))


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
