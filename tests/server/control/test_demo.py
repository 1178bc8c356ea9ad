"""The demo households' simulated devices (server/control/demo.py): their answers, and a
command's whole path in demo mode without a broker (in-process link) and on a real mosquitto
(a device client of their own, shared subscription), as a visitor without a key sends it."""

from __future__ import annotations

import json
import queue

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from server import create_app
from server.control.demo import DEMO_DEVICES, DemoDevices, MqttDevices, SimulatedDevice
from tests.server.control.conftest import Clock
from tests.wait import wait_for

URL = "/api/v1/households/A/controls"


def answer(device: SimulatedDevice, **body) -> dict | None:  # noqa: ANN003
    return device.answer(json.dumps(body).encode())


def test_a_simulated_device_answers_as_a_real_one():
    geyser, ac = (SimulatedDevice(d) for d in DEMO_DEVICES)
    assert answer(geyser, command_id="c1", action="on") == {
        "command_id": "c1",
        "ok": True,
        "state": {"on": True},
    }
    assert answer(geyser, command_id="c2", action="off")["state"] == {"on": False}
    refused = answer(geyser, command_id="c3", action="set", setpoint_c=20)
    assert refused == {"command_id": "c3", "ok": False, "error": "geyser cannot do 'set'"}
    assert answer(ac, command_id="c4", action="set", setpoint_c=24)["state"] == {
        "on": True,
        "setpoint_c": 24,
    }
    out = answer(ac, command_id="c5", action="set", setpoint_c=40)
    assert out["ok"] is False and "16-30" in out["error"]
    assert ac.state() == {"on": True, "setpoint_c": 24}  # unchanged by the refusal
    assert geyser.answer(b"not json") is None
    assert answer(geyser, action="on") is None  # no command id: nothing to answer


def test_demo_devices_by_topic_and_registration():
    demo = DemoDevices(["A", "B"])
    assert demo.simulates("A", "geyser") and demo.simulates("B", "ac")
    assert not demo.simulates("C", "geyser") and not demo.simulates("A", "plug1")
    topic, payload = demo.handle(
        "gridlight/B/control/geyser/set", b'{"command_id": "x", "action": "on"}'
    )
    assert topic == "gridlight/B/control/geyser/state"
    assert json.loads(payload)["ok"] is True
    assert demo.handle("gridlight/B/control/other/set", b"{}") is None

    class Store:
        def __init__(self) -> None:
            self.rows = {("A", "geyser"): object()}  # the owner's own device stays

        def get(self, h, d):  # noqa: ANN001, ANN202
            return self.rows.get((h, d))

        def announce(self, h, device, now_s):  # noqa: ANN001, ANN202
            self.rows[(h, device.id)] = device
            return True

    store = Store()
    assert demo.register(store, 0.0) == ["A", "B"]
    assert sorted(store.rows) == [("A", "ac"), ("A", "geyser"), ("B", "ac"), ("B", "geyser")]
    assert demo.register(store, 0.0) == []


@pytest.fixture
def make_demo(server_data_dir, stats_cache_dir):  # noqa: ANN001, ANN201
    apps = []

    def make(**config):  # noqa: ANN003, ANN202
        app = create_app(
            {
                "TESTING": True,
                "DATA_DIR": str(server_data_dir),
                "STATS_CACHE_DIR": str(stats_cache_dir),
                "REDIS_URL": None,
                "DEMO": True,
                "EMBEDDED_REPLAY": False,
                "WARM_STATS": False,
                "PUSH_ENABLED": False,
                "CONTROL_ENABLED": True,
                "CONTROL_SYNC_S": 3600.0,  # the test drives the leader with sync()
                "CONTROL_COMMAND_TTL_S": 60,
                **config,
            }
        )
        ext = app.extensions["control"]
        ext.clock = Clock()
        ext.leader.start = lambda: None  # no loop of its own: the test drives it with sync()
        apps.append(app)
        return app, ext

    yield make
    for app in apps:
        app.extensions["gridlight"].stop()


class _Channel:
    fmt = "v1"

    def __init__(self) -> None:
        self.events: queue.Queue[dict] = queue.Queue()

    def ping(self, item) -> None:  # noqa: ANN001
        self.events.put(json.loads(item[1].split(b"data: ", 1)[1]))


