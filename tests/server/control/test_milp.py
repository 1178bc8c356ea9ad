"""The MILP on small cases with a known optimum, its refusals, and its speed."""

from __future__ import annotations

import time

import numpy as np
import pytest

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
