"""The demo households' simulated devices: each synthetic household's geyser and AC answer
commands, so that a visitor of the demo can press On/Off and see the ack on the stream.

Every demo household (``DEMO_HOUSEHOLDS``) gets two devices, announced in the device store at
start (unless the household already has a device of that id): ``geyser`` (a water heater,
on/off, 2 kW) and ``ac`` (a thermostat, on/off and a setpoint of 16-30 °C, 1.5 kW). A
:class:`SimulatedDevice` keeps a device's state and answers a set payload as a real device would
(``{"command_id", "ok", "state"}``, or ``ok`` false with ``error`` for what it cannot do).

Two ways to reach them, the same commands and answers:

* with ``MQTT_URL``: :class:`MqttDevices`, a paho client of its own on the broker (as a real
  device is), subscribed to ``gridlight/{h}/control/{d}/set`` of the simulated devices through a
  shared subscription (``$share/gridlight-demo-devices/…``), so that with several workers or
  hosts each command reaches one of them, and answering QoS 1 on ``…/state``;
* with no broker (the embedded demo): :class:`LocalLink` stands in for the control's MQTT link
  (:class:`server.control.link.ControlLink`): what the command sender publishes to a simulated
  device is answered from a thread of its own, through the same ``on_message(topic, payload)``
  the MQTT link calls. Other topics (Home Assistant, events between workers) have no reader there.
"""

from __future__ import annotations

import json
import logging
import queue
import secrets
import threading
from collections.abc import Callable, Iterable
from typing import Any

from server.control.devices import Device

__all__ = ["DEMO_DEVICES", "DemoDevices", "LocalLink", "MqttDevices", "SimulatedDevice"]

log = logging.getLogger(__name__)

DEMO_DEVICES = (
    Device(id="geyser", kind="water_heater", capabilities=["on_off"], name="Geyser", power_kw=2.0),
    Device.model_validate(
        {
            "id": "ac",
            "kind": "thermostat",
            "capabilities": ["on_off", "setpoint"],
            "name": "AC",
            "power_kw": 1.5,
            "setpoint_c": {"min": 16, "max": 30},
        }
    ),
)
SHARE_GROUP = "gridlight-demo-devices"


