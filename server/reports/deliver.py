"""A stored report delivered: emailed with its PDF attached, announced by push.

* Email: through the alerts' SMTP channel (:class:`server.alerts.channels.EmailChannel`, the
  deployment's ``SMTP_*`` settings), one message per recipient: the household's alert email
  recipients (``channels.email.to`` of its alert settings) when email alerts are enabled there.
  An attempt that fails with a temporary error is retried ``attempts`` times with a doubling
  pause; a failure is logged, and the report stays stored and listed either way.
* Push: the deployment's FCM client (``services.fcm``) sends every registered device of the
  household a visible notification with seed 000's text, :data:`SEED_MESSAGE`; a token FCM
  reports dead is pruned, as the alerts' and the widget's senders do.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from generator.dataset import HouseholdInfo
from server.alerts.channels.base import DeliveryError, mask
from server.push.devices import token_ref
from server.push.fcm import Message, Outcome
from server.reports.months import SEED_MESSAGE, month_label
from server.reports.store import StoredReport

__all__ = ["Delivered", "Delivery", "SEED_MESSAGE", "report_email"]

log = logging.getLogger(__name__)


@dataclass
class Delivered:
    """What a delivery did: addresses (masked) emailed or failed, devices pushed."""

    emailed: list[str] = field(default_factory=list)
    email_failed: list[str] = field(default_factory=list)
    pushed: int = 0
    push_failed: int = 0


def _fmt(value: Any, unit: str, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f} {unit}"


def report_email(
    sender: str, to: str, info: HouseholdInfo, report: StoredReport, pdf: bytes, url: str
) -> EmailMessage:
    """The report's email to one recipient, the PDF attached."""
    label = month_label(report.month)
    s = report.summary
    msg = EmailMessage()
    msg["Subject"] = f"Your {label} energy report – {info.name}"
    msg["From"] = sender
    msg["To"] = to
    msg["Date"] = formatdate(report.created_s, usegmt=True)
    msg["Message-ID"] = make_msgid("gridlight-report")
    msg["X-Gridlight-Report"] = f"{info.id}/{report.month}"
    cost = None if s.get("cost") is None else f"{s.get('currency')} {s['cost']:,.2f}"
    lines = [
        SEED_MESSAGE,
        "",
        f"{info.name} ({info.id}), {label}:",
        f"  energy used: {_fmt(s.get('energy_kwh'), 'kWh')}",
        f"  cost: {cost or '–'}",
        f"  carbon: {_fmt(s.get('co2_kg'), 'kg CO2')}",
        f"  saved against the forecast: {_fmt(s.get('saved_kwh'), 'kWh')}",
        "",
        f"The report is attached, and kept at {url}",
    ]
    msg.set_content("\n".join(lines))
    msg.add_attachment(
        pdf,
        maintype="application",
        subtype="pdf",
        filename=f"gridlight-{info.id}-{report.month}.pdf",
    )
    return msg


class Delivery:
    """Emails and pushes stored reports (see the module doc)."""

    def __init__(
        self,
        *,
        email: Any | None,
        recipients: Callable[[HouseholdInfo], list[str]],
        fcm: Any | None,
        devices: Any | None,
        attempts: int = 3,
        backoff_s: float = 5.0,
        timeout_s: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.email = email
        self.recipients = recipients
        self.fcm = fcm
        self.devices = devices
        self.attempts = max(1, int(attempts))
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self.sleep = sleep

    def __call__(self, info: HouseholdInfo, report: StoredReport, pdf: bytes) -> Delivered:
        out = Delivered()
        url = f"/api/v1/households/{info.id}/reports/{report.month}.pdf"
        if self.email is not None:
            for to in self.recipients(info):
                msg = report_email(self.email.sender, to, info, report, pdf, url)
                (out.emailed if self._send_email(msg, to) else out.email_failed).append(mask(to))
        if self.fcm is not None and self.devices is not None:
            self._push(info, report, out)
        return out

    def _send_email(self, msg: EmailMessage, to: str) -> bool:
        pause = self.backoff_s
        for attempt in range(1, self.attempts + 1):
            try:
                self.email.deliver(msg, self.timeout_s)
                return True
            except DeliveryError as err:
                last = attempt == self.attempts or not err.retry
                log.warning(
                    "report email %s to %s: attempt %d/%d failed: %s%s",
                    msg["X-Gridlight-Report"],
                    mask(to),
                    attempt,
                    self.attempts,
                    err,
                    "" if last else f"; retrying in {pause:g} s",
                )
                if last:
                    return False
                self.sleep(pause)
                pause *= 2
        return False

    def _push(self, info: HouseholdInfo, report: StoredReport, out: Delivered) -> None:
        title = f"{month_label(report.month)} report: {info.name}"
        for token, platform in self.devices.devices(info.id):
            message = Message(
                token,
                platform,
                f"gridlight-{info.id}-report",
                False,
                data={"type": "report", "household": info.id, "month": report.month},
                title=title,
                body=SEED_MESSAGE,
                tag=f"gridlight-{info.id}-report",
            )
            result = self.fcm.send(message)
            if result.outcome is Outcome.SENT:
                out.pushed += 1
                continue
            out.push_failed += 1
            log.warning("report push to %s: %s", token_ref(token), result.outcome.value)
            if result.prune:
                self.devices.prune(token)
