"""Control: devices, acknowledged commands over MQTT, Home Assistant discovery, schedules by MILP
and automations.

``Control(app)`` (one line in :func:`server.create_app`) registers the routes
(:mod:`server.control.views`) and, with the worker's services:

* the MQTT link (:mod:`server.control.link`) when ``MQTT_URL`` is set, in every worker: devices'
  answers, and command events for this worker's SSE clients;
* in demo mode, the demo households' simulated geyser and AC (:mod:`server.control.demo`): a
  device client of their own on the broker with ``MQTT_URL``, else an in-process link in place
  of the MQTT one;
* when ``CONTROL_ENABLED`` (default: unless testing), the control leader
  (:mod:`server.control.leader`, one per deployment on the lease ``gridlight:control:leader``):
  the command sender, Home Assistant's discovery and states (:mod:`server.control.homeassistant`),
  the schedules' executor (:mod:`server.control.executor`) and automations
  (:mod:`server.control.automations`).

Configuration: the control section of :mod:`server.config` (``CONTROL_*``, ``SCHEDULE_*``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from flask import Flask

from server.control.commands import Command, CommandRequest, Sender
from server.control.devices import ControlsDocument, Device
from server.control.service import ControlService

__all__ = ["Command", "CommandRequest", "Control", "ControlsDocument", "Device"]

log = logging.getLogger(__name__)


class Control:
    """Per-app state: ``app.extensions["control"]``."""

    def __init__(self, app: Flask | None = None, *, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.leader: Any = None
        self.link: Any = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        from server.control import views
        from server.control.automations import AutomationStore
        from server.control.schedules import ScheduleStore, default_inputs, insights_inputs

        cfg = app.config
        gl = app.extensions["gridlight"]
        self.gridlight = gl
        self.db = gl.db  # the app's one Database, disposed by the services
        self.service = ControlService(
            self.db, gl.hub, ttl_s=float(cfg["CONTROL_COMMAND_TTL_S"]), clock=self._now
        )
        self.schedules = ScheduleStore(self.db)
        self.automations = AutomationStore(self.db)
        #: (household, start_s, hours) → PlanInputs: hourly prices, carbon and base load: the
        #: household's tariff, carbon and forecast from the insights service when it is wired,
        #: else server.insights' pure defaults
        insights = app.extensions.get("insights")
        self.inputs = (
            insights_inputs(insights.service, gl.households)
            if insights is not None
            else default_inputs(gl.households)
        )
        self.step_s = int(cfg["SCHEDULE_STEP_S"])
        self.horizon_h = int(cfg["SCHEDULE_HORIZON_H"])
        self.limit_kw = float(cfg["SCHEDULE_CONNECTION_LIMIT_KW"])
        app.extensions["control"] = self
        app.register_blueprint(views.blueprint)
        #: the demo households' simulated devices (server/control/demo.py), in demo mode
        self.demo_devices: Any = None
        self.simulated: Any = None  # their MQTT client, with MQTT_URL
        if cfg["DEMO"] and cfg["CONTROL_DEMO_DEVICES"] and cfg["DEMO_HOUSEHOLDS"]:
            from server.control.demo import DemoDevices

            self.demo_devices = DemoDevices(cfg["DEMO_HOUSEHOLDS"])
        if cfg["MQTT_URL"]:
            from server.control.link import ControlLink

            self.link = self.service.link = ControlLink(
                cfg["MQTT_URL"], self.service.on_message, on_connect=self._connected
            )
            if self.demo_devices is not None:
                from server.control.demo import MqttDevices

                self.simulated = MqttDevices(cfg["MQTT_URL"], self.demo_devices)
        elif self.demo_devices is not None:  # no broker: the simulated devices answer in-process
            from server.control.demo import LocalLink

            self.link = self.service.link = LocalLink(
                self.demo_devices, self.service.on_message, on_connect=self._connected
            )
        enabled = cfg["CONTROL_ENABLED"]
        if enabled is None:
            enabled = not app.testing
        if enabled:
            self.leader = self._make_leader(app)
        gl.add("control", self, leader=True)

    def _now(self) -> float:
        return self.clock()

    def _connected(self) -> None:
        if self.leader is not None:
            self.leader.nudge()

    def _make_leader(self, app: Flask) -> Any:
        from server.control.automations import Automations
        from server.control.executor import Executor
        from server.control.homeassistant import HomeAssistant
        from server.control.leader import ControlLeader
        from server.leases import lease_for

        cfg = app.config
        gl = self.gridlight
        lease = lease_for(cfg, "gridlight:control:leader", cfg["CONTROL_LEASE_TTL_S"], gl.db)

        ha_on = bool(cfg["CONTROL_HA_DISCOVERY"]) and bool(cfg["MQTT_URL"])
        self.homeassistant = HomeAssistant(self, prefix=cfg["CONTROL_HA_PREFIX"]) if ha_on else None

        self.automation = Automations(self)

        def wanted() -> set[str]:
            out = self.automations.households()
            if self.homeassistant is not None:
                out |= {info.id for info in gl.households.all()}
            return out

        leader = ControlLeader(
            lease,
            gl.hub,
            interval_s=int(cfg["CONTROL_INTERVAL_S"]),
            sync_s=float(cfg["CONTROL_SYNC_S"]),
            wanted=wanted,
            clock=self._now,
        )
        sender = Sender(
            self.service.commands,
            lambda topic, payload: self.service.publish(topic, payload),
            self.service.emit,
            retry_s=float(cfg["CONTROL_RETRY_S"]),
            retry_max_s=float(cfg["CONTROL_RETRY_MAX_S"]),
        )
        self.executor = Executor(self, replan_s=float(cfg["SCHEDULE_REPLAN_S"]))
        leader.add_task("commands", sender.sweep)
        leader.add_task("schedules", self.executor.tick)
        leader.window_parts.append(self.automation.part)
        if self.homeassistant is not None:
            leader.add_task("homeassistant", self.homeassistant.tick)
            leader.window_parts.append(self.homeassistant.part)
            self.service.on_devices_changed = self.homeassistant.changed
        self.service.is_leader = lambda: leader.leader
        self.service.nudge = leader.nudge
        self.sender = sender
        removals = gl.removals
        removals.on_removed("control-followers", leader.followers.forget)
        removals.on_removed("control-schedules", self.executor.forget)
        removals.on_removed("control-automations", self.automation.forget)
        return leader

    def start(self) -> None:
        if self.demo_devices is not None:
            try:
                changed = self.demo_devices.register(self.service.devices, self._now())
            except Exception:  # noqa: BLE001 - the database down at start: no demo devices
                log.exception("the demo households' simulated devices were not registered")
            else:
                for household in changed:
                    self.service.on_devices_changed(household)
        if self.simulated is not None:
            self.simulated.start()
        if self.link is not None:
            self.link.start()
        if self.leader is not None:
            self.leader.start()

    def stop(self) -> None:
        """Stop the leader (its lease is released) and the link (the app owns the database)."""
        if self.leader is not None:
            self.leader.stop()
        if self.link is not None:
            self.link.stop()
        if self.simulated is not None:
            self.simulated.stop()
