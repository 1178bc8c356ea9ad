"""Home Assistant MQTT discovery: each household as a Home Assistant device, with no configuration.

Home Assistant's MQTT integration reads retained configurations at
``<discovery_prefix>/<component>/<node_id>/<object_id>/config`` (``CONTROL_HA_PREFIX``,
``homeassistant``). The leader publishes, retained, for household ``{h}`` (node ``gridlight_{h}``):

* a ``sensor`` per channel (object ``{channel}_power``): ``device_class: power``,
  ``unit_of_measurement: kW``, ``state_class: measurement``, its value from
  ``gridlight/{h}/ha/state`` (``{"ts", "power_kw": {channel: kW}, "level": {...}, "worst"}``),
  which the leader publishes (retained) for every window it follows (``CONTROL_INTERVAL_S``);
* a ``sensor`` ``level`` (``device_class: enum``; green, yellow, red, critical) from the same
  state's ``worst``;
* a ``switch`` per device with ``on_off``: commands on ``gridlight/{h}/control/{d}/ha_command``
  (``ON`` / ``OFF``, turned into Gridlight commands with ids, acknowledged as any other), state
  from the device's own answers on ``gridlight/{h}/control/{d}/state`` (``state.on``);
* a ``number`` per device with a ``setpoint`` (``device_class: temperature``, its range):
  ``…/ha_setpoint`` and ``state.setpoint_c``.

Every entity shares the availability topic ``gridlight/{h}/ha/availability`` (``online``,
retained). A configuration that is no longer wanted (a device removed) is deleted with an empty
retained payload, as Home Assistant's documentation asks.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from server.control.devices import Device
from server.streaming.classified import ClassifiedWindow

__all__ = ["HomeAssistant", "discovery_configs", "state_payload"]

log = logging.getLogger(__name__)

LEVELS = ["green", "yellow", "red", "critical"]


def _node(household: str) -> str:
    return f"gridlight_{household}"


def discovery_configs(
    household: str,
    channels: tuple[str, ...],
    devices: list[Device],
    *,
    prefix: str = "homeassistant",
    name: str = "",
) -> dict[str, dict[str, Any]]:
    """Topic → discovery configuration of every entity of ``household``."""
    node = _node(household)
    base = f"gridlight/{household}"
    common = {
        "availability_topic": f"{base}/ha/availability",
        "device": {
            "identifiers": [node],
            "name": name or f"Gridlight {household}",
            "manufacturer": "Gridlight",
            "model": "household meter",
        },
    }
    out: dict[str, dict[str, Any]] = {}
    for channel in channels:
        out[f"{prefix}/sensor/{node}/{channel}_power/config"] = {
            "name": f"{channel} power",
            "unique_id": f"{node}_{channel}_power",
            "state_topic": f"{base}/ha/state",
            "value_template": f"{{{{ value_json.power_kw['{channel}'] }}}}",
            "unit_of_measurement": "kW",
            "device_class": "power",
            "state_class": "measurement",
            "suggested_display_precision": 3,
            **common,
        }
    out[f"{prefix}/sensor/{node}/level/config"] = {
        "name": "Traffic light",
        "unique_id": f"{node}_level",
        "state_topic": f"{base}/ha/state",
        "value_template": "{{ value_json.worst }}",
        "device_class": "enum",
        "options": LEVELS,
        "icon": "mdi:traffic-light",
        **common,
    }
    for device in devices:
        topic = f"{base}/control/{device.id}"
        label = device.name or device.id
        if "on_off" in device.capabilities:
            out[f"{prefix}/switch/{node}/{device.id}/config"] = {
                "name": label,
                "unique_id": f"{node}_{device.id}",
                "command_topic": f"{topic}/ha_command",
                "state_topic": f"{topic}/state",
                "value_template": "{{ 'ON' if value_json.state.on else 'OFF' }}",
                "payload_on": "ON",
                "payload_off": "OFF",
                "state_on": "ON",
                "state_off": "OFF",
                "qos": 1,
                **common,
            }
        if "setpoint" in device.capabilities and device.setpoint_c is not None:
            out[f"{prefix}/number/{node}/{device.id}_setpoint/config"] = {
                "name": f"{label} setpoint",
                "unique_id": f"{node}_{device.id}_setpoint",
                "command_topic": f"{topic}/ha_setpoint",
                "state_topic": f"{topic}/state",
                "value_template": "{{ value_json.state.setpoint_c }}",
                "min": device.setpoint_c.min,
                "max": device.setpoint_c.max,
                "step": 0.5,
                "mode": "box",
                "unit_of_measurement": "°C",
                "device_class": "temperature",
                "qos": 1,
                **common,
            }
    return out


def state_payload(window: ClassifiedWindow) -> bytes:
    body = {
        "ts": window.ts,
        "interval_s": window.interval_s,
        "power_kw": dict(window.power_kw),
        "level": None if window.level is None else dict(window.level),
        "worst": window.worst,
    }
    return json.dumps(body, separators=(",", ":")).encode()


class HomeAssistant:
    """The leader's part: discovery configurations (published when they change) and states."""

    def __init__(self, control: Any, *, prefix: str = "homeassistant") -> None:
        self.control = control
        self.prefix = prefix
        self.published: dict[str, str] = {}  # topic → the JSON last published (retained)

    def changed(self, household: str) -> None:
        """Devices of ``household`` changed: the leader's next round republishes (it is woken)."""
        self.control.service.nudge()

    def tick(self, now_s: float) -> None:
        service = self.control.service
        if service.link is None or not service.link.connected.is_set():
            self.published.clear()  # reconnected later: publish everything again
            return
        wanted: dict[str, str] = {}
        for info in self.control.gridlight.households.all():
            configs = discovery_configs(
                info.id,
                tuple(info.channels),
                service.devices.all(info.id),
                prefix=self.prefix,
                name=getattr(info, "name", "") or "",
            )
            wanted |= {t: json.dumps(c, separators=(",", ":")) for t, c in configs.items()}
            availability = f"gridlight/{info.id}/ha/availability"
            wanted[availability] = "online"
        for topic, payload in wanted.items():
            if self.published.get(topic) != payload and service.publish(
                topic, payload.encode(), retain=True
            ):
                self.published[topic] = payload
        for topic in set(self.published) - set(wanted):
            if service.publish(topic, b"", retain=True):  # deleted in Home Assistant
                del self.published[topic]

    def part(self, household: str):  # noqa: ANN201
        topic = f"gridlight/{household}/ha/state"

        def on_window(window: ClassifiedWindow) -> None:
            self.control.service.publish(topic, state_payload(window), retain=True)

        return on_window
