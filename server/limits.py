"""Rate limits on the checks an attacker would repeat: sign-in, password reset, the OAuth token
endpoint, and failed household-key or bearer-token checks (issue #15).

Flask-Limiter counts per client address (``RATELIMIT_TRUSTED_PROXIES`` says how many proxies'
``X-Forwarded-For`` to trust) in Redis when ``REDIS_URL`` is set (shared by every worker and
host), else in the worker's memory; the limits are settings (``RATELIMIT_*`` in
:mod:`server.config`). A client over a limit gets 429 ``rate_limited`` with ``Retry-After``
[s]. If Redis cannot be reached the counts fall back to memory rather than refuse service.

* Routes are limited by name: :meth:`Limits.limit_view` wraps a registered view (the accounts
  package limits its sign-in and reset routes, and the token endpoint).
* Credentials are limited by their failures only (:meth:`Limits.before_credential_check`,
  :meth:`Limits.credential_failed`, used by :mod:`server.auth`), counted per client address and
  household: meters and streams sending good keys are never slowed, a client guessing a
  household's keys is stopped there (even with a right guess, until the window ends).
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from flask import Flask, Response, current_app, jsonify, request
from flask_limiter import Limiter, RateLimitExceeded
from limits import parse_many

from server.errors import GridlightError, error_body

__all__ = ["LIMITS", "Limits", "RateLimited", "client_address", "init_app"]

log = logging.getLogger(__name__)

#: ``app.extensions`` name of the app's :class:`Limits`.
LIMITS = "gridlight_limits"
#: The namespace of failed credential checks in the counters' storage.
FAILURES = "gridlight-credential-failures"


class RateLimited(GridlightError):
    """Too many attempts from this client (429, with ``Retry-After``)."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = max(1, int(retry_after_s))


def client_address() -> str:
    """The client's address: the connection's, or the one the trusted proxies name."""
    trusted = int(current_app.config["RATELIMIT_TRUSTED_PROXIES"])
    if trusted > 0:
        hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",")]
        hops = [h for h in hops if h]
        if len(hops) >= trusted:
            return hops[-trusted]
    return request.remote_addr or "unknown"


def _storage_uri(cfg: Any) -> str:
    uri = cfg.get("RATELIMIT_STORAGE_URI") or cfg.get("REDIS_URL") or "memory://"
    if uri.startswith("unix://"):
        uri = "redis+unix://" + uri[len("unix://") :]
    return str(uri)


class Limits:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.enabled = bool(app.config["RATELIMIT_ENABLED"])
        self.limiter = Limiter(
            client_address,
            storage_uri=_storage_uri(app.config),
            headers_enabled=True,
            retry_after="delta-seconds",
            key_prefix="gridlight",
            strategy="fixed-window",
            in_memory_fallback_enabled=True,
            swallow_errors=True,
            enabled=self.enabled,
        )
        self.limiter.init_app(app)
        app.extensions[LIMITS] = self

    def limit_view(self, endpoint: str, setting: str) -> None:
        """Limit the registered view ``endpoint`` by the setting named ``setting``."""
        app = self.app
        view = app.view_functions[endpoint]
        limited = self.limiter.limit(
            lambda: str(app.config[setting]),
            error_message=f"too many requests to this route from your address ({setting})",
        )(view)
        app.view_functions[endpoint] = limited

    # -- failed credentials ---------------------------------------------------------------------
    def _failure_limits(self) -> list[Any]:
        return list(parse_many(str(self.app.config["RATELIMIT_KEY_FAILURES"])))

    def before_credential_check(self, target: str = "") -> None:
        """429 if this client failed too many credential checks of ``target`` (a household, or
        ``""`` for tokens not tied to one) lately."""
        if not self.enabled:
            return
        who = f"{client_address()}|{target}"
        try:
            for item in self._failure_limits():
                if not self.limiter.limiter.test(item, FAILURES, who):
                    reset_s = self.limiter.limiter.get_window_stats(item, FAILURES, who).reset_time
                    raise RateLimited(
                        "too many failed key or token checks from your address"
                        + (f" for household {target!r}" if target else "")
                        + f" ({item}): retry later with a valid credential",
                        math.ceil(reset_s - time.time()),
                    )
        except RateLimited:
            raise
        except Exception:  # the storage is down: do not refuse service for it
            log.exception("rate limits: cannot read the failed-credential counts")

    def credential_failed(self, target: str = "") -> None:
        if not self.enabled:
            return
        who = f"{client_address()}|{target}"
        try:
            for item in self._failure_limits():
                self.limiter.limiter.hit(item, FAILURES, who)
        except Exception:
            log.exception("rate limits: cannot count a failed credential check")


def _handle_route_limit(err: RateLimitExceeded) -> tuple[Response, int]:
    limits: Limits = current_app.extensions[LIMITS]
    current = limits.limiter.current_limit
    retry_s = 60 if current is None else max(1, math.ceil(current.reset_at - time.time()))
    response = jsonify(error_body("rate_limited", err.description or "too many requests"))
    response.headers["Retry-After"] = str(retry_s)
    return response, 429


def _handle_rate_limited(err: RateLimited) -> tuple[Response, int]:
    response = jsonify(error_body(err.code, err.message))
    response.headers["Retry-After"] = str(err.retry_after_s)
    return response, err.status


def init_app(app: Flask) -> Limits:
    limits = Limits(app)
    app.register_error_handler(RateLimitExceeded, _handle_route_limit)
    app.register_error_handler(RateLimited, _handle_rate_limited)
    return limits


def limits_of(app: Flask) -> Limits | None:
    return app.extensions.get(LIMITS)
