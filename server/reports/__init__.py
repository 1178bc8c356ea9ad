"""Monthly reports (issue #17): a PDF per household and calendar month, scheduled, stored,
served, emailed and pushed.

``Reports(app)`` (one line in :func:`server.create_app`, after the alerts, whose settings hold
the email recipients and whose log holds the month's alerts) opens the reports' index
(:mod:`server.reports.store`), registers ``GET …/reports`` and ``GET …/reports/{yyyy-mm}.pdf``
(:mod:`server.reports.views`) and registers with the worker's services the scheduler
(:mod:`server.reports.schedule`: ``0 0 1 * *`` in each household's zone, on a lease, PDFs in a
process pool), which runs when ``REPORTS_ENABLED`` (by default unless ``TESTING``).

The figures (:mod:`server.reports.figures`) come from the insights core; charts
(:mod:`server.reports.charts`, matplotlib) and the PDF (:mod:`server.reports.pdf`, fpdf2) are
rendered by :func:`server.reports.generate.run_task`; ``python -m server reports generate`` makes
one from a dataset or the data directory (:mod:`server.reports.cli`).

Tariffs: ``app.extensions["reports"].tariff_for`` (a household → its tariff): its stored tariff
(the insights service) when one was put, else
:func:`~server.reports.generate.default_tariff_for` (the demo tariff in its zone).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask

from generator.dataset import HouseholdInfo
from server.insights import Tariff
from server.reports.deliver import SEED_MESSAGE, Delivery
from server.reports.generate import ReportTask, TariffFor, default_tariff_for, run_task
from server.reports.store import ReportStore, StoredReport

__all__ = [
    "SEED_MESSAGE",
    "ReportStore",
    "ReportTask",
    "Reports",
    "StoredReport",
    "TariffFor",
    "default_tariff_for",
    "run_task",
]

log = logging.getLogger(__name__)


def _stored_tariff(service) -> TariffFor:  # noqa: ANN001 - server.insights.service
    def tariff_for(info: HouseholdInfo) -> Tariff | None:
        found, _source, _revision = service.tariff(info.id)
        return found if found is not None else default_tariff_for(info)

    return tariff_for


class Reports:
    """Per-app state: ``app.extensions["reports"]`` (``store``, ``scheduler``, ``tariff_for``)."""

    def __init__(self, app: Flask | None = None) -> None:
        self.tariff_for: TariffFor = default_tariff_for
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        from server.reports import views

        cfg = app.config
        self.db = app.extensions["gridlight"].db  # the app's; disposed by the services
        self.store = ReportStore(self.db, cfg["DATA_DIR"])
        insights = app.extensions.get("insights")
        if insights is not None:  # the household's stored tariff, else the default
            self.tariff_for = _stored_tariff(insights.service)
        app.extensions["reports"] = self
        app.register_blueprint(views.blueprint)
        enabled = cfg["REPORTS_ENABLED"]
        self.enabled = (not app.testing) if enabled is None else bool(enabled)
        self.scheduler = self._make_scheduler(app)
        app.extensions["gridlight"].add("reports", self, leader=True)

    def _make_scheduler(self, app: Flask):  # noqa: ANN202
        from server.alerts.channels import EmailChannel
        from server.config import secret
        from server.leases import lease_for
        from server.reports.schedule import ReportScheduler, Sources

        cfg = app.config
        gl = app.extensions["gridlight"]
        alerts = app.extensions["alerts"]

        def alerts_of(household: str, from_s: int, to_s: int) -> list[dict[str, Any]]:
            out, cursor = [], None
            while True:
                page, cursor = alerts.log.page(
                    household, from_s=from_s, to_s=to_s, cursor=cursor, limit=500
                )
                out += [{"level": a["level"], "rule": a["rule"], "kind": a["kind"]} for a in page]
                if cursor is None:
                    return out

        def recipients(info: Any) -> list[str]:
            email = alerts.settings_doc(info).get("channels", {}).get("email") or {}
            return list(email.get("to") or []) if email.get("enabled") else []

        email = None
        if cfg["SMTP_HOST"]:
            email = EmailChannel(
                cfg["SMTP_HOST"],
                int(cfg["SMTP_PORT"]),
                cfg["SMTP_FROM"],
                username=cfg["SMTP_USERNAME"],
                password=secret(cfg, "SMTP_PASSWORD"),
                starttls=bool(cfg["SMTP_STARTTLS"]),
                use_ssl=bool(cfg["SMTP_SSL"]),
                ca_file=cfg["SMTP_CA_FILE"],
            )
        delivery = Delivery(
            email=email,
            recipients=recipients,
            fcm=gl.fcm,
            devices=gl.devices,
            attempts=int(cfg["REPORTS_EMAIL_ATTEMPTS"]),
            backoff_s=float(cfg["REPORTS_EMAIL_BACKOFF_S"]),
            timeout_s=float(cfg["ALERTS_TIMEOUT_S"]),
        )
        lease = lease_for(cfg, "gridlight:reports:scheduler", cfg["REPORTS_LEASE_TTL_S"], gl.db)
        sources = Sources(
            households=gl.households,
            db=self.db,
            store=self.store,
            tariff_for=lambda: self.tariff_for,
            alerts=alerts_of,
        )
        return ReportScheduler(
            sources,
            lease,
            deliver=delivery,
            workers=int(cfg["REPORTS_WORKERS"]),
            context=str(cfg["REPORTS_POOL_CONTEXT"]),
            check_s=float(cfg["REPORTS_CHECK_S"]),
            catch_up=int(cfg["REPORTS_CATCH_UP_MONTHS"]),
            claim_ttl_s=float(cfg["REPORTS_CLAIM_TTL_S"]),
        )

    def start(self) -> None:
        if self.enabled:
            self.scheduler.start()

    def stop(self) -> None:
        """Stop the scheduler (its lease is released, its pool shut down)."""
        self.scheduler.stop()
