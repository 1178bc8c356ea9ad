"""MQTT ingest: one subscriber per deployment, QoS 1, a persistent session, acks after storage.

Topics (``{prefix}`` is ``gridlight``):

* ``gridlight/{household}/{channel}/power`` — a number in kW (``null``: unavailable), stamped
  with the arrival second; or JSON ``{"ts": ..., "power_kw": 1.2}``.
* ``gridlight/{household}/readings`` — JSON ``{"ts": ..., "power_kw": {channel: value}}`` or a
  list of them.

The session is persistent (MQTT 5, ``clean_start`` false, a fixed client id and a session expiry),
so the broker keeps what is published while Gridlight is down and delivers it when it returns.
paho reconnects with capped exponential backoff.

**Acknowledgements are manual** (paho's ``manual_ack=True``): a QoS 1 message is acknowledged
only after its readings are committed to the database by the batch writer (or it was refused and kept as
a dead letter), in the order received. With automatic acks, paho acknowledges on receipt, and a
crash before the batch commits would lose up to a batch of readings the broker considers
delivered. The price is that unacknowledged messages count against the broker's in-flight window,
so the subscriber asks for a large Receive Maximum (``MQTT_RECEIVE_MAXIMUM``) and the writer
flushes every ``INGEST_BATCH_MS``. A crash after the commit and before the ack means a redelivery,
which storage recognises as a duplicate: at-least-once delivery, exactly-once storage.

A malformed message never stops the subscriber: it is kept as a dead letter with the reason,
counted in ``gridlight_ingest_rejected_total``, acknowledged, and the next message is read.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from server.ingest.status import HEARTBEAT_S, write_status
from server.ingest.validate import Checked, Rejection, check_reading
from server.ingest.writer import TRANSIENT, BatchWriter, Ingestor

__all__ = ["BrokerAddress", "MqttIngest", "parse_mqtt_url", "parse_topic"]

log = logging.getLogger(__name__)

PREFIX = "gridlight"
#: Readings one ``…/readings`` message may carry (a list), as for one HTTP request.
MAX_READINGS_PER_MESSAGE = 10_000


class IngestError(ValueError):
    """Bad MQTT configuration (URL) or a message that cannot be read."""


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False


def parse_mqtt_url(url: str) -> BrokerAddress:
    """``mqtt://[user:pass@]host[:1883]`` or ``mqtts://…[:8883]``."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise IngestError(f"MQTT URL {url!r}: expected mqtt://host[:port] or mqtts://host[:port]")
    if not parts.hostname:
        raise IngestError(f"MQTT URL {url!r} names no host")
    tls = parts.scheme in ("mqtts", "ssl")
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError as err:
        raise IngestError(f"MQTT URL {url!r} has a bad port: {err}") from err
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return BrokerAddress(parts.hostname, port, user, password, tls)


