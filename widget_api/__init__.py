"""The widget-facing blueprint and push notifications.

``WidgetApi(app)`` (loaded by :func:`server.create_app` through the ``gridlight.extensions``
entry point) registers :mod:`widget_api.views` and, when FCM credentials are configured,
registers its push sender (:mod:`widget_api.push`) with the worker's services, which start it
with the worker. Devices' push tokens and the FCM client are the server's (:mod:`server.push`).

Configuration: the widget and pushes section of :mod:`server.config` (``WIDGET_*``,
``PUSH_*``, ``FCM_*``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from flask import Flask

from server.push.devices import DeviceStore
from widget_api.state import WidgetStates

__all__ = ["WidgetApi"]

log = logging.getLogger(__name__)


class WidgetApi:
    """Per-app state of the widget API: ``app.extensions["widget_api"]``."""

    devices: DeviceStore
    states: WidgetStates

    def __init__(self, app: Flask | None = None, *, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.pusher = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        from widget_api import views

        gl = app.extensions["gridlight"]
        self.devices = gl.devices
        self.states = WidgetStates()
        app.extensions["widget_api"] = self
        app.register_blueprint(views.blueprint)
        self.pusher = self._make_pusher(app)
        if self.pusher is not None:  # started and stopped with the worker's services
            gl.add("widget-push", self.pusher, leader=True)

    def _make_pusher(self, app: Flask):  # noqa: ANN202
        from server.leases import LEASE_KEY, lease_for
        from widget_api.push import Pusher, Sender

        cfg = app.config
        gl = app.extensions["gridlight"]
        if gl.fcm is None:
            return None
        sender = Sender(gl.fcm, self.devices, gl.metrics, int(cfg["PUSH_QUEUE_LEN"]))
        lease = lease_for(cfg, LEASE_KEY, cfg["PUSH_LEASE_TTL_S"], gl.db)
        return Pusher(
            gl,
            self.devices,
            sender,
            lease,
            interval_s=int(cfg["PUSH_INTERVAL_S"]),
            hold_windows=int(cfg["PUSH_HOLD_WINDOWS"]),
            sync_s=float(cfg["PUSH_SYNC_S"]),
            queue_len=int(cfg["CLIENT_QUEUE_LEN"]),
        )

    def stop(self) -> None:
        if self.pusher is not None:
            self.pusher.stop()
