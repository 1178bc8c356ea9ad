"""The control of one worker: its stores, its MQTT link, command events, and what arrives over MQTT.

* :meth:`ControlService.command` creates a command (HTTP, MQTT alias, Home Assistant, schedule,
  automation alike) and announces it; the leader's sweep (:class:`~server.control.commands.Sender`)
  sends it.
* :meth:`ControlService.emit` announces a command's status as an SSE control event (no id) on the
  household's live ``/api/v1/…/stream`` channels of this worker::

      event: command
      data: {"id": "c-…", "household": "H1", "device": "plug1", "action": "on", "status": "acked", …}

  and, with MQTT, on ``gridlight/{h}/control/events`` for the other workers' streams.
* :meth:`ControlService.on_message` handles the link's messages: devices' answers (any worker:
  a command moves once, whoever sees the answer first), and, on the leader only (one handler per
  deployment), announcements, seed 001's ``energy_control`` commands and Home Assistant's.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from server.control.commands import Command, CommandRequest, CommandStore, check_against
from server.control.devices import Device, DeviceStore
from server.errors import GridlightError, InvalidParameter, NotFound
from server.storage.database import Database
from server.streaming.sse import Event
from server.validation import parse

__all__ = ["ControlService", "command_event"]

log = logging.getLogger(__name__)


def command_event(command: Command) -> bytes:
    """The SSE control event of a command's status."""
    data = json.dumps(command.public(), separators=(",", ":"))
    return Event(data=data, event="command").encode()


class ControlService:
    def __init__(
        self,
        db: Database,
        hub: Any,
        *,
        ttl_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.devices = DeviceStore(db)
        self.commands = CommandStore(db)
        self.hub = hub
        self.ttl_s = ttl_s
        self.clock = clock
        self.link: Any = None  # server.control.link.ControlLink with MQTT_URL
        self.is_leader: Callable[[], bool] = lambda: False
        self.nudge: Callable[[], None] = lambda: None  # wakes the leader's sweep
        self.on_devices_changed: Callable[[str], None] = lambda household: None

    # -- commands ------------------------------------------------------------------------------
    def command(
        self,
        household: str,
        device_id: str,
        request: CommandRequest,
        *,
        source: str,
        actor: str | None,
    ) -> tuple[Command, bool]:
        device = self.devices.get(household, device_id)
        if device is None:
            raise NotFound(f"household {household!r} has no controllable device {device_id!r}")
        check_against(request, device)
        command, created = self.commands.create(
            household, device_id, request, source=source, actor=actor,
            now_s=self.clock(), ttl_s=self.ttl_s,
        )  # fmt: skip
        if created:
            self.emit(command)
            self.nudge()
        return command, created

    def emit(self, command: Command, *, relay: bool = True) -> None:
        item = (None, command_event(command))
        for channel in self.hub.channels_of(command.household):
            if channel.fmt == "v1":
                channel.ping(item)
        if relay and self.link is not None:
            body = {"origin": self.link.origin, "command": command.public()}
            self.link.publish(
                f"gridlight/{command.household}/control/events", json.dumps(body).encode()
            )

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> bool:
        return self.link is not None and self.link.publish(topic, payload, retain=retain)

    # -- MQTT ----------------------------------------------------------------------------------
    def on_message(self, topic: str, payload: bytes) -> None:
        parts = topic.split("/")
        try:
            if parts == ["energy_control"]:
                body = _json(payload, topic)
                household = body.pop("household", None)
                if not isinstance(household, str):
                    raise InvalidParameter("household: expected the household id")
                return self._alias(household, body, topic)
            if len(parts) == 3 and parts[0] == "gridlight" and parts[2] == "energy_control":
                return self._alias(parts[1], _json(payload, topic), topic)
            if len(parts) == 4 and parts[0] == "gridlight" and parts[2:] == ["control", "events"]:
                return self._relayed(payload)
            if len(parts) == 5 and parts[0] == "gridlight" and parts[2] == "control":
                household, device, kind = parts[1], parts[3], parts[4]
                if kind == "state":
                    return self._answer(household, device, payload)
                if not self.is_leader():
                    return None
                if kind == "config":
                    return self._announce(household, device, payload)
                if kind == "ha_command":
                    action = payload.decode("utf-8", "replace").strip().lower()
                    request = parse(CommandRequest, {"action": action})
                    self.command(household, device, request, source="mqtt", actor="homeassistant")
                    return None
                if kind == "ha_setpoint":
                    value = float(payload.decode("utf-8", "replace"))
                    request = parse(CommandRequest, {"action": "set", "setpoint_c": value})
                    self.command(household, device, request, source="mqtt", actor="homeassistant")
                    return None
        except (GridlightError, ValueError) as err:
            log.warning("control message on %s refused: %s", topic, err)
        return None

    def _alias(self, household: str, body: dict[str, Any], topic: str) -> None:
        if not self.is_leader():
            return
        device = body.pop("device", None)
        if not isinstance(device, str):
            raise InvalidParameter("device: expected the device id")
        request = parse(CommandRequest, body)
        self.command(household, device, request, source="mqtt", actor=f"mqtt:{topic}")

    def _relayed(self, payload: bytes) -> None:
        body = _json(payload, "events")
        if self.link is None or body.get("origin") == self.link.origin:
            return
        raw = body.get("command") or {}
        household = raw.get("household")
        if not isinstance(household, str):
            return
        data = json.dumps(raw, separators=(",", ":"))
        item = (None, Event(data=data, event="command").encode())
        for channel in self.hub.channels_of(household):
            if channel.fmt == "v1":
                channel.ping(item)
        if raw.get("status") == "pending" and self.is_leader():
            self.nudge()  # created in another worker: send it now, not at the next sweep

    def _answer(self, household: str, device: str, payload: bytes) -> None:
        body = _json(payload, "state")
        cid = body.get("command_id")
        if not isinstance(cid, str):
            return  # a state report without a command (a device's own change): nothing to ack
        ok = body.get("ok")
        if not isinstance(ok, bool):
            raise InvalidParameter(f"ok: expected true or false, got {ok!r}")
        state = body.get("state")
        error = None if ok else str(body.get("error") or "the device refused the command")
        command = self.commands.get(household, cid)
        if command is None or command.device != device:
            return
        done = self.commands.finish(
            household, cid, "acked" if ok else "failed", self.clock(),
            state=state if isinstance(state, dict) else None, error=error,
            actor=f"device:{device}",
        )  # fmt: skip
        if done is not None:
            self.emit(done)

    def _announce(self, household: str, device_id: str, payload: bytes) -> None:
        if not payload.strip():
            if self.devices.remove(household, device_id):
                self.on_devices_changed(household)
            return
        body = _json(payload, "config")
        body.setdefault("id", device_id)
        if body["id"] != device_id:
            raise InvalidParameter(f"id: {body['id']!r} differs from the topic's {device_id!r}")
        device = parse(Device, body)
        if self.devices.announce(household, device, self.clock()):
            self.on_devices_changed(household)


def _json(payload: bytes, where: str) -> dict[str, Any]:
    try:
        body = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise InvalidParameter(f"{where}: payload is not JSON") from None
    if not isinstance(body, dict):
        raise InvalidParameter(f"{where}: expected a JSON object")
    return body
