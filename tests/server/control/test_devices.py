"""GET/PUT …/controls: validation naming the problem, the key, and devices announced over MQTT."""

from __future__ import annotations

import json

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tests.server.control.conftest import PLUG, THERMO, auth
from tests.wait import wait_for

URL = "/api/v1/households/H1/controls"


def test_put_then_get_round_trips_and_needs_the_key(make_app, h1_key):  # noqa: ANN001
    client = make_app().test_client()
    assert client.get(URL).status_code == 401
    assert client.put(URL, json={"devices": [PLUG]}).status_code == 401
    r = client.put(URL, json={"devices": [PLUG, THERMO]}, headers=auth(h1_key))
    assert r.status_code == 200, r.json
    got = client.get(URL, headers=auth(h1_key)).json
    assert got["household"] == "H1"
    assert [d["id"] for d in got["devices"]] == ["plug1", "thermo1"]
    assert got["devices"][0] == {**PLUG, "name": ""}
    assert got["devices"][1]["setpoint_c"] == {"min": 16, "max": 30}
    # PUT replaces the list
    client.put(URL, json={"devices": [THERMO]}, headers=auth(h1_key))
    assert [d["id"] for d in client.get(URL, headers=auth(h1_key)).json["devices"]] == ["thermo1"]
    assert client.get("/api/v1/households/NOPE/controls").status_code == 404


def test_bad_devices_are_refused_naming_the_problem(make_app, h1_key):  # noqa: ANN001
    client = make_app().test_client()
    cases = {
        "devices[0].kind: expected one of relay, plug, water_heater, thermostat, ev_charger, "
        "got 'toaster'": {**PLUG, "kind": "toaster"},
        "devices[0].capabilities: a thermostat needs the setpoint capability": {
            **THERMO,
            "capabilities": ["on_off"],
            "setpoint_c": None,
        },
        "devices[0].setpoint_c: min (30) must be below max (16)": {
            **THERMO,
            "setpoint_c": {"min": 30, "max": 16},
        },
        "devices[0].power_kw: expected a number in [0, 1000], got -1": {**PLUG, "power_kw": -1},
        "unknown field devices[0].colour": {**PLUG, "colour": "red"},
    }
    for message, device in cases.items():
        r = client.put(URL, json={"devices": [device]}, headers=auth(h1_key))
        assert r.status_code == 400, device
        assert r.json["error"]["message"].startswith(message), r.json
    r = client.put(URL, json={"devices": [PLUG, PLUG]}, headers=auth(h1_key))
    assert r.json["error"]["message"] == "devices[1].id: device id 'plug1' appears twice"


def test_a_device_announces_itself_over_mqtt(make_app, mosquitto_server, h1_key):  # noqa: ANN001
    app = make_app(MQTT_URL=mosquitto_server.url)
    ext = app.extensions["control"]
    ext.leader.sync()  # leader now: it handles announcements
    ext.link.start()
    wait_for(ext.link.connected.is_set, what="control link")
    device = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    device.connect("127.0.0.1", mosquitto_server.port)
    device.loop_start()
    try:
        body = {"kind": "water_heater", "capabilities": ["on_off"], "power_kw": 3.0}
        device.publish("gridlight/H1/control/geyser1/config", json.dumps(body), qos=1, retain=True)
        device.publish("gridlight/H1/control/bad/config", b'{"kind": "toaster"}', qos=1)
        client = app.test_client()

        def devices() -> list:
            return client.get(URL, headers=auth(h1_key)).json["devices"]

        found = wait_for(devices, what="the announced device")
        assert found == [{"id": "geyser1", **body, "name": ""}]
        device.publish("gridlight/H1/control/geyser1/config", b"", qos=1, retain=True)
        wait_for(lambda: devices() == [], what="the device removed")
    finally:
        device.loop_stop()
        device.disconnect()