def mqtt_client(
    address: BrokerAddress,
    client_id: str,
    *,
    min_backoff_s: float = 0.2,
    max_backoff_s: float = 30.0,
    **options: object,
) -> mqtt.Client:
    """An MQTT v5 client for ``address``: its credentials and TLS set, reconnecting with backoff
    (every Gridlight client of the broker: ingest, control, demo devices, the carbon feed).
    ``options`` go to :class:`paho.mqtt.client.Client` (``manual_ack``, ...)."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, **options
    )
    client.reconnect_delay_set(min_backoff_s, max_backoff_s)  # type: ignore[arg-type]
    if address.username:
        client.username_pw_set(address.username, address.password)
    if address.tls:
        client.tls_set()
    return client


def parse_topic(topic: str) -> tuple[str, str | None]:
    """``(household, channel)`` of a power topic, ``(household, None)`` of a readings topic."""
    parts = topic.split("/")
    if len(parts) == 4 and parts[0] == PREFIX and parts[3] == "power" and parts[1] and parts[2]:
        return parts[1], parts[2]
    if len(parts) == 3 and parts[0] == PREFIX and parts[2] == "readings" and parts[1]:
        return parts[1], None
    raise IngestError(
        f"topic {topic!r} is not gridlight/{{household}}/{{channel}}/power or "
        "gridlight/{household}/readings"
    )


def decode(
    topic: str, payload: bytes, channels_of: Callable[[str], tuple[str, ...] | None], now_s: float
) -> tuple[str, list[object]]:
    """A message → ``(household, readings in the household shape)``; IngestError otherwise."""
    household, channel = parse_topic(topic)
    if channels_of(household) is None:
        raise IngestError(
            f"unknown household {household!r}: register it with "
            f"'python -m server households add {household} --channels ...'"
        )
    try:
        text = payload.decode("utf-8")
        body = json.loads(text) if text.strip() else None
    except (UnicodeDecodeError, ValueError) as err:
        shown = payload[:60].decode("utf-8", errors="replace")
        raise IngestError(f"payload {shown!r} is not JSON or a number: {err}") from None
    if channel is not None:
        if isinstance(body, dict):
            if "power_kw" not in body:
                raise IngestError("a power message needs power_kw (a number in kW)")
            return household, [
                {"ts": body.get("ts", now_s), "power_kw": {channel: body["power_kw"]}}
            ]
        if text.strip() == "":
            raise IngestError("empty payload: expected a number in kW")
        return household, [{"ts": now_s, "power_kw": {channel: body}}]
    if isinstance(body, dict):
        return household, [body]
    if isinstance(body, list) and body:
        if len(body) > MAX_READINGS_PER_MESSAGE:
            raise IngestError(
                f"{len(body)} readings in one message; at most {MAX_READINGS_PER_MESSAGE}"
            )
        return household, body
    raise IngestError(
        f"payload of {topic} must be a JSON object {{ts, power_kw}} or a list of them"
    )


class MqttIngest:
    """The subscriber: paho client (network thread) → validation → :class:`BatchWriter`."""

    def __init__(
        self,
        url: str,
        ingestor: Ingestor,
        writer: BatchWriter,
        *,
        client_id: str = "gridlight-ingest",
        session_expiry_s: int = 7 * 86_400,
        receive_maximum: int = 10_000,
        keepalive_s: int = 30,
        min_backoff_s: float = 0.2,
        max_backoff_s: float = 30.0,
        clock: Callable[[], float] = time.time,
        status_file: Path | None = None,
    ) -> None:
        self.address = parse_mqtt_url(url)
        self.status_file = status_file  # see server.ingest.status
        self._since = clock()
        self._stopped = threading.Event()
        self._status_lock = threading.Lock()
        self._status_failing = False
        self.ingestor = ingestor
        self.writer = writer
        self.clock = clock
        self.session_expiry_s = int(session_expiry_s)
        self.receive_maximum = int(receive_maximum)
        self.keepalive_s = keepalive_s
        self.connected = threading.Event()
        self.messages = 0
        self.client = mqtt_client(
            self.address,
            client_id,
            min_backoff_s=min_backoff_s,
            max_backoff_s=max_backoff_s,
            manual_ack=True,
        )
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> MqttIngest:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.session_expiry_s
        props.ReceiveMaximum = min(self.receive_maximum, 65_535)
        self.client.connect_async(
            self.address.host,
            self.address.port,
            keepalive=self.keepalive_s,
            clean_start=False,
            properties=props,
        )
        self.client.loop_start()
        if self.status_file is not None:
            self._report()
            threading.Thread(target=self._heartbeat, name="mqtt-status", daemon=True).start()
        return self

    def stop(self) -> None:
        """Disconnect (the session and its undelivered messages stay on the broker)."""
        self._stopped.set()
        self.client.disconnect()
        self.client.loop_stop()
        self._report(connected=False)

    # -- status for /healthz -----------------------------------------------------------------
    def _report(self, connected: bool | None = None) -> None:
        """Write the status file; with ``connected``, change the state first (the file is
        written before :attr:`connected` is set, so whoever waits on it finds the file current)."""
        with self._status_lock:
            if connected is not None and connected != self.connected.is_set():
                self._since = self.clock()
            state = self.connected.is_set() if connected is None else connected
            if not state:
                self.connected.clear()
            if self.status_file is not None:
                try:
                    write_status(
                        self.status_file,
                        connected=state,
                        broker=f"{self.address.host}:{self.address.port}",
                        since=self._since,
                        now=self.clock(),
                    )
                except OSError as err:
                    if not self._status_failing:  # once, not every heartbeat
                        log.warning("cannot write the MQTT status to %s: %s", self.status_file, err)
                    self._status_failing = True
                else:
                    self._status_failing = False
            if state:
                self.connected.set()

    def _heartbeat(self) -> None:
        while not self._stopped.wait(HEARTBEAT_S):
            self._report()

    # -- callbacks (paho's network thread) ---------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:  # noqa: ANN001
        if reason_code.is_failure:
            log.warning("MQTT connection refused: %s", reason_code)
            return
        log.info(
            "MQTT connected to %s:%d (session present: %s)",
            self.address.host,
            self.address.port,
            flags.session_present,
        )
        client.subscribe([(f"{PREFIX}/+/+/power", 1), (f"{PREFIX}/+/readings", 1)])
        self._report(connected=True)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:  # noqa: ANN001
        self._report(connected=False)
        if reason_code != 0:
            log.warning("MQTT connection lost (%s); reconnecting with backoff", reason_code)

    def _on_message(self, client, userdata, message: mqtt.MQTTMessage) -> None:  # noqa: ANN001
        self.messages += 1
        self.ingestor.count("gridlight_ingest_mqtt_messages_total", 1)
        mid, qos = message.mid, message.qos

        def ack() -> None:
            if qos > 0:
                client.ack(mid, qos)

        topic, payload = message.topic, message.payload
        try:
            rows = self.handle(topic, payload)
        except TRANSIENT as err:  # the household's channels are unknown while the DB is away
            log.warning("validating a message on %s waits for the database: %s", topic, err)
            self.writer.submit_later(lambda: self.handle(topic, payload), ack)
            return
        except Exception:  # a bug must not stop the subscriber; the message is kept
            log.exception("ingesting a message on %s failed", message.topic)
            self.ingestor.reject("mqtt", None, "internal error while ingesting", message.payload)
            rows = []
        self.writer.submit(rows, ack)

    def handle(self, topic: str, payload: bytes) -> list:
        """Validate one message; keep what is refused; return the rows to store."""
        now_s = self.clock()
        household = topic.split("/")[1] if topic.count("/") >= 2 else None
        try:
            household, readings = decode(topic, payload, self.ingestor.channels_of, now_s)
        except IngestError as err:
            self.ingestor.reject("mqtt", household, f"{topic}: {err}", payload)
            return []
        if not self.ingestor.collecting(household):
            # no consent to collection: nothing is stored, not even as a dead letter
            self.ingestor.count("gridlight_ingest_rejected_total", 1)
            log.warning(
                "%s: household %s has not consented to collection: dropped", topic, household
            )
            return []
        channels = self.ingestor.channels_of(household) or ()
        out = Checked()
        for i, raw in enumerate(readings):
            check_reading(household, channels, raw, i, now_s, self.ingestor.max_age_s, out)
        if out.rejected:
            self.ingestor.reject(
                "mqtt", household, f"{topic}: {_reasons(out.rejected)}", payload, len(out.rejected)
            )
        return out.rows


def _reasons(rejected: list[Rejection]) -> str:
    text = "; ".join(r.reason for r in rejected[:5])
    return text if len(rejected) <= 5 else f"{text}; and {len(rejected) - 5} more"
