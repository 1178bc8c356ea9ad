"""The MILP on small cases with a known optimum, its refusals, and its speed."""

from __future__ import annotations

import time

import numpy as np
import pytest

import server.control.milp as m
from server.control.milp import LoadSpec, PlanError, Run, plan_loads

HOUR = 3600


def plan(loads, price, *, base=None, g=None, limit=10.0, w=0.0, step_s=HOUR):  # noqa: ANN001, ANN201
    price = np.asarray(price, dtype=float)
    n = len(price)
    return plan_loads(
        loads,
        price,
        np.zeros(n) if g is None else np.asarray(g, dtype=float),
        np.zeros(n) if base is None else np.asarray(base, dtype=float),
        step_s=step_s,
        limit_kw=limit,
        carbon_weight=w,
    )


def test_the_cheapest_hours_are_chosen():
    price = [5, 5, 1, 9, 2, 5, 1.5, 5]
    runs = plan([LoadSpec("a", 2.0, 6.0, 0, 8)], price)  # 3 h at 2 kW
    assert sorted((r.first, r.end) for r in runs) == [(2, 3), (4, 5), (6, 7)]


def test_a_contiguous_load_takes_the_cheapest_window():
    price = [5, 1, 9, 1, 1, 4, 5, 5]
    runs = plan([LoadSpec("a", 1.0, 3.0, 0, 8, contiguous=True)], price)
    assert runs == [Run("a", 3, 6)]  # 1+1+4 = 6 beats 1+9+1 = 11


def test_the_deadline_and_earliest_start_are_respected():
    price = [1, 1, 5, 6, 7, 1, 1, 1]
    runs = plan([LoadSpec("a", 1.0, 2.0, 2, 5)], price)  # window slots 2..4
    assert sorted((r.first, r.end) for r in runs) == [(2, 4)]


def test_the_connection_limit_binds_with_the_base_load():
    price = [1, 1, 5, 5]
    base = [3, 0, 0, 0]
    loads = [LoadSpec("a", 2.0, 2.0, 0, 4), LoadSpec("b", 2.0, 2.0, 0, 4)]
    runs = plan(loads, price, base=base, limit=3.5)
    # slot 0 fits neither (3 + 2 > 3.5); slot 1 fits one (2 + 2 > 3.5); the other pays 5
    by_slot = sorted(r.first for r in runs)
    assert by_slot == [1, 2] or by_slot == [1, 3]
    assert len({r.load for r in runs if r.first == 1}) == 1


def test_carbon_weight_moves_a_load_to_clean_hours():
    price = [1.0, 1.1]
    g = [900.0, 100.0]  # g CO2/kWh
    assert plan([LoadSpec("a", 1.0, 1.0, 0, 2)], price, g=g) == [Run("a", 0, 1)]
    assert plan([LoadSpec("a", 1.0, 1.0, 0, 2)], price, g=g, w=1.0) == [Run("a", 1, 2)]


def test_max_starts_and_min_on_keep_runs_whole():
    price = [1, 9, 1, 9, 1, 9, 2, 2]
    spread = plan([LoadSpec("a", 1.0, 3.0, 0, 8)], price)
    assert len(spread) == 3
    one = plan([LoadSpec("a", 1.0, 3.0, 0, 8, max_starts=1)], price)
    ((run,),) = [one]
    assert run.end - run.first == 3 and sum(price[run.first : run.end]) == 11  # the cheapest
    long_runs = plan([LoadSpec("a", 1.0, 4.0, 0, 8, min_on=2)], price)
    assert all(r.end - r.first >= 2 for r in long_runs)


def test_min_off_time_separates_runs():
    price = [1, 1, 9, 1, 1, 9, 9, 9]
    runs = plan([LoadSpec("a", 1.0, 4.0, 0, 8, min_off=2)], price)
    firsts = sorted((r.first, r.end) for r in runs)
    for (_, end), (first, _) in zip(firsts, firsts[1:], strict=False):
        assert first - end >= 2


def test_infeasible_cases_say_why():
    with pytest.raises(PlanError, match="needs 3 h at 1 kW for 3 kWh, but only 2 h lie"):
        plan([LoadSpec("a", 1.0, 3.0, 0, 2)], [1, 1, 1, 1])
    with pytest.raises(PlanError, match="fits under the connection limit of 2 kW"):
        plan([LoadSpec("a", 3.0, 3.0, 0, 4)], [1, 1, 1, 1], limit=2.0)
    loads = [LoadSpec("a", 2.0, 4.0, 0, 2), LoadSpec("b", 2.0, 4.0, 0, 2)]
    with pytest.raises(PlanError, match="do not fit under the connection limit of 3 kW"):
        plan(loads, [1, 1, 1, 1], limit=3.0)


def test_48_hours_at_15_minutes_for_5_loads_in_under_a_second():
    rng = np.random.default_rng(3)
    n = 48 * 4
    price = rng.uniform(4, 9, n)
    loads = [
        LoadSpec(f"l{i}", 2.0, 4.0, 0, n, contiguous=i % 2 == 0, max_starts=None if i % 2 else 1)
        for i in range(5)
    ]
    started = time.perf_counter()
    runs = plan(loads, price, base=np.full(n, 1.0), limit=7.0, step_s=900)
    assert time.perf_counter() - started < 1.0
    assert {r.load for r in runs} == {f"l{i}" for i in range(5)}


