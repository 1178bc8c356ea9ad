"""POST …/recommendations/{id}/apply: a recommendation's action as a deferrable load, planned in
one call; 404 for a recommendation the household does not have now, 400 without a load to
apply, 409 without a device to switch."""

from __future__ import annotations

import pandas as pd

from generator.times import parse_ts
from tests.server.control.conftest import PLUG, T0, auth

SHIFT = {
    "id": "shift-water-heating",
    "title": "Heat water (Geyser) in cheaper hours",
    "evidence": {"movable_kwh_per_month": 60.9, "rated_kw": 2.0},
    "action": {
        "type": "schedule",
        "channel": "Geyser",
        "state": "on",
        "window": {"start": "10:00", "end": "12:00", "timezone": "Asia/Kolkata"},
    },
}
AC_OFF = {
    "id": "empty-home",
    "evidence": {},
    "action": {
        "type": "schedule",
        "channel": "AC",
        "state": "off",
        "window": {"days": "weekdays", "start": "09:00", "end": "17:00", "timezone": "UTC"},
    },
}
BASELOAD = {"id": "baseload", "evidence": {}, "action": None}
HEATER = {"id": "heater1", "kind": "water_heater", "capabilities": ["on_off"], "power_kw": 2.0}


def setup(make_app, h1_key, devices):  # noqa: ANN001, ANN201
    app = make_app()
    client = app.test_client()
    r = client.put(
        "/api/v1/households/H1/controls", json={"devices": devices}, headers=auth(h1_key)
    )
    assert r.status_code == 200, r.json
    service = app.extensions["insights"].service
    service.recommendations = lambda household: {
        "household": household,
        "recommendations": [SHIFT, AC_OFF, BASELOAD],
    }
    return app, client


def url(rec: str) -> str:
    return f"/api/v1/households/H1/recommendations/{rec}/apply"


def test_the_water_heating_action_is_planned_in_its_window_on_the_water_heater(make_app, h1_key):  # noqa: ANN001
    app, client = setup(make_app, h1_key, [PLUG, HEATER])
    r = client.post(url("shift-water-heating"), headers=auth(h1_key))
    assert r.status_code == 201, r.json
    load = r.json["load"]
    assert load["device"] == "heater1" and load["power_kw"] == 2.0
    assert load["energy_kwh"] == round(60.9 / 30.44, 4)
    # T0 is 11:55 in Kolkata: the 10:00-12:00 window is nearly over, so tomorrow's
    start = pd.Timestamp(load["earliest_start"], unit="s", tz="UTC").tz_convert("Asia/Kolkata")
    assert (start.hour, start.minute) == (10, 0) and load["earliest_start"] > T0
    assert load["deadline"] - load["earliest_start"] == 7200
    (planned,) = r.json["plan"]["loads"]
    assert planned["id"] == "shift-water-heating" and planned["device"] == "heater1"
    for slot in planned["slots"]:
        assert load["earliest_start"] <= parse_ts(slot["start"]) < load["deadline"]
        assert parse_ts(slot["end"]) <= load["deadline"]
    assert sum(s["energy_kwh"] for s in planned["slots"]) >= load["energy_kwh"]
    got = client.get("/api/v1/households/H1/schedule", headers=auth(h1_key)).json
    assert got["plan"] == r.json["plan"]
    # applied again: the same load is replaced, not added twice
    again = client.post(url("shift-water-heating"), json={"energy_kwh": 1.0}, headers=auth(h1_key))
    assert again.status_code == 201
    assert [x["id"] for x in again.json["schedule"]["loads"]] == ["shift-water-heating"]
    assert again.json["load"]["energy_kwh"] == 1.0


def test_it_joins_the_loads_already_scheduled(make_app, h1_key):  # noqa: ANN001
    app, client = setup(make_app, h1_key, [PLUG, HEATER])
    other = {"id": "pump", "device": "plug1", "energy_kwh": 1.0, "power_kw": 1.0}
    r = client.put("/api/v1/households/H1/schedule", json={"loads": [other]}, headers=auth(h1_key))
    assert r.status_code == 200, r.json
    r = client.post(url("shift-water-heating"), headers=auth(h1_key))
    assert r.status_code == 201, r.json
    assert [x["id"] for x in r.json["plan"]["loads"]] == ["pump", "shift-water-heating"]


def test_the_device_named_in_the_body_is_used(make_app, h1_key):  # noqa: ANN001
    app, client = setup(make_app, h1_key, [PLUG])
    r = client.post(url("shift-water-heating"), json={"device": "plug1"}, headers=auth(h1_key))
    assert r.status_code == 201, r.json
    assert r.json["load"]["device"] == "plug1"


def test_refusals(make_app, h1_key):  # noqa: ANN001
    app, client = setup(make_app, h1_key, [PLUG])
    r = client.post(url("nope"), headers=auth(h1_key))
    assert r.status_code == 404 and "shift-water-heating" in r.json["error"]["message"]
    r = client.post(url("baseload"), headers=auth(h1_key))
    assert r.status_code == 400 and "no action" in r.json["error"]["message"]
    r = client.post(url("empty-home"), headers=auth(h1_key))
    assert r.status_code == 400 and "not a deferrable load" in r.json["error"]["message"]
    r = client.post(url("shift-water-heating"), headers=auth(h1_key))  # only a plug
    assert r.status_code == 409 and "Geyser" in r.json["error"]["message"]
    r = client.post(url("shift-water-heating"), json={"device": "x9"}, headers=auth(h1_key))
    assert r.status_code == 409
    r = client.post(url("shift-water-heating"), json={"power_kw": -1}, headers=auth(h1_key))
    assert r.status_code == 400
    assert client.post(url("shift-water-heating")).status_code == 401
