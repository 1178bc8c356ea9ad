"""Email over SMTP with the standard library's :mod:`smtplib`.

``SMTP_HOST``/``SMTP_PORT`` name the relay; ``SMTP_STARTTLS`` upgrades the connection (with
``SMTP_CA_FILE`` as the trusted CA when set, else the system's); ``SMTP_SSL`` connects with TLS
from the start (port 465); ``SMTP_USERNAME`` with the password from ``SMTP_PASSWORD`` or the file
``SMTP_PASSWORD_FILE`` logs in. Each delivery is its own connection with ``timeout_s``.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from server.alerts.channels.base import DeliveryError, Notice, Target

__all__ = ["EmailChannel"]


class EmailChannel:
    name = "email"

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        use_ssl: bool = False,
        ca_file: str | None = None,
        max_attempts: int = 2,
    ) -> None:
        if username and password is None:
            raise ValueError("SMTP_USERNAME is set but no SMTP_PASSWORD or SMTP_PASSWORD_FILE")
        self.host, self.port, self.sender = host, int(port), sender
        self.username, self.password = username, password
        self.starttls, self.use_ssl, self.ca_file = starttls, use_ssl, ca_file
        self.max_attempts = max_attempts

    def message(self, notice: Notice, to: str) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = notice.title
        msg["From"] = self.sender
        msg["To"] = to
        msg["Date"] = formatdate(notice.ts_s, usegmt=True)
        msg["Message-ID"] = make_msgid("gridlight-alert")
        msg["X-Gridlight-Alert"] = f"{notice.household}/{notice.alert_id}/{notice.rule}"
        lines = [notice.message, "", f"Household: {notice.name} ({notice.household})"]
        lines += [f"{k}: {v}" for k, v in notice.values.items()]
        msg.set_content("\n".join(lines))
        return msg

    def send(self, notice: Notice, target: Target, timeout_s: float) -> None:
        self.deliver(self.message(notice, target.address), timeout_s)

    def deliver(self, msg: EmailMessage, timeout_s: float) -> None:
        """Send a prepared message (e.g. a monthly report with its PDF attached) through the
        relay; raise :class:`DeliveryError` as :meth:`send` does."""
        context = ssl.create_default_context(cafile=self.ca_file)
        try:
            if self.use_ssl:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=timeout_s, context=context
                )
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=timeout_s)
            with smtp:
                smtp.ehlo()
                if self.starttls and not self.use_ssl:
                    smtp.starttls(context=context)
                    smtp.ehlo()
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(msg)
        except smtplib.SMTPAuthenticationError as err:
            raise DeliveryError(f"SMTP login refused: {err.smtp_code}") from err
        except smtplib.SMTPRecipientsRefused as err:
            raise DeliveryError(f"SMTP refused the recipient: {err.recipients}") from err
        except smtplib.SMTPResponseException as err:
            retry = 400 <= err.smtp_code < 500
            detail = err.smtp_error.decode(errors="replace")[:120]
            raise DeliveryError(f"SMTP {err.smtp_code}: {detail}", retry=retry) from err
        except (smtplib.SMTPException, OSError) as err:
            raise DeliveryError(f"SMTP: {type(err).__name__}: {err}"[:200], retry=True) from err
