"""Alerts: rules over every household's windows, delivered by push, email, SMS and webhook.

``Alerts(app)`` (one line in :func:`server.create_app`) registers the settings and log routes
(:mod:`server.alerts.views`) and, when ``ALERTS_ENABLED``, registers with the worker's services
(started with the worker) the engine (:mod:`server.alerts.engine`: one evaluator per deployment, on a lease).

Configuration: the alerts section of :mod:`server.config` (``ALERTS_*``, ``SMTP_*``,
``TWILIO_*``). Secrets come from the environment or the files it names, never from the repository.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask

from server.alerts.rules import SPIKE_MESSAGE, Alert, HouseholdRules, Observation, RuleSettings
from server.config import secret
from server.metrics import register_counter

__all__ = [
    "SPIKE_MESSAGE",
    "Alert",
    "Alerts",
    "HouseholdRules",
    "Observation",
    "RuleSettings",
]

log = logging.getLogger(__name__)

COUNTERS = {
    "gridlight_alerts_total": "Alerts, recovery notices and quiet-hours digests logged by the alert rules.",
    "gridlight_alert_deliveries_sent_total": "Alert delivery attempts that succeeded.",
    "gridlight_alert_deliveries_failed_total": "Alert delivery attempts that failed.",
    "gridlight_alert_deliveries_skipped_total": "Alert deliveries skipped (quiet hours, no setup).",
}
for _name, _help in COUNTERS.items():
    register_counter(_name, _help)


class Alerts:
    """Per-app state: ``app.extensions["alerts"]``."""

    def __init__(self, app: Flask | None = None) -> None:
        self.engine = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        from server.alerts import views
        from server.alerts.settings import SettingsStore
        from server.alerts.store import AlertLog

        cfg = app.config
        self.db = app.extensions["gridlight"].db  # the app's database (its services dispose it)
        self.log = AlertLog(self.db)
        self.settings = SettingsStore(self.db, app.extensions["gridlight"].keyring)
        app.extensions["alerts"] = self
        app.register_blueprint(views.blueprint)
        enabled = cfg["ALERTS_ENABLED"]
        if enabled is None:
            enabled = not app.testing
        if enabled:
            self.engine = self._make_engine(app)
            app.extensions["gridlight"].removals.on_removed("alerts", self.engine.forget)
        # started and stopped with the worker's services (stopping releases the evaluator's lease)
        app.extensions["gridlight"].add("alerts", self, leader=True)

    def start(self) -> None:
        if self.engine is not None:
            self.engine.start()

    def settings_doc(self, info: Any) -> dict:
        from server.alerts.settings import default_settings

        doc = self.settings.get(info.id)
        return doc if doc is not None else default_settings(info.timezone, tuple(info.channels))

    def channels(self, app: Flask) -> dict[str, Any]:
        from server.alerts.channels import EmailChannel, PushChannel, SmsChannel, WebhookChannel

        cfg = app.config
        out: dict[str, Any] = {"webhook": WebhookChannel(), "email": None, "sms": None}
        if cfg["SMTP_HOST"]:
            out["email"] = EmailChannel(
                cfg["SMTP_HOST"],
                int(cfg["SMTP_PORT"]),
                cfg["SMTP_FROM"],
                username=cfg["SMTP_USERNAME"],
                password=secret(cfg, "SMTP_PASSWORD"),
                starttls=bool(cfg["SMTP_STARTTLS"]),
                use_ssl=bool(cfg["SMTP_SSL"]),
                ca_file=cfg["SMTP_CA_FILE"],
            )
        token = secret(cfg, "TWILIO_AUTH_TOKEN")
        if cfg["TWILIO_ACCOUNT_SID"] and cfg["TWILIO_FROM"] and token:
            out["sms"] = SmsChannel(
                cfg["TWILIO_ACCOUNT_SID"],
                token,
                cfg["TWILIO_FROM"],
                base_url=cfg["TWILIO_BASE_URL"],
            )
        gl = app.extensions["gridlight"]
        # FCM devices through the deployment's one FCM client (shared with widget pushes) where
        # it is configured; browsers through Web Push everywhere
        out["push"] = PushChannel(
            gl.fcm,
            gl.devices,
            gl.metrics.add,
            webpush=gl.webpush,
            webpush_sender=gl.webpush_sender,
        )
        return out

    def _make_engine(self, app: Flask):  # noqa: ANN202
        from server.alerts.dispatch import Dispatcher
        from server.alerts.engine import AlertEngine
        from server.leases import lease_for
        from server.storage.jobs import claim

        cfg = app.config
        metrics = app.extensions["gridlight"].metrics
        dispatcher = Dispatcher(
            self.log,
            self.channels(app),
            workers=int(cfg["ALERTS_WORKERS"]),
            timeout_s=float(cfg["ALERTS_TIMEOUT_S"]),
            backoff_s=float(cfg["ALERTS_BACKOFF_S"]),
            on_attempt=lambda household, a: metrics.add(
                f"gridlight_alert_deliveries_{a.status}_total"
            ),
        )
        lease = lease_for(cfg, "gridlight:alerts:evaluator", cfg["ALERTS_LEASE_TTL_S"], self.db)
        every_s = float(cfg["ALERTS_RETENTION_EVERY_S"])

        def retention(now_s: float) -> None:
            if claim(self.db, "alert_retention", now_s, every_s):
                removed = self.log.purge(now_s)
                log.info("alert retention: deleted %d alerts older than 6 months", removed)

        return AlertEngine(
            app.extensions["gridlight"],
            self.settings,
            self.log,
            dispatcher,
            lease,
            interval_s=int(cfg["ALERTS_INTERVAL_S"]),
            sync_s=float(cfg["ALERTS_SYNC_S"]),
            queue_len=int(cfg["CLIENT_QUEUE_LEN"]),
            retention=retention,
            on_alert=lambda alert: metrics.add("gridlight_alerts_total"),
        )

    def stop(self) -> None:
        """Stop the evaluator (its lease is released). Idempotent."""
        if self.engine is not None:
            self.engine.stop()
