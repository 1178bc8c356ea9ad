"""FCM HTTP v1 through pyfcm: message building and what each answer means for a token.

pyfcm 2.1.1 builds the request (``parse_payload``), gets an OAuth access token from the
service-account JSON with google-auth (its ``token_uri`` is honoured, so a local OAuth endpoint
works in tests) and posts to ``{base}/v1/projects/{project}/messages:send``. Two of its habits
are capped here:

* it keeps one ``requests`` session and access token **per thread** (per greenlet under gevent),
  so every new greenlet would fetch a fresh OAuth token: one sender thread uses one client;
* its default adapter retries 502/503 with exponential backoff for minutes, and its
  ``send_request`` sleeps for any ``Retry-After`` and calls itself again, without limit. We pass
  an ``adapter`` with a small :class:`urllib3.Retry` (``retries`` tries, ``backoff_s`` apart,
  ``Retry-After`` not honoured) and override ``send_request`` to post once, plus once more after
  an expired access token. A failed push is counted and superseded by the next state.

Answers: 200 is sent; 404 (``UNREGISTERED``) and 400 ``INVALID_ARGUMENT`` about the token mean
the token is dead and is pruned; everything else (401/403: our credentials or project; 429/5xx;
network and OAuth errors) is a failure that leaves the token alone.
"""

from __future__ import annotations

import enum
import json
import logging
import os
import threading
from dataclasses import dataclass
from typing import Any

import requests
from pyfcm import FCMNotification
from pyfcm.errors import FCMError
from requests.adapters import HTTPAdapter
from urllib3 import Retry

from server.push.devices import token_ref

__all__ = ["FcmClient", "FcmConfigError", "Message", "Outcome", "Result", "alert", "state_push"]

log = logging.getLogger(__name__)
TTL_S = 3600
ALERT_CHANNEL = "gridlight_alerts"


class FcmConfigError(ValueError):
    """The FCM credentials or endpoint cannot be used (the message says why)."""


class Outcome(enum.Enum):
    SENT = "sent"
    UNREGISTERED = "unregistered"  # 404 / UNREGISTERED: the app was uninstalled, token gone
    INVALID_TOKEN = "invalid_token"  # 400 INVALID_ARGUMENT about message.token
    FAILED = "failed"  # anything else; the token is kept


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    detail: str = ""

    @property
    def prune(self) -> bool:
        return self.outcome in (Outcome.UNREGISTERED, Outcome.INVALID_TOKEN)


@dataclass(frozen=True)
class Message:
    """One FCM message to one device: data-only (``data``) or a visible notification."""

    token: str
    platform: str
    collapse_key: str
    high_priority: bool
    data: dict[str, str] | None = None
    title: str | None = None
    body: str | None = None
    tag: str | None = None


def state_push(
    token: str, platform: str, household: str, seq: str, state_json: str, *, high: bool
) -> Message:
    """The widget state as a data-only message (string values only; see the data contract)."""
    data = {"type": "widget_state", "household": household, "seq": seq, "state": state_json}
    return Message(token, platform, f"gridlight-{household}", high, data=data)


def alert(token: str, platform: str, household: str, title: str, body: str) -> Message:
    """A visible red/critical notification, separate from the data-only state message."""
    return Message(
        token,
        platform,
        f"gridlight-{household}-alert",
        True,
        title=title,
        body=body,
        tag=f"gridlight-{household}",
    )


def _platform_config(message: Message) -> dict[str, Any]:
    ttl = f"{TTL_S}s"
    if message.platform == "ios":
        headers = {"apns-collapse-id": message.collapse_key[:64]}
        if message.data is not None and message.title is None:
            # iOS delivers a data-only message as a background push, which must be priority 5.
            headers.update({"apns-push-type": "background", "apns-priority": "5"})
            return {
                "apns_config": {"headers": headers, "payload": {"aps": {"content-available": 1}}}
            }
        headers.update({"apns-push-type": "alert", "apns-priority": "10"})
        return {"apns_config": {"headers": headers}}
    if message.platform == "web":
        urgency = "high" if message.high_priority else "normal"
        return {"webpush_config": {"headers": {"Urgency": urgency, "TTL": str(TTL_S)}}}
    android: dict[str, Any] = {
        "priority": "high" if message.high_priority else "normal",
        "collapse_key": message.collapse_key,
        "ttl": ttl,
    }
    if message.title is not None:
        notification = {"channel_id": ALERT_CHANNEL}
        if message.tag:
            notification["tag"] = message.tag
        android["notification"] = notification
    return {"android_config": android}


