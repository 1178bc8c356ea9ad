"""SMS through Twilio's Messages REST API.

``POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`` with the form fields ``To``,
``From`` and ``Body`` and HTTP basic auth (Account SID, auth token). Twilio answers 201 with the
message resource (``sid``, ``status``); errors carry ``{"code", "message", "status"}``. The base
URL (``TWILIO_BASE_URL``, default ``https://api.twilio.com``) points tests at a local server; the
token comes from ``TWILIO_AUTH_TOKEN`` or the file ``TWILIO_AUTH_TOKEN_FILE``. 429 and 5xx are
retried; other 4xx are not (a bad number stays bad).
"""

from __future__ import annotations

import requests

from server.alerts.channels.base import DeliveryError, Notice, Target

__all__ = ["SmsChannel"]

MAX_BODY = 320


class SmsChannel:
    name = "sms"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        *,
        base_url: str = "https://api.twilio.com",
        max_attempts: int = 2,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"TWILIO_BASE_URL must be http(s)://..., got {base_url!r}")
        self.url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.auth = (account_sid, auth_token)
        self.from_number = from_number
        self.max_attempts = max_attempts
        self.session = requests.Session()

    def send(self, notice: Notice, target: Target, timeout_s: float) -> None:
        body = f"Gridlight ({notice.name}): {notice.message}"[:MAX_BODY]
        form = {"To": target.address, "From": self.from_number, "Body": body}
        try:
            response = self.session.post(self.url, data=form, auth=self.auth, timeout=timeout_s)
        except requests.RequestException as err:
            raise DeliveryError(f"Twilio: {type(err).__name__}: {err}"[:200], retry=True) from err
        if response.status_code in (200, 201):
            return
        try:
            info = response.json()
            detail = f"{info.get('code')}: {info.get('message')}"
        except ValueError:
            detail = response.text[:120]
        retry = response.status_code == 429 or response.status_code >= 500
        raise DeliveryError(f"Twilio HTTP {response.status_code} {detail}"[:200], retry=retry)

    def close(self) -> None:
        self.session.close()