def _command_round_trip(app, ext) -> None:  # noqa: ANN001
    """A visitor (no key) switches A's geyser on: 202, sent by the leader, acked by the
    simulated device, and both statuses as command events on A's v1 stream."""
    stream = _Channel()
    ext.service.hub = type("Hub", (), {"channels_of": lambda self, h: (stream,)})()
    client = app.test_client()
    devices = client.get(URL).json["devices"]
    assert {d["id"]: d["kind"] for d in devices} == {"ac": "thermostat", "geyser": "water_heater"}
    r = client.post(f"{URL}/geyser/commands", json={"action": "on", "id": "visit-1"})
    assert r.status_code == 202, r.json
    assert r.json["status"] == "pending"
    ext.leader.sync()  # the leader's sweep sends it
    got = wait_for(
        lambda: (c := client.get(f"{URL}/geyser/commands/visit-1").json)["status"] == "acked" and c,
        what="the simulated geyser's ack",
    )
    assert got["state"] == {"on": True}
    seen = [stream.events.get(timeout=10), stream.events.get(timeout=10)]
    assert [(e["id"], e["status"]) for e in seen] == [("visit-1", "pending"), ("visit-1", "acked")]
    audit = ext.service.commands.audit("A")
    assert ("created", "demo-visitor") in [(a["event"], a["actor"]) for a in audit]
    # the AC's setpoint: in range acked with the new state, out of range refused at the API
    r = client.post(f"{URL}/ac/commands", json={"action": "set", "setpoint_c": 22, "id": "sp"})
    assert r.status_code == 202
    ext.leader.sync()
    wait_for(
        lambda: client.get(f"{URL}/ac/commands/sp").json["status"] == "acked", what="the AC's ack"
    )
    assert client.get(f"{URL}/ac/commands/sp").json["state"] == {"on": True, "setpoint_c": 22}
    r = client.post(f"{URL}/ac/commands", json={"action": "set", "setpoint_c": 40})
    assert r.status_code == 400 and "16" in r.json["error"]["message"]
    # only the simulated devices are open: anything else still needs the household's key
    assert client.post(f"{URL}/plug9/commands", json={"action": "on"}).status_code == 401
    assert client.put(URL, json={"devices": []}).status_code == 401


def test_without_a_broker_the_demo_devices_answer_in_process(make_demo):  # noqa: ANN001
    app, ext = make_demo(MQTT_URL=None)
    assert type(ext.link).__name__ == "LocalLink" and ext.simulated is None
    ext.start()
    wait_for(ext.link.connected.is_set, what="local link")
    _command_round_trip(app, ext)


def test_on_a_broker_the_demo_devices_answer_over_mqtt_once(make_demo, mosquitto_server):  # noqa: ANN001
    app, ext = make_demo(MQTT_URL=mosquitto_server.url)
    assert isinstance(ext.simulated, MqttDevices)
    # a second worker's simulated devices in the same shared subscription group
    other = MqttDevices(mosquitto_server.url, DemoDevices(["A", "B", "C"]))
    answers: queue.Queue[bytes] = queue.Queue()
    watcher = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    watcher.on_message = lambda c, u, m: answers.put(m.payload)
    watcher.connect("127.0.0.1", mosquitto_server.port)
    watcher.subscribe("gridlight/A/control/+/state", qos=1)
    watcher.loop_start()
    try:
        other.start()
        ext.start()
        wait_for(ext.link.connected.is_set, what="control link")
        wait_for(ext.simulated.subscribed.is_set, what="simulated devices")
        wait_for(other.subscribed.is_set, what="the other worker's simulated devices")
        _command_round_trip(app, ext)
        first, second = answers.get(timeout=10), answers.get(timeout=10)
        assert json.loads(first)["command_id"] == "visit-1"
        assert json.loads(second)["command_id"] == "sp"
        with pytest.raises(queue.Empty):  # each command answered once, by one of the two
            answers.get(timeout=0.5)
    finally:
        other.stop()
        watcher.disconnect()
        watcher.loop_stop()