def test_slots_where_the_base_load_alone_exceeds_the_limit_are_left_empty():
    price = np.array([1.0, 1.0, 5.0, 5.0])
    base = np.array([9.0, 1.0, 1.0, 1.0])  # slot 0: the base load alone is over the 7 kW limit
    runs = plan([LoadSpec("a", 2.0, 1.0, 0, 4)], price, base=base, limit=7.0, step_s=900)
    assert [(r.first, r.end) for r in runs] == [(1, 3)]


def test_a_minimum_on_time_longer_than_the_energy_needs_is_not_infeasible():
    runs = plan([LoadSpec("a", 2.0, 0.5, 0, 8, min_on=4)], np.ones(8), step_s=900)
    assert sum(r.end - r.first for r in runs) == 1


def _check_feasible(runs, loads, base, limit, step_h):  # noqa: ANN001, ANN202
    n = len(base)
    used = np.asarray(base, dtype=float).copy()
    for load in loads:
        mine = sorted((r.first, r.end) for r in runs if r.load == load.id)
        on = sum(end - first for first, end in mine)
        assert on == m.slots_needed(load, step_h), load.id
        assert all(load.first <= first and end <= load.end for first, end in mine)
        if load.contiguous:
            assert len(mine) == 1
        if load.max_starts is not None:
            assert len(mine) <= load.max_starts
        assert all(end - first >= min(load.min_on, on) for first, end in mine)
        for (_, end), (first, _) in zip(mine, mine[1:], strict=False):
            assert first - end >= load.min_off
        for first, end in mine:
            used[first:end] += load.power_kw
    assert np.all(used[used > np.asarray(base)] <= limit + 1e-9)
    assert n == len(used)


def test_a_tight_limit_plan_is_feasible_and_within_the_stated_gap_of_the_optimum():
    # eval_schedule's case: 48 h at 15 min, 5 loads under 5 kW, where the EV charger and the
    # geyser cannot run together and the loads compete for the cheap hours
    rng = np.random.default_rng(0)
    n = 48 * 4
    hours = np.arange(n) // 4 % 24
    price = np.where((hours >= 9) & (hours < 17), 5.6, np.where(hours < 6, 6.3, 8.4))
    g = np.repeat(700.0 + rng.normal(0, 30, 48), 4)
    base = np.repeat(np.clip(rng.normal(0.8, 0.4, 48), 0.1, None), 4)
    loads = [
        LoadSpec("geyser", 2.0, 6.0, 0, n, min_on=2, max_starts=2),
        LoadSpec("ev", 3.3, 14.0, 0, 128, min_on=4),
        LoadSpec("dishwasher", 1.2, 1.5, 0, n, contiguous=True),
        LoadSpec("washer", 0.8, 1.0, 0, n, contiguous=True),
        LoadSpec("pump", 0.75, 4.5, 0, n, min_on=4, min_off=4, max_starts=3),
    ]
    started = time.perf_counter()
    runs = plan_loads(loads, price, g, base, step_s=900, limit_kw=5.0, carbon_weight=1.0)
    took = time.perf_counter() - started
    _check_feasible(runs, loads, base, 5.0, 0.25)
    # no plan costs less than the LP relaxation's optimum
    unit = 0.25 * (price + g / 1000)
    needs = [m.slots_needed(load, 0.25) for load in loads]
    bound = m._Model(loads, needs, unit, np.maximum(5.0 - base, 0)).relaxation()
    power = {load.id: load.power_kw for load in loads}
    cost = sum(power[r.load] * float(np.sum(unit[r.first : r.end])) for r in runs)
    assert bound - 1e-6 <= cost <= bound * (1 + m.MIP_GAP)
    assert took < 3.0  # 0.3-0.6 s here; HiGHS alone took 2-5 s to prove this plan


def test_when_one_load_at_a_time_blocks_a_later_load_the_whole_milp_finds_the_plan():
    # planned alone first, "a" takes the cheap slots 0-1 that "b" (window 0-2) needs
    price = np.array([1.0, 1.0, 5.0, 5.0])
    loads = [LoadSpec("a", 2.0, 4.0, 0, 4), LoadSpec("b", 2.0, 4.0, 0, 2)]
    assert m._one_by_one(loads, [2, 2], price, np.full(4, 2.0), 10.0) is None
    runs = plan(loads, price, limit=2.0)
    assert sorted((r.load, r.first, r.end) for r in runs) == [("a", 2, 4), ("b", 0, 2)]


def test_a_minimum_on_time_still_binds_at_the_window_end():
    # a start 1 slot before the deadline would be a chopped run: the 2-slot run ends in time
    price = np.array([9.0, 9.0, 9.0, 1.0, 9.0, 0.5])
    runs = plan([LoadSpec("a", 1.0, 2.0, 0, 4, min_on=2)], price)
    assert [(r.first, r.end) for r in runs] == [(2, 4)]
