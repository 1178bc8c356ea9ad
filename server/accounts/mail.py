"""The accounts' emails (verification, password reset), sent through the same SMTP settings and
channel as alert emails (:class:`server.alerts.channels.EmailChannel`: ``SMTP_HOST``,
``SMTP_PORT``, ``SMTP_STARTTLS``, ``SMTP_USERNAME``/``SMTP_PASSWORD``...).

Without ``SMTP_HOST`` nothing is sent and a warning names the link's purpose (never the token).
A delivery that fails is logged; the request that asked for it still succeeds (sign-up says
whether the email went out).
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from urllib.parse import urlencode

__all__ = ["Mailer"]

log = logging.getLogger(__name__)


class Mailer:
    def __init__(self, cfg: Any) -> None:
        from server.alerts.channels import EmailChannel
        from server.config import secret

        self.channel = None
        self.timeout_s = float(cfg["ALERTS_TIMEOUT_S"])
        self.sender = cfg["ACCOUNTS_MAIL_FROM"] or cfg["SMTP_FROM"]
        self.base_url = cfg["ACCOUNTS_BASE_URL"]
        if cfg["SMTP_HOST"]:
            self.channel = EmailChannel(
                cfg["SMTP_HOST"],
                int(cfg["SMTP_PORT"]),
                self.sender,
                username=cfg["SMTP_USERNAME"],
                password=secret(cfg, "SMTP_PASSWORD"),
                starttls=bool(cfg["SMTP_STARTTLS"]),
                use_ssl=bool(cfg["SMTP_SSL"]),
                ca_file=cfg["SMTP_CA_FILE"],
            )

    def link(self, origin: str, path: str, token: str) -> str:
        base = (self.base_url or origin).rstrip("/")
        return f"{base}{path}?{urlencode({'token': token})}"

    def send(self, to: str, subject: str, lines: list[str], kind: str) -> bool:
        """Send a plain-text email; True when the relay took it."""
        from server.alerts.channels.base import DeliveryError

        if self.channel is None:
            log.warning("no SMTP_HOST: the %s email was not sent", kind)
            return False
        try:
            msg = EmailMessage()
            msg["Subject"] = subject
            msg["From"] = self.sender
            msg["To"] = to
            msg["Date"] = formatdate(usegmt=True)
            msg["Message-ID"] = make_msgid("gridlight-account")
            msg["X-Gridlight-Account"] = kind
            msg.set_content("\n".join(lines))
            self.channel.deliver(msg, self.timeout_s)
        except (DeliveryError, ValueError) as err:  # ValueError: an address email cannot carry
            log.warning("the %s email was not sent: %s", kind, err)
            return False
        return True
