"""The replay's MQTT sink: ``python -m generator replay --to mqtt://host:1883 ...`` publishes each
household's readings as a meter would, on ``gridlight/{household}/readings`` at QoS 1.

paho keeps QoS 1 messages until the broker acknowledges them and sends them again after a
reconnect, so a broker restart in the middle of a replay loses nothing; while the connection is
down, up to ``max_pending`` messages wait in the client. :func:`open_sink` returns
``(publish, close)``; ``close`` waits (bounded) until everything published was acknowledged.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from server.ingest.mqtt import PREFIX, parse_mqtt_url

__all__ = ["MqttSink", "open_sink", "readings_topic"]


def readings_topic(household: str) -> str:
    return f"{PREFIX}/{household}/readings"


class MqttSink:
    def __init__(
        self,
        url: str,
        *,
        client_id: str | None = None,
        max_inflight: int = 1000,
        max_pending: int = 1_000_000,
        connect_timeout_s: float = 10.0,
    ) -> None:
        address = parse_mqtt_url(url)
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"gridlight-replay-{os.getpid()}",
            clean_session=False,
        )
        if address.username:
            self.client.username_pw_set(address.username, address.password)
        if address.tls:
            self.client.tls_set()
        self.client.max_inflight_messages_set(max_inflight)
        self.client.max_queued_messages_set(max_pending)
        self.client.reconnect_delay_set(0.2, 5)  # type: ignore[arg-type]
        self.connected = threading.Event()
        self.client.on_connect = lambda c, u, f, rc, p: self.connected.set()
        self.client.on_disconnect = lambda c, u, f, rc, p: self.connected.clear()
        self.client.connect_async(address.host, address.port, keepalive=30)
        self.client.loop_start()
        if not self.connected.wait(connect_timeout_s):
            self.client.loop_stop()
            raise ConnectionError(f"no MQTT broker answered at {address.host}:{address.port}")
        self.last: mqtt.MQTTMessageInfo | None = None

    def publish(self, household: str, reading: dict) -> None:
        body = {"ts": reading["ts"], "power_kw": reading["power_kw"]}
        payload = json.dumps(body, separators=(",", ":"), allow_nan=False)
        info = self.client.publish(readings_topic(household), payload, qos=1)
        if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
            raise ConnectionError("MQTT client queue is full while the broker is away")
        self.last = info

    def publish_raw(self, topic: str, payload: bytes | str) -> None:
        """Any payload on any topic (tests mix malformed messages into a replay with it)."""
        self.last = self.client.publish(topic, payload, qos=1)

    def close(self, timeout_s: float = 30.0) -> bool:
        """Wait until every message is acknowledged (or ``timeout_s``), then disconnect."""
        deadline = time.monotonic() + timeout_s
        done = True
        if self.last is not None:
            while not self.last.is_published() or self.client.want_write():
                if time.monotonic() > deadline:
                    done = False
                    break
                self.last.wait_for_publish(timeout=0.1)
        self.client.disconnect()
        self.client.loop_stop()
        return done


def open_sink(url: str) -> tuple[Callable[[str, dict], None], Callable[[], object]]:
    """``(publish, close)`` for ``mqtt://`` URLs (resolved by the replay CLI by scheme)."""
    sink = MqttSink(url)
    return sink.publish, sink.close
