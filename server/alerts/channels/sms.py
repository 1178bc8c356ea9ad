"""SMS through Twilio's Messages API, with the official ``twilio`` client.

The client sends ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` (form fields ``To``,
``From``, ``Body``; HTTP basic auth with the Account SID and auth token) and turns an error answer
(``{"code", "message", "status"}``) into :class:`~twilio.base.exceptions.TwilioRestException`.
Its domains are fixed (``https://api.twilio.com``), so a non-default base URL (``TWILIO_BASE_URL``:
the tests' local stand-in, or a self-hosted gateway) is reached through the client's documented
extension point, a custom HTTP client (:class:`_Gateway`), which moves each request to that
origin and keeps its path. The token comes from ``TWILIO_AUTH_TOKEN`` or the file
``TWILIO_AUTH_TOKEN_FILE`` and never reaches the log (the client logs no ``Authorization``
header, and the errors raised here carry neither it nor the request body). 429, 5xx and network
errors are retryable; other 4xx are not (a bad number stays bad). The dispatcher does the
retrying: the client itself never retries.
"""

from __future__ import annotations

import threading
from urllib.parse import urlsplit, urlunsplit

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from server.alerts.channels.base import DeliveryError, Notice, Target

__all__ = ["SmsChannel"]

MAX_BODY = 320
TWILIO_API = "https://api.twilio.com"
DEFAULT_TIMEOUT_S = 10.0  # only when a request comes without one


class _Gateway(TwilioHttpClient):
    """Twilio's own HTTP client, sending to ``base_url`` and bounded by the caller's timeout.

    ``messages.create`` passes no timeout down, so :meth:`SmsChannel.send` leaves the one it was
    given here, per thread (deliveries run side by side on the dispatcher's pool).
    """

    def __init__(self, base_url: str) -> None:
        super().__init__(pool_connections=True, max_retries=0)
        parts = urlsplit(base_url.rstrip("/"))
        self.origin = (parts.scheme, parts.netloc, parts.path)
        self.rewrite = base_url.rstrip("/") != TWILIO_API
        self.local = threading.local()

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        if self.rewrite:
            scheme, netloc, prefix = self.origin
            parts = urlsplit(url)
            url = urlunsplit((scheme, netloc, prefix + parts.path, parts.query, parts.fragment))
        return super().request(
            method,
            url,
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout or getattr(self.local, "timeout_s", None) or DEFAULT_TIMEOUT_S,
            allow_redirects=allow_redirects,
        )


class SmsChannel:
    name = "sms"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        *,
        base_url: str = TWILIO_API,
        max_attempts: int = 2,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"TWILIO_BASE_URL must be http(s)://..., got {base_url!r}")
        self.gateway = _Gateway(base_url)
        self.client = Client(account_sid, auth_token, http_client=self.gateway)
        self.from_number = from_number
        self.max_attempts = max_attempts

    def send(self, notice: Notice, target: Target, timeout_s: float) -> None:
        body = f"Gridlight ({notice.name}): {notice.message}"[:MAX_BODY]
        self.gateway.local.timeout_s = timeout_s
        try:
            self.client.messages.create(to=target.address, from_=self.from_number, body=body)
        except TwilioRestException as err:
            message = str(err.msg).removeprefix("Unable to create record: ")
            raise _refused(err.status, err.code, message) from err
        except TwilioServiceException as err:  # an RFC 9457 problem document
            raise _refused(err.status, err.code, err.detail or err.title) from err
        except requests.RequestException as err:
            raise DeliveryError(f"Twilio: {type(err).__name__}: {err}"[:200], retry=True) from err
        except (TwilioException, ValueError) as err:  # e.g. a 201 whose body is not JSON
            raise DeliveryError(f"Twilio: {type(err).__name__}: {err}"[:200]) from err

    def close(self) -> None:
        if self.gateway.session is not None:
            self.gateway.session.close()


def _refused(status: int, code: int | None, message: str) -> DeliveryError:
    """``Twilio HTTP 401 20003: Authenticate``; 429 and 5xx may succeed later."""
    detail = f"{code}: {message}" if code is not None and code != status else message
    retry = status == 429 or status >= 500
    return DeliveryError(f"Twilio HTTP {status} {detail}"[:200], retry=retry)
