"""Commands end to end on a real mosquitto with a simulated device: 202 and pending, sent QoS 1
with its id, acked / failed / expired, resent with backoff (injected clock), idempotent ids,
seed 001's energy_control alias, the audit log and the SSE control event."""

from __future__ import annotations

import json

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from server.control.commands import backoff_s
from server.control.service import command_event
from tests.server.control.conftest import PLUG, T0, THERMO, SimulatedDevice, auth
from tests.wait import wait_for

URL = "/api/v1/households/H1/controls"


@pytest.fixture
def control(make_app, mosquitto_server, h1_key):  # noqa: ANN001, ANN201
    app = make_app(MQTT_URL=mosquitto_server.url, CONTROL_COMMAND_TTL_S=60)
    client = app.test_client()
    assert (
        client.put(URL, json={"devices": [PLUG, THERMO]}, headers=auth(h1_key)).status_code == 200
    )
    ext = app.extensions["control"]
    ext.leader.sync()
    ext.link.start()
    wait_for(ext.link.connected.is_set, what="control link")
    return app, client, ext


def post(client, device: str, body: dict, key: str):  # noqa: ANN001, ANN201
    return client.post(f"{URL}/{device}/commands", json=body, headers=auth(key))


def status(client, device: str, cid: str, key: str) -> str:  # noqa: ANN001
    return client.get(f"{URL}/{device}/commands/{cid}", headers=auth(key)).json["status"]


def test_a_command_is_sent_with_its_id_and_acked(control, mosquitto_server, h1_key):  # noqa: ANN001
    app, client, ext = control
    device = SimulatedDevice(mosquitto_server.port, "H1", "plug1")
    try:
        r = post(client, "plug1", {"action": "on", "id": "cmd-1"}, h1_key)
        assert r.status_code == 202, r.json
        command = r.json
        assert command["id"] == "cmd-1" and command["status"] == "pending"
        assert command["created_at"] == "2025-11-22T06:25:00Z"
        assert command["expires_at"] == "2025-11-22T06:26:00Z"
        ext.leader.sync()  # the leader's sweep publishes it
        sent = device.received.get(timeout=10)
        assert sent == {
            "command_id": "cmd-1",
            "action": "on",
            "expires_at": "2025-11-22T06:26:00Z",
        }
        wait_for(lambda: status(client, "plug1", "cmd-1", h1_key) == "acked", what="ack")
        got = client.get(f"{URL}/plug1/commands/cmd-1", headers=auth(h1_key)).json
        assert got["state"] == {"on": True} and got["attempts"] == 1 and got["error"] is None
        # acked: never sent again
        ext.clock.now_s += 3600
        ext.leader.sync()
        assert device.count == 1
        key_id = h1_key.split("_")[1]
        audit = ext.service.commands.audit("H1")
        assert [(a["event"], a["actor"]) for a in reversed(audit)] == [
            ("created", key_id),
            ("sent", None),
            ("acked", "device:plug1"),
        ]
    finally:
        device.close()


def test_the_same_id_runs_once_and_another_body_conflicts(control, mosquitto_server, h1_key):  # noqa: ANN001
    app, client, ext = control
    device = SimulatedDevice(mosquitto_server.port, "H1", "plug1", answer=None)
    try:
        first = post(client, "plug1", {"action": "off", "id": "same"}, h1_key)
        again = post(client, "plug1", {"action": "off", "id": "same"}, h1_key)
        assert first.status_code == again.status_code == 202
        assert first.json == again.json
        other = post(client, "plug1", {"action": "on", "id": "same"}, h1_key)
        assert other.status_code == 409
        assert "command id 'same' was used for another command" in other.json["error"]["message"]
        ext.leader.sync()
        device.received.get(timeout=10)
        assert device.received.empty() and device.count == 1
        events = [a["event"] for a in ext.service.commands.audit("H1")]
        assert events.count("created") == 1 and events.count("repeated") == 1
    finally:
        device.close()


def test_resent_with_backoff_until_it_expires(control, mosquitto_server, h1_key):  # noqa: ANN001
    app, client, ext = control
    device = SimulatedDevice(mosquitto_server.port, "H1", "plug1", answer=None)
    emitted = []
    emit = ext.sender.emit
    ext.sender.emit = lambda command: (emitted.append(command.status), emit(command))
    try:
        cid = post(client, "plug1", {"action": "on"}, h1_key).json["id"]
        sends_at = []
        for offset_s in range(0, 61):  # one sweep a second of the injected clock
            ext.clock.now_s = T0 + offset_s
            before = device.count
            ext.leader.sync()
            command = ext.service.commands.get("H1", cid)
            if command.attempts > len(sends_at):
                sends_at.append(offset_s)
                wait_for(lambda b=before: device.count > b, what=f"send at {offset_s}")
        # 2 s, then doubling (CONTROL_RETRY_S=2, capped at 60 s), until the 60 s TTL
        assert sends_at == [0, 2, 6, 14, 30]
        assert backoff_s(5, 2.0, 60.0) == 32.0
        assert status(client, "plug1", cid, h1_key) == "expired"
        assert emitted == ["expired"]
        got = client.get(f"{URL}/plug1/commands/{cid}", headers=auth(h1_key)).json
        assert got["error"] == "no answer from plug1 after 5 sends"
    finally:
        device.close()


