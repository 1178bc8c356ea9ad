"""Browser sessions: Flask-Login over Flask's signed cookie session, a CSRF token per session,
and the hook through which :mod:`server.auth` sees signed-in users (:class:`SessionHook`).

* The cookie (``SESSION_COOKIE_NAME``) is HttpOnly and SameSite=Lax, and Secure when
  ``SESSION_COOKIE_SECURE`` is set or the request came over TLS (directly, or as the proxy's
  ``X-Forwarded-Proto: https`` says): :class:`TlsAwareSessions`.
* Signing in stores Flask-Login's user id, ``<id>:<fingerprint of the password hash>`` (a new
  password signs out every session), and a fresh random ``csrf`` token, which ``GET
  /api/v1/session`` hands to the page.
* Every write authenticated by the cookie (POST, PUT, PATCH, DELETE with no ``Authorization``
  header) must send ``X-CSRF-Token`` equal to it, else 403 ``csrf_failed``
  (:func:`require_csrf`). Requests with a bearer key never look at the cookie.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from flask import Flask, current_app, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, UserMixin, current_user

from server.accounts.errors import CsrfFailed
from server.accounts.users import User

__all__ = [
    "CSRF_HEADER",
    "SessionHook",
    "SessionUser",
    "TlsAwareSessions",
    "csrf_token",
    "init_login",
    "require_csrf",
    "signed_in",
]

CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class TlsAwareSessions(SecureCookieSessionInterface):
    """Flask's signed cookie session, Secure whenever the request came over TLS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        if app.config["SESSION_COOKIE_SECURE"]:
            return True
        forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
        return request.is_secure or forwarded == "https"


class SessionUser(UserMixin):
    """Flask-Login's view of a :class:`User`."""

    def __init__(self, user: User, session_id: str) -> None:
        self.user = user
        self._session_id = session_id

    def get_id(self) -> str:
        return self._session_id


def init_login(app: Flask) -> LoginManager:
    manager = LoginManager()
    manager.session_protection = "basic"
    manager.init_app(app)

    @manager.user_loader
    def load(session_id: str) -> SessionUser | None:
        accounts = current_app.extensions["accounts"]
        user_id, _, _ = session_id.partition(":")
        if not user_id.isdigit():
            return None
        user = accounts.users.get(int(user_id))
        if user is None:
            return None
        expected = accounts.tokens.session_id(user.id, user.password_hash)
        if not hmac.compare_digest(expected, session_id):
            return None  # the password changed since this session signed in
        return SessionUser(user, expected)

    return manager


def _has_cookie() -> bool:
    return current_app.config["SESSION_COOKIE_NAME"] in request.cookies


def signed_in() -> User | None:
    """The user the request's session cookie signs in, or ``None`` (without loading anything
    for a request that has no session cookie)."""
    if not _has_cookie():
        return None
    who: Any = current_user
    if not who.is_authenticated:
        return None
    return who.user


def csrf_token() -> str:
    """The session's CSRF token (made when missing)."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return str(token)


def require_csrf() -> None:
    """403 ``csrf_failed`` unless a write sends the session's token in ``X-CSRF-Token``."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER, "")
    token = session.get("csrf")
    if not token or not sent or not hmac.compare_digest(str(token), sent):
        raise CsrfFailed(
            f"a write signed in by the session cookie must send the session's CSRF token in "
            f"{CSRF_HEADER} (GET /api/v1/session returns it)"
        )


class SessionHook:
    """:class:`server.auth.SessionAccess` for the accounts package."""

    def __init__(self, memberships: Any) -> None:
        self.memberships = memberships

    def actor(self) -> str | None:
        user = signed_in()
        if user is None:
            return None
        require_csrf()
        return f"user:{user.id}"

    def role(self, actor: str, household: str) -> str | None:
        kind, _, user_id = actor.partition(":")
        if kind != "user" or not user_id.isdigit():
            return None
        return self.memberships.role(household, int(user_id))
