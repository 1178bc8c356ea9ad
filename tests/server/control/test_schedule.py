"""PUT/GET …/schedule against the default inputs (the demo tariff through server.insights), its
422 naming why, and the leader's executor issuing commands at slot times exactly once."""

from __future__ import annotations

import numpy as np
import pandas as pd

from generator.times import format_ts, parse_ts
from server.insights import default_tariff
from tests.server.control.conftest import PLUG, T0, auth

URL = "/api/v1/households/H1/schedule"
GEYSER = {"id": "geyser", "device": "plug1", "energy_kwh": 3.0, "power_kw": 2.0, "contiguous": True}


def setup(make_app, h1_key):  # noqa: ANN001, ANN201
    app = make_app()
    client = app.test_client()
    client.put("/api/v1/households/H1/controls", json={"devices": [PLUG]}, headers=auth(h1_key))
    return app, client


def test_a_plan_takes_the_cheapest_window_and_reports_its_saving(make_app, h1_key):  # noqa: ANN001
    app, client = setup(make_app, h1_key)
    assert client.get(URL, headers=auth(h1_key)).json == {
        "household": "H1",
        "schedule": None,
        "plan": None,
    }
    deadline = format_ts(T0 + 24 * 3600)
    r = client.put(URL, json={"loads": [{**GEYSER, "deadline": deadline}]}, headers=auth(h1_key))
    assert r.status_code == 200, r.json
    plan = r.json["plan"]
    (load,) = plan["loads"]
    ((slot),) = load["slots"]  # contiguous: one run of 1.5 h
    start, end = parse_ts(slot["start"]), parse_ts(slot["end"])
    assert end - start == 5400 and slot["energy_kwh"] == 3.0 and slot["power_kw"] == 2.0
    # brute force over every contiguous 1.5 h window in the horizon at the demo tariff
    timezone = app.extensions["gridlight"].households.info("H1").timezone
    tariff = default_tariff(timezone)
    first = int(T0 // 900 * 900)
    quarters = pd.date_range(pd.Timestamp(first, unit="s", tz="UTC"), periods=96, freq="15min")
    hourly = tariff.hourly_prices(quarters.floor("h"))
    costs = [hourly[i : i + 6].sum() * 2.0 * 0.25 for i in range(96 - 5)]
    np.testing.assert_allclose(slot["cost"], min(costs), atol=1e-3)
    np.testing.assert_allclose(load["earliest_start_cost"], costs[0], atol=1e-3)
    np.testing.assert_allclose(load["saving"], costs[0] - min(costs), atol=1e-3)
    assert plan["currency"] == "INR" and plan["inputs"]["tariff"] == tariff.name
    assert slot["co2_kg"] > 0
    got = client.get(URL, headers=auth(h1_key)).json
    assert got["plan"] == plan and got["schedule"]["loads"][0]["id"] == "geyser"


def test_infeasible_schedules_are_refused_with_the_reason(make_app, h1_key):  # noqa: ANN001
    app, client = setup(make_app, h1_key)
    soon = format_ts(T0 + 3600)
    r = client.put(URL, json={"loads": [{**GEYSER, "deadline": soon}]}, headers=auth(h1_key))
    assert r.status_code == 422
    assert r.json["error"]["code"] == "infeasible"
    assert "needs 1.5 h at 2 kW for 3 kWh, but only 1 h lie between" in r.json["error"]["message"]
    r = client.put(URL, json={"loads": [GEYSER], "connection_limit_kw": 1.5}, headers=auth(h1_key))
    assert r.status_code == 422 and "connection limit of 1.5 kW" in r.json["error"]["message"]
    r = client.put(URL, json={"loads": [{**GEYSER, "power_kw": 0}]}, headers=auth(h1_key))
    assert r.status_code == 400
    assert r.json["error"]["message"].startswith("loads[0].power_kw: expected a number in")
    assert client.put(URL, json={"loads": [GEYSER]}).status_code == 401
    assert client.get(URL, headers=auth(h1_key)).json["plan"] is None  # nothing stored


def test_the_executor_switches_at_slot_times_once(make_app, h1_key):  # noqa: ANN001
    app, client = setup(make_app, h1_key)
    r = client.put(URL, json={"loads": [GEYSER]}, headers=auth(h1_key))
    (slot,) = r.json["plan"]["loads"][0]["slots"]
    start, end = parse_ts(slot["start"]), parse_ts(slot["end"])
    ext = app.extensions["control"]
    commands = ext.service.commands

    def created() -> list[tuple[str, str]]:
        return [
            (a["command_id"], a["actor"]) for a in commands.audit("H1") if a["event"] == "created"
        ]

    ext.clock.now_s = start - 1
    ext.leader.sync()
    assert created() == []
    ext.clock.now_s = start
    ext.leader.sync()
    on = f"sched-geyser-{start}-on"
    assert created() == [(on, "schedule:geyser")]
    assert commands.get("H1", on).action == "on" and commands.get("H1", on).source == "schedule"
    ext.clock.now_s = start + 60
    ext.leader.sync()
    # another host's leader on the same database (two leaders for a moment) claims nothing
    other = make_app().extensions["control"]
    other.clock.now_s = start + 61
    other.executor.tick(start + 61)
    assert len(created()) == 1
    ext.clock.now_s = end
    ext.leader.sync()
    assert [c for c, _ in created()] == [f"sched-geyser-{end}-off", on]


def test_a_changed_price_replans_before_the_runs_start(make_app, h1_key):  # noqa: ANN001
    app, client = setup(make_app, h1_key)
    ext = app.extensions["control"]
    later = {**GEYSER, "earliest_start": format_ts(T0 + 7200)}  # nothing runs before
    client.put(URL, json={"loads": [later]}, headers=auth(h1_key))
    before = ext.schedules.get("H1")[1]
    default = ext.inputs

    def cheaper_last_hours(household, start_s, hours):  # noqa: ANN001, ANN202
        inputs = default(household, start_s, hours)
        price = inputs.price_per_kwh.copy()
        price[-4:] = 0.5
        return type(inputs)(start_s, price, inputs.g_co2_per_kwh, inputs.base_kw, "INR", {})

    ext.inputs = cheaper_last_hours
    ext.clock.now_s = T0 + 60
    ext.leader.sync()
    after = ext.schedules.get("H1")[1]
    assert after["inputs_fingerprint"] != before["inputs_fingerprint"]
    assert after["loads"][0]["slots"] != before["loads"][0]["slots"]
    assert parse_ts(after["loads"][0]["slots"][0]["start"]) >= T0 + 20 * 3600


def test_a_plan_uses_the_households_own_tariff_once_it_is_put(make_app, h1_key):  # noqa: ANN001
    """Schedules are planned on the insights' inputs: a tariff PUT while the server runs is the
    next plan's price, with no restart; a household without a forecast yet plans without a base
    load and says so."""
    app, client = setup(make_app, h1_key)
    tariff = {"type": "flat", "currency": "EUR", "price_per_kwh": 0.25}
    r = client.put("/api/v1/households/H1/tariff", json=tariff, headers=auth(h1_key))
    assert r.status_code == 200, r.json
    deadline = format_ts(T0 + 24 * 3600)
    r = client.put(URL, json={"loads": [{**GEYSER, "deadline": deadline}]}, headers=auth(h1_key))
    assert r.status_code == 200, r.json
    plan = r.json["plan"]
    assert plan["currency"] == "EUR" and "(stored)" in plan["inputs"]["tariff"]
    ((slot),) = plan["loads"][0]["slots"]
    np.testing.assert_allclose(slot["cost"], 3.0 * 0.25, atol=1e-6)  # flat: any window costs this
    assert plan["inputs"]["base_load"].startswith("none (0 kW)")  # H1 has no readings yet


def test_the_base_load_is_the_forecast_p50_by_hour_or_by_local_hour_of_day():
    from types import SimpleNamespace

    from server.control.schedules import insights_inputs

    start = int(T0 // 3600 * 3600)

    def hours(first_s: int, n: int) -> list[dict]:
        return [
            {"ts": format_ts(first_s + 3600 * i), "power_kw": {"p50": 0.1 * (i % 24)}}
            for i in range(n)
        ]

    households = SimpleNamespace(info=lambda h: SimpleNamespace(timezone="Asia/Kolkata"))
    answer = {"issued_at": format_ts(start), "model": {"name": "m"}, "hours": hours(start, 24)}
    service = SimpleNamespace(
        tariff=lambda h: (None, "none", 0), carbon_of=lambda h: None, forecast=lambda h, n: answer
    )
    same = insights_inputs(service, households)("X", start, 6)
    np.testing.assert_allclose(same.base_kw, [0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
    assert same.sources["base_load"] == "forecast P50 (m)"
    # a forecast of other days (a dataset household's, issued at the end of its data): by the
    # local hour of day, one week earlier here
    answer["hours"] = hours(start - 7 * 86_400, 24)
    other = insights_inputs(service, households)("X", start, 6)
    np.testing.assert_allclose(other.base_kw, [0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
    assert "by local hour" in other.sources["base_load"]