def test_a_refusal_fails_the_command(control, mosquitto_server, h1_key):  # noqa: ANN001
    app, client, ext = control
    device = SimulatedDevice(mosquitto_server.port, "H1", "plug1", answer="fail")
    try:
        cid = post(client, "plug1", {"action": "on"}, h1_key).json["id"]
        ext.leader.sync()
        wait_for(lambda: status(client, "plug1", cid, h1_key) == "failed", what="failure")
        got = client.get(f"{URL}/plug1/commands/{cid}", headers=auth(h1_key)).json
        assert got["error"] == "relay stuck"
    finally:
        device.close()


def test_bad_commands(control, h1_key):  # noqa: ANN001
    app, client, ext = control
    r = post(client, "nope", {"action": "on"}, h1_key)
    assert r.status_code == 404 and "no controllable device 'nope'" in r.json["error"]["message"]
    r = post(client, "plug1", {"action": "set", "setpoint_c": 22}, h1_key)
    assert r.status_code == 400 and "has no setpoint" in r.json["error"]["message"]
    r = post(client, "thermo1", {"action": "set", "setpoint_c": 35}, h1_key)
    assert r.status_code == 400
    assert r.json["error"]["message"] == (
        "setpoint_c: expected a number in [16, 30] for device 'thermo1', got 35"
    )
    r = post(client, "thermo1", {"action": "set"}, h1_key)
    assert r.json["error"]["message"] == "setpoint_c: a set command needs setpoint_c [°C]"
    r = post(client, "plug1", {"action": "toggle"}, h1_key)
    assert r.json["error"]["message"] == "action: expected one of on, off, set, got 'toggle'"
    assert client.post(f"{URL}/plug1/commands", json={"action": "on"}).status_code == 401
    r = client.get(f"{URL}/plug1/commands/nope", headers=auth(h1_key))
    assert r.status_code == 404


def test_a_setpoint_command(control, mosquitto_server, h1_key):  # noqa: ANN001
    app, client, ext = control
    device = SimulatedDevice(mosquitto_server.port, "H1", "thermo1")
    try:
        r = post(client, "thermo1", {"action": "set", "setpoint_c": 24}, h1_key)
        assert r.status_code == 202 and r.json["setpoint_c"] == 24
        ext.leader.sync()
        sent = device.received.get(timeout=10)
        assert sent["action"] == "set" and sent["setpoint_c"] == 24
        wait_for(
            lambda: status(client, "thermo1", r.json["id"], h1_key) == "acked",
            what="the thermostat's ack",
        )
    finally:
        device.close()


@pytest.mark.parametrize(
    ("topic", "body"),
    [
        ("energy_control", {"household": "H1", "device": "plug1", "action": "on", "id": "seed"}),
        ("gridlight/H1/energy_control", {"device": "plug1", "action": "on", "id": "seed"}),
    ],
)
def test_seed_energy_control_topic_is_an_alias(control, mosquitto_server, h1_key, topic, body):  # noqa: ANN001
    app, client, ext = control
    device = SimulatedDevice(mosquitto_server.port, "H1", "plug1")
    sender = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    sender.connect("127.0.0.1", mosquitto_server.port)
    sender.loop_start()
    try:
        sender.publish(topic, json.dumps(body), qos=1).wait_for_publish(5)
        wait_for(lambda: ext.service.commands.get("H1", "seed"), what="the aliased command")
        ext.leader.sync()
        assert device.received.get(timeout=10)["command_id"] == "seed"
        wait_for(lambda: status(client, "plug1", "seed", h1_key) == "acked", what="the plug's ack")
        created = ext.service.commands.audit("H1")[-1]
        assert created["event"] == "created" and created["actor"] == f"mqtt:{topic}"
    finally:
        sender.loop_stop()
        sender.disconnect()
        device.close()


class _Channel:
    def __init__(self, fmt: str) -> None:
        self.fmt, self.items = fmt, []

    def ping(self, item) -> None:  # noqa: ANN001
        self.items.append(item)


def test_status_changes_are_command_events_on_the_v1_streams(control, h1_key):  # noqa: ANN001
    app, client, ext = control
    v1, legacy = _Channel("v1"), _Channel("legacy")
    ext.service.hub = type("Hub", (), {"channels_of": lambda self, h: (v1, legacy)})()
    r = post(client, "plug1", {"action": "on", "id": "ev"}, h1_key)
    assert legacy.items == []
    ((key, data),) = v1.items
    assert key is None
    assert data.startswith(b"event: command\ndata: {")
    body = json.loads(data.split(b"data: ", 1)[1])
    assert body == r.json
    command = ext.service.commands.get("H1", "ev")
    assert command_event(command) == data


def test_the_leader_wakes_for_a_command_created_in_another_worker(control):  # noqa: ANN001
    app, client, ext = control
    woken = []
    ext.service.is_leader = lambda: True
    ext.service.nudge = lambda: woken.append(1)
    command = {"id": "c-x", "household": "H1", "device": "plug1", "status": "pending"}
    other = json.dumps({"origin": "another-worker", "command": command}).encode()
    ext.service.on_message("gridlight/H1/control/events", other)
    assert woken == [1]
    acked = json.dumps({"origin": "another-worker", "command": {**command, "status": "acked"}})
    ext.service.on_message("gridlight/H1/control/events", acked.encode())
    mine = json.dumps({"origin": ext.link.origin, "command": command}).encode()
    ext.service.on_message("gridlight/H1/control/events", mine)
    ext.service.is_leader = lambda: False
    ext.service.on_message("gridlight/H1/control/events", other)
    assert woken == [1]  # not for other statuses, its own events, or a worker not leading
