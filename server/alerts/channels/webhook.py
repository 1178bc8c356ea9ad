"""Webhooks: a JSON POST signed with HMAC-SHA256, retried with bounded backoff.

Headers: ``X-Gridlight-Signature: sha256=<hex>``, the HMAC-SHA256 of the raw body with the
household's webhook secret; ``X-Gridlight-Timestamp`` (epoch seconds, also in the body as
``sent_at`` so it is signed); ``X-Gridlight-Delivery`` (the alert id and attempt). A receiver
recomputes the HMAC over the bytes it got, compares in constant time and rejects old
timestamps. 2xx is delivered; 408, 429, 5xx and connection errors are retried (``max_attempts``
in all, backoff doubling from the dispatcher's base); other answers are not.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import requests

from server.alerts.channels.base import DeliveryError, Notice, Target

__all__ = ["WebhookChannel", "sign"]


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookChannel:
    name = "webhook"

    def __init__(self, *, max_attempts: int = 4, clock=time.time) -> None:  # noqa: ANN001
        self.max_attempts = max_attempts
        self.clock = clock
        self.session = requests.Session()

    def send(self, notice: Notice, target: Target, timeout_s: float) -> None:
        now = int(self.clock())
        payload = {"type": "gridlight.alert", "sent_at": now, "alert": notice.to_json()}
        body = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Gridlight-Webhook/1",
            "X-Gridlight-Timestamp": str(now),
            "X-Gridlight-Signature": sign(target.extra, body),
            "X-Gridlight-Delivery": str(notice.alert_id),
        }
        try:
            response = self.session.post(
                target.address, data=body, headers=headers, timeout=timeout_s, allow_redirects=False
            )
        except requests.RequestException as err:
            raise DeliveryError(f"webhook: {type(err).__name__}: {err}"[:200], retry=True) from err
        if 200 <= response.status_code < 300:
            return
        retry = response.status_code in (408, 429) or response.status_code >= 500
        raise DeliveryError(f"webhook HTTP {response.status_code}", retry=retry)

    def close(self) -> None:
        self.session.close()