def _error_of(response: requests.Response) -> tuple[str, str, str, list[str]]:
    """``(status, errorCode, message, violated fields)`` of an FCM v1 error body."""
    try:
        error = response.json().get("error", {})
    except (ValueError, AttributeError):
        return "", "", response.text[:200], []
    if not isinstance(error, dict):
        return "", "", str(error)[:200], []
    code, fields = "", []
    for detail in error.get("details") or []:
        if not isinstance(detail, dict):
            continue
        code = detail.get("errorCode", code)
        for violation in detail.get("fieldViolations") or []:
            if isinstance(violation, dict) and violation.get("field"):
                fields.append(str(violation["field"]))
    return str(error.get("status", "")), str(code), str(error.get("message", ""))[:200], fields


def classify_response(response: requests.Response) -> Result:
    status = response.status_code
    if status == 200:
        try:
            return Result(Outcome.SENT, str(response.json().get("name", "")))
        except (ValueError, AttributeError):
            return Result(Outcome.FAILED, "HTTP 200 without a JSON body")
    err_status, code, text, fields = _error_of(response)
    detail = f"HTTP {status} {code or err_status}: {text}".strip()
    if status == 404 or code == "UNREGISTERED":
        return Result(Outcome.UNREGISTERED, detail)
    about_token = "message.token" in fields or "registration token" in text.lower()
    if status == 400 and "INVALID_ARGUMENT" in (code, err_status) and about_token:
        return Result(Outcome.INVALID_TOKEN, detail)
    return Result(Outcome.FAILED, detail)


class _Pyfcm(FCMNotification):
    def __init__(self, base_url: str | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if base_url:
            self.FCM_END_POINT_BASE = base_url.rstrip("/") + "/v1/projects"

    def send_request(self, payload=None, timeout=None):  # noqa: ANN001, ANN201 - pyfcm's signature
        """pyfcm's, without its unbounded sleep-and-retry on ``Retry-After``."""
        response = self.requests_session.post(self.fcm_end_point, data=payload, timeout=timeout)
        if self._is_access_token_expired(response):
            self.thread_local.token_expiry = 0
            response = self.requests_session.post(self.fcm_end_point, data=payload, timeout=timeout)
        return response


class FcmClient:
    """Sends :class:`Message` values with pyfcm. Meant for one sender thread (see the module
    doc); sends from other threads (the alerts' push channel shares this client) are serialised
    by a lock, each thread keeping its own pyfcm session and access token."""

    def __init__(
        self,
        credentials_file: str | os.PathLike[str],
        base_url: str | None = None,
        *,
        timeout_s: float = 10.0,
        retries: int = 2,
        backoff_s: float = 0.5,
    ) -> None:
        path = os.fspath(credentials_file)
        try:
            with open(path, encoding="utf-8") as fh:
                info = json.load(fh)
        except OSError as err:
            raise FcmConfigError(
                f"cannot read the FCM service-account file {path!r}: {err}"
            ) from err
        except ValueError as err:
            raise FcmConfigError(
                f"the FCM service-account file {path!r} is not JSON: {err}"
            ) from err
        missing = [
            k for k in ("project_id", "client_email", "private_key", "token_uri") if k not in info
        ]
        if missing:
            raise FcmConfigError(
                f"the FCM service-account file {path!r} lacks {', '.join(missing)}"
            )
        if base_url is not None and not base_url.startswith(("http://", "https://")):
            raise FcmConfigError(f"the FCM base URL must be http(s)://..., got {base_url!r}")
        self.project_id = str(info["project_id"])
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        retry = Retry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            backoff_factor=backoff_s,
            backoff_max=max(backoff_s * 4, 0.0),
            status_forcelist=(500, 502, 503, 504),
            allowed_methods=frozenset(["POST"]),
            respect_retry_after_header=False,
            raise_on_status=False,
        )
        self._fcm = _Pyfcm(
            base_url, service_account_file=path, adapter=HTTPAdapter(max_retries=retry)
        )

    @property
    def endpoint(self) -> str:
        return self._fcm.fcm_end_point

    def send(self, message: Message) -> Result:
        with self._lock:
            result = self._send(message)
        if result.outcome is not Outcome.SENT:
            log.info(
                "push to %s: %s (%s)", token_ref(message.token), result.outcome.value, result.detail
            )
        return result

    def _send(self, message: Message) -> Result:
        try:
            payload = self._fcm.parse_payload(
                fcm_token=message.token,
                notification_title=message.title,
                notification_body=message.body,
                data_payload=message.data,
                **_platform_config(message),
            )
            response = self._fcm.send_request(payload, self.timeout_s)
        except (FCMError, requests.RequestException, OSError, ValueError) as err:
            # OAuth failures arrive as pyfcm's InvalidDataError wrapping google-auth's error.
            return Result(Outcome.FAILED, f"{type(err).__name__}: {err}"[:300])
        return classify_response(response)
