"""Fixtures of the control tests: an app with a live household (H1) and its key, optionally on a
real mosquitto broker, with the control leader's clock injected; a simulated device (a paho
client that answers commands on the real topics)."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from flask import Flask
from paho.mqtt.enums import CallbackAPIVersion

from server import create_app
from server.storage import KeyStore, command_database

T0 = 1_763_792_700.0  # 2025-11-22T06:25:00Z


class Clock:
    def __init__(self, now_s: float = T0) -> None:
        self.now_s = now_s

    def __call__(self) -> float:
        return self.now_s


class SimulatedDevice:
    """A device on the broker: records every set payload and answers as told (``answer``:
    ``"ok"``, ``"fail"`` or ``None`` for silence)."""

    def __init__(self, url_port: int, household: str, device: str, answer: str | None = "ok"):
        self.household, self.device, self.answer = household, device, answer
        self.received: queue.Queue[dict] = queue.Queue()
        self.count = 0
        self.on = False
        self.connected = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.on_connect = self._connected
        self.client.on_message = self._message
        self.client.connect("127.0.0.1", url_port)
        self.client.loop_start()
        assert self.connected.wait(10)

    def topic(self, kind: str) -> str:
        return f"gridlight/{self.household}/control/{self.device}/{kind}"

    def _connected(self, client, userdata, flags, rc, props) -> None:  # noqa: ANN001
        client.subscribe(self.topic("set"), qos=1)
        self.connected.set()

    def _message(self, client, userdata, message) -> None:  # noqa: ANN001
        body = json.loads(message.payload)
        self.count += 1
        self.received.put(body)
        if self.answer is None:
            return
        if body["action"] in ("on", "off"):
            self.on = body["action"] == "on"
        answer = {"command_id": body["command_id"], "ok": self.answer == "ok"}
        if self.answer == "ok":
            answer["state"] = {"on": self.on}
        else:
            answer["error"] = "relay stuck"
        client.publish(self.topic("state"), json.dumps(answer), qos=1)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def control_data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def h1_key(control_data_dir: Path) -> str:
    db = command_database(control_data_dir)
    _, key = KeyStore(db).add_household("H1", ["AC", "Geyser", "Overall"], timezone="Asia/Kolkata")
    db.dispose()
    return key


@pytest.fixture
def make_app(control_data_dir: Path, h1_key: str) -> Iterator[Callable[..., Flask]]:
    apps: list[Flask] = []

    def make(**config: object) -> Flask:
        base = {
            "TESTING": True,
            "DATA_DIR": str(control_data_dir),
            "REDIS_URL": None,
            "DEMO": False,
            "EMBEDDED_REPLAY": False,
            "WARM_STATS": False,
            "PUSH_ENABLED": False,
            "CONTROL_ENABLED": True,
            "CONTROL_SYNC_S": 3600.0,  # the tests drive the leader with sync()
        }
        base.update(config)
        app = create_app(base)
        app.extensions["control"].clock = Clock()
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["gridlight"].stop()


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


PLUG = {"id": "plug1", "kind": "plug", "capabilities": ["on_off"], "power_kw": 2.0}
THERMO = {
    "id": "thermo1",
    "kind": "thermostat",
    "capabilities": ["on_off", "setpoint"],
    "setpoint_c": {"min": 16, "max": 30},
}
