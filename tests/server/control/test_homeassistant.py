"""Home Assistant MQTT discovery on a real mosquitto: retained configurations in the documented
format, and the state topics they name receive values (windows through hub.follow, devices'
answers)."""

from __future__ import annotations

import json
import queue
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from generator.times import format_ts
from tests.server.control.conftest import PLUG, THERMO, SimulatedDevice, auth
from tests.wait import wait_for

URL = "/api/v1/households/H1/controls"
COMMON = {"name", "unique_id", "state_topic", "availability_topic", "device"}
REQUIRED = {
    "sensor": COMMON | {"value_template"},
    "switch": COMMON | {"command_topic", "payload_on", "payload_off"},
    "number": COMMON | {"command_topic", "min", "max", "unit_of_measurement"},
}


class Watcher:
    """A client that has seen every message (retained ones flagged) on some topics."""

    def __init__(self, port: int, *topics: str) -> None:
        self.messages: queue.Queue = queue.Queue()
        self.seen: dict[str, tuple[bytes, bool]] = {}
        #: topic → the payload of its retained message, when one arrived
        self.retained: dict[str, bytes] = {}
        self.ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.on_connect = lambda c, *a: c.subscribe([(t, 1) for t in topics])
        self.client.on_subscribe = lambda *a: self.ready.set()
        self.client.on_message = self._message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self.ready.wait(10)

    def _message(self, client, userdata, message) -> None:  # noqa: ANN001
        self.seen[message.topic] = (message.payload, bool(message.retain))
        if message.retain:
            self.retained[message.topic] = message.payload
        self.messages.put((message.topic, message.payload))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_discovery_payloads_are_retained_and_their_state_topics_get_values(
    make_app, mosquitto_server, h1_key
):  # noqa: ANN001
    app = make_app(MQTT_URL=mosquitto_server.url, CONTROL_INTERVAL_S=1)
    client = app.test_client()
    client.put(URL, json={"devices": [PLUG, THERMO]}, headers=auth(h1_key))
    ext = app.extensions["control"]
    ext.link.start()
    wait_for(ext.link.connected.is_set, what="control link")
    ext.leader.sync()  # leader: discovery published, H1 followed
    node = "homeassistant/{}/gridlight_H1/{}/config"
    expected = {
        node.format("sensor", "AC_power"),
        node.format("sensor", "Geyser_power"),
        node.format("sensor", "Overall_power"),
        node.format("sensor", "level"),
        node.format("switch", "plug1"),
        node.format("switch", "thermo1"),
        node.format("number", "thermo1_setpoint"),
    }
    first = Watcher(mosquitto_server.port, "homeassistant/#")
    wait_for(lambda: expected <= set(first.seen), what="discovery configs published")
    first.close()
    # a client that connects afterwards gets them: they are retained
    watcher = Watcher(mosquitto_server.port, "homeassistant/#", "gridlight/H1/#")
    device = SimulatedDevice(mosquitto_server.port, "H1", "plug1")
    try:
        wait_for(lambda: expected <= set(watcher.seen), what="discovery configs")
        configs = {}
        for topic in expected:
            payload, retained = watcher.seen[topic]
            assert retained, topic
            config = json.loads(payload)
            component = topic.split("/")[1]
            assert REQUIRED[component] <= set(config), (topic, REQUIRED[component] - set(config))
            assert config["device"]["identifiers"] == ["gridlight_H1"]
            assert config["device"]["name"]
            configs[topic] = config
        power = configs[node.format("sensor", "Overall_power")]
        assert power["unit_of_measurement"] == "kW"
        assert power["device_class"] == "power"
        assert power["state_class"] == "measurement"
        assert power["unique_id"] == "gridlight_H1_Overall_power"
        level = configs[node.format("sensor", "level")]
        assert level["device_class"] == "enum"
        assert level["options"] == ["green", "yellow", "red", "critical"]
        switch = configs[node.format("switch", "plug1")]
        assert switch["command_topic"] == "gridlight/H1/control/plug1/ha_command"
        assert switch["state_topic"] == "gridlight/H1/control/plug1/state"
        number = configs[node.format("number", "thermo1_setpoint")]
        assert (number["min"], number["max"], number["unit_of_measurement"]) == (16, 30, "°C")
        assert watcher.seen["gridlight/H1/ha/availability"] == (b"online", True)

        # the power and level state topic: every window the leader follows
        following = ext.leader.followers.followings["H1"]
        wait_for(following.subscribed.is_set, what="H1 followed")
        gl = app.extensions["gridlight"]
        start_s = 1_763_792_700
        for s in range(4):
            reading = {"AC": 0.5, "Geyser": 0.0, "Overall": 1.0 + s}
            gl.broker.publish("H1", {"ts": format_ts(start_s + s), "power_kw": reading})
        state_topic = power["state_topic"]
        assert state_topic == "gridlight/H1/ha/state"
        payload, _ = wait_for(lambda: watcher.seen.get(state_topic), what="a state")
        state = json.loads(payload)
        assert state["power_kw"]["AC"] == 0.5 and state["ts"].startswith("2025-11-22T06:25:0")
        assert set(state) >= {"ts", "power_kw", "level", "worst"}
        late = Watcher(mosquitto_server.port, state_topic)  # kept for late subscribers too
        # (a live window may overwrite it in ``seen`` between two polls: look for the retained)
        assert json.loads(wait_for(lambda: late.retained.get(state_topic), what="retained state"))
        late.close()

        # the switch's state topic: Home Assistant's ON becomes a command the device answers
        watcher.client.publish(switch["command_topic"], b"ON", qos=1)
        wait_for(lambda: ext.service.commands.audit("H1"), what="the HA command")
        ext.leader.sync()
        payload, _ = wait_for(lambda: watcher.seen.get(switch["state_topic"]), what="switch")
        assert json.loads(payload)["state"] == {"on": True}

        # a removed device's configurations are deleted (empty retained payload)
        client.put(URL, json={"devices": [THERMO]}, headers=auth(h1_key))
        ext.leader.sync()
        topic = node.format("switch", "plug1")
        wait_for(lambda: watcher.seen[topic][0] == b"", what="deleted config")
    finally:
        device.close()
        watcher.close()
