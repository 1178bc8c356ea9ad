"""The control's MQTT link: one paho client per worker (with ``MQTT_URL``), QoS 1.

Topics (``{h}`` a household, ``{d}`` a device id):

============================================  =====================================================
``gridlight/{h}/control/{d}/set``             Gridlight → device: ``{"command_id", "action",
                                              "setpoint_c"?, "expires_at"}`` (QoS 1)
``gridlight/{h}/control/{d}/state``           device → Gridlight: ``{"command_id", "ok", "state"}``
                                              (``ok`` false: ``"error"`` says why)
``gridlight/{h}/control/{d}/config``          device → Gridlight: its description (announce,
                                              retained by the device; empty payload: removed)
``gridlight/{h}/energy_control``              seed 001's command topic, per household:
                                              ``{"device", "action", "setpoint_c"?, "id"?}``
``energy_control``                            seed 001's topic as the seed names it (no prefix):
                                              the same with ``"household"``
``gridlight/{h}/control/{d}/ha_command``      Home Assistant's switch → Gridlight: ``ON``/``OFF``
``gridlight/{h}/control/{d}/ha_setpoint``     Home Assistant's number → Gridlight: a setpoint [°C]
``gridlight/{h}/control/events``              between Gridlight's workers: command events, so that
                                              every worker's SSE clients see them
============================================  =====================================================

paho's network thread calls :attr:`on_message` (topic, payload); the link reconnects with capped
backoff and subscribes again on every connection.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections.abc import Callable

import paho.mqtt.client as mqtt

from server.ingest.mqtt import mqtt_client, parse_mqtt_url

__all__ = ["SUBSCRIPTIONS", "ControlLink"]

log = logging.getLogger(__name__)

SUBSCRIPTIONS = (
    "gridlight/+/control/+/state",
    "gridlight/+/control/+/config",
    "gridlight/+/energy_control",
    "energy_control",
    "gridlight/+/control/events",
    "gridlight/+/control/+/ha_command",
    "gridlight/+/control/+/ha_setpoint",
)


class ControlLink:
    def __init__(
        self,
        url: str,
        on_message: Callable[[str, bytes], None],
        *,
        on_connect: Callable[[], None] | None = None,
        keepalive_s: int = 30,
    ) -> None:
        self.address = parse_mqtt_url(url)
        self.on_message = on_message
        self.on_connect = on_connect
        self.keepalive_s = keepalive_s
        self.origin = f"{os.getpid()}-{secrets.token_hex(3)}"
        self.connected = threading.Event()
        self.client = mqtt_client(self.address, f"gridlight-control-{self.origin}")
        self.client.on_connect = self._connected
        self.client.on_disconnect = self._disconnected
        self.client.on_message = self._message
        self.client.on_subscribe = self._subscribed

    def start(self) -> None:
        self.client.connect_async(self.address.host, self.address.port, self.keepalive_s)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        self.connected.clear()

    def publish(self, topic: str, payload: bytes | str, *, retain: bool = False) -> bool:
        """Queue ``payload`` QoS 1; False when not connected (the caller tries again later)."""
        if not self.connected.is_set():
            return False
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        return info.rc == mqtt.MQTT_ERR_SUCCESS

    # -- paho's network thread -----------------------------------------------------------------
    def _connected(self, client, userdata, flags, reason_code, properties) -> None:  # noqa: ANN001
        if reason_code.is_failure:
            log.warning("control MQTT connection refused: %s", reason_code)
            return
        client.subscribe([(topic, 1) for topic in SUBSCRIPTIONS])

    def _subscribed(self, client, userdata, mid, reason_codes, properties) -> None:  # noqa: ANN001
        # connected once subscribed: a command sent before could be answered unheard
        self.connected.set()
        if self.on_connect is not None:
            try:
                self.on_connect()
            except Exception:
                log.exception("control MQTT on_connect failed")

    def _disconnected(self, client, userdata, flags, reason_code, properties) -> None:  # noqa: ANN001
        self.connected.clear()
        if reason_code != 0:
            log.warning("control MQTT connection lost (%s); reconnecting", reason_code)

    def _message(self, client, userdata, message: mqtt.MQTTMessage) -> None:  # noqa: ANN001
        try:
            self.on_message(message.topic, message.payload)
        except Exception:  # a bad message must not stop the link
            log.exception("control message on %s failed", message.topic)