class SimulatedDevice:
    """One device's state, and its answer to a set payload."""

    def __init__(self, device: Device) -> None:
        self.device = device
        self.on = False
        self.setpoint_c: float | None = None
        if device.setpoint_c is not None:
            self.setpoint_c = round((device.setpoint_c.min + device.setpoint_c.max) / 2)
        self.lock = threading.Lock()

    def state(self) -> dict[str, Any]:
        out: dict[str, Any] = {"on": self.on}
        if self.setpoint_c is not None:
            out["setpoint_c"] = self.setpoint_c
        return out

    def answer(self, payload: bytes) -> dict[str, Any] | None:
        """The answer to one set payload; None when it names no command (nothing to answer)."""
        try:
            body = json.loads(payload.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None
        if not isinstance(body, dict) or not isinstance(body.get("command_id"), str):
            return None
        out: dict[str, Any] = {"command_id": body["command_id"]}
        action = body.get("action")
        caps = self.device.capabilities
        with self.lock:
            if action in ("on", "off") and "on_off" in caps:
                self.on = action == "on"
            elif action == "set" and "setpoint" in caps and self.device.setpoint_c is not None:
                value = body.get("setpoint_c")
                low, high = self.device.setpoint_c.min, self.device.setpoint_c.max
                if not isinstance(value, int | float) or not low <= value <= high:
                    out.update(ok=False, error=f"setpoint_c must be within {low:g}-{high:g} °C")
                    return out
                self.setpoint_c = value
                self.on = True
            else:
                out.update(ok=False, error=f"{self.device.id} cannot do {action!r}")
                return out
            out.update(ok=True, state=self.state())
        return out


class DemoDevices:
    """The simulated devices of the demo households, by their set topics."""

    def __init__(self, households: Iterable[str], devices: Iterable[Device] = DEMO_DEVICES):
        self.devices = list(devices)
        self.by_topic: dict[str, tuple[str, SimulatedDevice]] = {}
        for household in households:
            for device in self.devices:
                base = f"gridlight/{household}/control/{device.id}"
                self.by_topic[f"{base}/set"] = (f"{base}/state", SimulatedDevice(device))

    def simulates(self, household: str, device: str) -> bool:
        return f"gridlight/{household}/control/{device}/set" in self.by_topic

    def households(self) -> set[str]:
        return {topic.split("/")[1] for topic in self.by_topic}

    def register(self, store: Any, now_s: float) -> list[str]:
        """Announce every simulated device its household does not have yet; the households
        whose devices changed."""
        changed = []
        for household in sorted(self.households()):
            for device in self.devices:
                if store.get(household, device.id) is None and store.announce(
                    household, device, now_s
                ):
                    changed.append(household)
        return sorted(set(changed))

    def handle(self, topic: str, payload: bytes) -> tuple[str, bytes] | None:
        """The answer (topic, payload) to a message on a simulated device's set topic."""
        found = self.by_topic.get(topic)
        if found is None:
            return None
        state_topic, device = found
        answer = device.answer(payload)
        if answer is None:
            return None
        return state_topic, json.dumps(answer, separators=(",", ":")).encode()


class LocalLink:
    """The control link of a worker with no broker (see the module doc): publishing to a
    simulated device's set topic queues the message; a thread answers it through
    ``on_message``, after the sender has recorded the send."""

    def __init__(
        self,
        devices: DemoDevices,
        on_message: Callable[[str, bytes], None],
        *,
        on_connect: Callable[[], None] | None = None,
    ) -> None:
        self.devices = devices
        self.on_message = on_message
        self.on_connect = on_connect
        self.origin = f"local-{secrets.token_hex(3)}"
        self.connected = threading.Event()
        self.inbox: queue.Queue[tuple[str, bytes] | None] = queue.Queue()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        if self.thread is not None:
            return
        self.thread = threading.Thread(target=self._run, name="control-local-link", daemon=True)
        self.thread.start()
        self.connected.set()
        if self.on_connect is not None:
            self.on_connect()

    def stop(self) -> None:
        self.connected.clear()
        if self.thread is not None:
            self.inbox.put(None)
            self.thread.join(timeout=5)
            self.thread = None

    def publish(self, topic: str, payload: bytes | str, *, retain: bool = False) -> bool:
        if not self.connected.is_set():
            return False
        if topic in self.devices.by_topic:
            self.inbox.put((topic, payload if isinstance(payload, bytes) else payload.encode()))
        return True  # no reader for the rest: delivered to nobody, as on an empty broker

    def _run(self) -> None:
        while True:
            item = self.inbox.get()
            if item is None:
                return
            try:
                answer = self.devices.handle(*item)
                if answer is not None:
                    self.on_message(*answer)
            except Exception:  # a bad message must not stop the link
                log.exception("simulated device on %s failed", item[0])


class MqttDevices:
    """The simulated devices on the broker (see the module doc): one paho client."""

    def __init__(self, url: str, devices: DemoDevices) -> None:
        from server.ingest.mqtt import mqtt_client, parse_mqtt_url

        self.devices = devices
        self.address = parse_mqtt_url(url)
        self.subscribed = threading.Event()
        self.client = mqtt_client(self.address, f"gridlight-demo-devices-{secrets.token_hex(4)}")
        self.client.on_connect = self._connected
        self.client.on_subscribe = self._subscribed
        self.client.on_disconnect = lambda *args: self.subscribed.clear()
        self.client.on_message = self._message

    def start(self) -> None:
        self.client.connect_async(self.address.host, self.address.port, 30)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        self.subscribed.clear()

    def _connected(self, client, userdata, flags, reason_code, properties) -> None:  # noqa: ANN001
        if reason_code.is_failure:
            log.warning("demo devices' MQTT connection refused: %s", reason_code)
            return
        client.subscribe([(f"$share/{SHARE_GROUP}/{t}", 1) for t in self.devices.by_topic])

    def _subscribed(self, client, userdata, mid, reason_codes, properties) -> None:  # noqa: ANN001
        self.subscribed.set()

    def _message(self, client, userdata, message) -> None:  # noqa: ANN001
        try:
            answer = self.devices.handle(message.topic, message.payload)
            if answer is not None:
                client.publish(answer[0], answer[1], qos=1)
        except Exception:  # a bad message must not stop the client
            log.exception("simulated device on %s failed", message.topic)
