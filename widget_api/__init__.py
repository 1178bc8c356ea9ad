"""The widget-facing blueprint and push notifications.

``WidgetApi(app)`` (one line in :func:`server.create_app`, after the stream server's
``Gridlight``) registers :mod:`widget_api.views`, opens the ``devices`` table and, when FCM
credentials are configured, starts the pusher (:mod:`widget_api.push`).

Configuration (defaults set here; ``GRIDLIGHT_*`` environment variables override them as for the
rest of the app, e.g. ``GRIDLIGHT_PUSH_HOLD_WINDOWS=5``):

=========================  =======  ==========================================================
``WIDGET_INTERVAL_S``      60       ``?interval`` of ``GET …/widget`` when absent [s]
``WIDGET_MAX_INTERVAL_S``  3600     largest ``?interval`` of the widget and its page [s]
``WIDGET_PAGE_INTERVAL_S`` 60       the page's interval when absent (5 in demo mode) [s]
``PUSH_ENABLED``           None     None: push when FCM credentials are configured
``PUSH_INTERVAL_S``        60       windows the pusher watches (the app's ``interval=60``) [s]
``PUSH_HOLD_WINDOWS``      3        windows a change to green/yellow must hold before a push
``PUSH_QUEUE_LEN``         1000     pushes waiting for the sender before new ones are dropped
``PUSH_SYNC_S``            5        lease renewal and device re-scan period [s]
``PUSH_LEASE_TTL_S``       15       Redis lease lifetime: a dead sender is replaced after it [s]
``FCM_CREDENTIALS``        None     service-account JSON; default ``$GOOGLE_APPLICATION_CREDENTIALS``
``FCM_BASE_URL``           None     endpoint override (``GRIDLIGHT_FCM_BASE_URL``), e.g. a test server
``FCM_TIMEOUT_S``          10       per HTTP request [s]
``FCM_RETRIES``            2        retries of 5xx / connection errors per message
``FCM_BACKOFF_S``          0.5      backoff factor between those retries [s]
=========================  =======  ==========================================================
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

from flask import Flask

from server.storage import KeyStore, connect, db_path
from widget_api.devices import DeviceStore
from widget_api.state import WidgetStates

__all__ = ["DEFAULTS", "WidgetApi"]

log = logging.getLogger(__name__)

DEFAULTS = {
    "WIDGET_INTERVAL_S": 60,
    "WIDGET_MAX_INTERVAL_S": 3600,
    "WIDGET_PAGE_INTERVAL_S": None,
    "PUSH_ENABLED": None,
    "PUSH_INTERVAL_S": 60,
    "PUSH_HOLD_WINDOWS": 3,
    "PUSH_QUEUE_LEN": 1000,
    "PUSH_SYNC_S": 5.0,
    "PUSH_LEASE_TTL_S": 15.0,
    "FCM_CREDENTIALS": None,
    "FCM_BASE_URL": None,
    "FCM_TIMEOUT_S": 10.0,
    "FCM_RETRIES": 2,
    "FCM_BACKOFF_S": 0.5,
}


class WidgetApi:
    """Per-app state of the widget API: ``app.extensions["widget_api"]``."""

    devices: DeviceStore
    keys: KeyStore
    states: WidgetStates

    def __init__(self, app: Flask | None = None, *, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.pusher = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        from widget_api import auth, views

        cfg = app.config
        for name, value in DEFAULTS.items():
            cfg.setdefault(name, value)
        if cfg["WIDGET_PAGE_INTERVAL_S"] is None:
            cfg["WIDGET_PAGE_INTERVAL_S"] = 5 if cfg["DEMO"] else 60
        conn = connect(db_path(cfg["DATA_DIR"]))
        self.devices = DeviceStore(conn)
        self.keys = KeyStore(conn)
        self.states = WidgetStates()
        app.extensions["widget_api"] = self
        auth.init_app(app)
        app.register_blueprint(views.blueprint)
        self.pusher = self._make_pusher(app)
        if self.pusher is not None:
            self.pusher.start()

    def _make_pusher(self, app: Flask):  # noqa: ANN202
        from widget_api.fcm import FcmClient, FcmConfigError
        from widget_api.leader import LocalLease, RedisLease
        from widget_api.push import Pusher, Sender

        cfg = app.config
        credentials = cfg["FCM_CREDENTIALS"] or os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
        enabled = cfg["PUSH_ENABLED"]
        if enabled is None:
            enabled = bool(credentials)
        if not enabled:
            log.info("widget pushes off: GOOGLE_APPLICATION_CREDENTIALS is not set")
            return None
        if not credentials:
            raise FcmConfigError(
                "PUSH_ENABLED is set but no FCM credentials: set GOOGLE_APPLICATION_CREDENTIALS"
            )
        client = FcmClient(
            credentials,
            cfg["FCM_BASE_URL"] or None,
            timeout_s=float(cfg["FCM_TIMEOUT_S"]),
            retries=int(cfg["FCM_RETRIES"]),
            backoff_s=float(cfg["FCM_BACKOFF_S"]),
        )
        gl = app.extensions["gridlight"]
        sender = Sender(client, self.devices, gl.metrics, int(cfg["PUSH_QUEUE_LEN"]))
        lease = (
            RedisLease(cfg["REDIS_URL"], ttl_s=float(cfg["PUSH_LEASE_TTL_S"]))
            if cfg["REDIS_URL"]
            else LocalLease()
        )
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
