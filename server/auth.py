"""Who may read a household's data and register its devices.

* Reading a household (:func:`require_read`: its statistics, live and replayed streams, the
  seed's stream set-up, the widget and the ``/widget/{h}`` page's data, stored readings and
  alerts): open for the demo households in demo mode (``DEMO`` and the household in
  ``DEMO_HOUSEHOLDS``); any other household needs its API key (a home's power readings show
  when it is occupied). The household list and a household's description stay open.
* Registering or removing a push token (``POST``/``DELETE …/devices``) is a write: it always needs
  the household's API key, demo households included (an open registration would let anyone make
  the server push to arbitrary tokens). Keys are issued by ``python -m server households add H``
  and ``python -m server keys create H``; a demo household gets one after
  ``python -m server households add A --channels AC,Geyser,Overall`` registers its id.

Keys travel as ``Authorization: Bearer <key>`` and are checked by
:class:`server.storage.KeyStore` (hashed, constant-time).

People signed in with a session cookie pass the same two checks through their role on the
household (``owner``, ``member``, ``viewer``). This module knows nothing of users: the accounts
package (:mod:`server.accounts`) fills the hook ``app.extensions["gridlight_sessions"]`` with a
:class:`SessionAccess`, asked only when a request carries no ``Authorization`` header:

* a read passes for any role (:data:`READ_ROLES`), a write for ``owner`` and ``member``
  (:data:`WRITE_ROLES`); a signed-in user without that role gets 403 ``forbidden``;
* meter ingest stays key-only (``require_key(h, meter=True)``);
* no session (or no hook) is what it was before: 401 with ``WWW-Authenticate``.

The hook checks the CSRF token of cookie-authenticated writes itself (403 ``csrf_failed``).
The value a check returns names who passed, for audit and capabilities: a key's id, or
``user:<id>`` for a signed-in user.

OAuth 2.0 access tokens (``Authorization: Bearer glat_…``, issued by the accounts' authorization
server) act as their user, through a second hook, ``app.extensions["gridlight_tokens"]``
(:class:`TokenAccess`): the token must be live (else 401 ``invalid_token``) and carry the scope
the route needs (else 403 ``insufficient_scope``, both with an RFC 6750 ``WWW-Authenticate``),
and the user's role on the household still applies. Scopes: reads need ``read``, writes
``write``, device commands, schedules and automations ``control`` (the control package asks
for it), member and role administration ``admin`` (the accounts' routes). A meter's readings
stay key-only. Failed key and token checks are rate limited per client address
(:mod:`server.limits`: 429 ``rate_limited`` with ``Retry-After``).
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

from flask import Flask, Response, current_app, jsonify, request

from server.errors import Forbidden, GridlightError, error_body
from server.limits import LIMITS
from server.storage import KeyStore
from server.storage.keys import key_id

__all__ = [
    "READ_ROLES",
    "SCOPES",
    "SESSIONS",
    "TOKENS",
    "WRITE_ROLES",
    "BearerPrincipal",
    "InsufficientScope",
    "InvalidAccessToken",
    "SessionAccess",
    "TokenAccess",
    "Unauthorized",
    "bearer_key",
    "init_app",
    "is_open_demo",
    "oauth_actor",
    "require_key",
    "require_read",
    "require_still_readable",
]


class Unauthorized(GridlightError):
    """No API key, or not a live key of this household (401, with ``WWW-Authenticate``)."""

    status = 401
    code = "unauthorized"

    def www_authenticate(self) -> str:
        return 'Bearer realm="gridlight"'


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', "'") + '"'


class InvalidAccessToken(Unauthorized):
    """An OAuth access token that is unknown, expired or revoked (401, RFC 6750 §3.1)."""

    code = "invalid_token"

    def www_authenticate(self) -> str:
        return 'Bearer realm="gridlight", error="invalid_token", error_description=' + _quoted(
            self.message
        )


class InsufficientScope(Forbidden):
    """A live OAuth access token without the scope the route needs (403, RFC 6750 §3.1)."""

    code = "insufficient_scope"

    def __init__(self, message: str, scope: str) -> None:
        super().__init__(message)
        self.scope = scope

    def www_authenticate(self) -> str:
        return (
            'Bearer realm="gridlight", error="insufficient_scope", error_description='
            + _quoted(self.message)
            + f', scope="{self.scope}"'
        )


#: ``app.extensions`` name of the :class:`SessionAccess` hook (filled by the accounts package).
SESSIONS = "gridlight_sessions"
#: ``app.extensions`` name of the :class:`TokenAccess` hook (filled by the accounts' OAuth server).
TOKENS = "gridlight_tokens"
#: OAuth scopes: what a token may do on its user's behalf (the user's role still applies).
SCOPES = ("read", "write", "control", "admin")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Roles that may read a household, and those that may change it.
READ_ROLES = frozenset({"owner", "member", "viewer"})
WRITE_ROLES = frozenset({"owner", "member"})


class SessionAccess(Protocol):
    """Who the request's session cookie signs in, and their role on a household."""

    def actor(self) -> str | None:
        """``user:<id>`` of the signed-in user, ``None`` when nobody is; on a write (POST, PUT,
        PATCH, DELETE) raise 403 ``csrf_failed`` unless ``X-CSRF-Token`` matches the session's."""
        ...

    def role(self, actor: str, household: str) -> str | None:
        """The role of ``actor`` on ``household`` (``owner``, ``member``, ``viewer``), or ``None``."""
        ...


class BearerPrincipal(NamedTuple):
    """Who a live OAuth access token acts for (``user:<id>``) and its scopes."""

    actor: str
    scopes: frozenset[str]


class TokenAccess(Protocol):
    """OAuth access tokens: which credentials are tokens, whom a live one acts for."""

    def recognises(self, credential: str) -> bool:
        """Whether ``credential`` has the shape of an access token (not a household key)."""
        ...

    def principal(self, credential: str) -> BearerPrincipal | None:
        """The live token's user and scopes; ``None`` when unknown, expired or revoked."""
        ...

    def role(self, actor: str, household: str) -> str | None:
        """The role of ``actor`` on ``household``, or ``None``."""
        ...


def _limits_before(household: str = "") -> None:
    limits = current_app.extensions.get(LIMITS)
    if limits is not None:
        limits.before_credential_check(household)


def _limits_failed(household: str = "") -> None:
    limits = current_app.extensions.get(LIMITS)
    if limits is not None:
        limits.credential_failed(household)


def _tokens_for(credential: str | None) -> TokenAccess | None:
    """The token hook when ``credential`` is an OAuth access token, else ``None``."""
    if credential is None:
        return None
    tokens: TokenAccess | None = current_app.extensions.get(TOKENS)
    if tokens is None or not tokens.recognises(credential):
        return None
    return tokens


def oauth_actor(scope: str) -> str | None:
    """``user:<id>`` of the request's OAuth access token if it is live and has ``scope``;
    ``None`` when the request carries no access token (a key, a session, or nothing).
    :class:`InvalidAccessToken` (401) for a dead token, :class:`InsufficientScope` (403)."""
    credential = bearer_key()
    tokens = _tokens_for(credential)
    if tokens is None or credential is None:
        return None
    _limits_before()
    principal = tokens.principal(credential)
    if principal is None:
        _limits_failed()
        raise InvalidAccessToken(
            "the access token is unknown, expired or revoked: refresh it (POST /oauth/token) "
            "or authorize again"
        )
    if scope not in principal.scopes:
        raise InsufficientScope(
            f"this access token's scope ({' '.join(sorted(principal.scopes)) or 'none'}) does "
            f"not include {scope!r}, which this request needs: authorize with scope={scope}",
            scope,
        )
    return principal.actor


def _role_passes(
    hook: SessionAccess | TokenAccess,
    actor: str,
    household: str,
    allowed: frozenset[str],
    what: str,
) -> str:
    """``actor`` if their role on ``household`` is ``allowed``, else :class:`Forbidden`."""
    role = hook.role(actor, household)
    if role in allowed:
        return actor
    if role is None:
        raise Forbidden(f"you have no role in household {household!r}: ask one of its owners")
    raise Forbidden(
        f"a {role} of household {household!r} may not {what}: it needs the role "
        + " or ".join(sorted(allowed, key=("owner", "member", "viewer").index))
    )


def _token_passes(household: str, scope: str, allowed: frozenset[str], what: str) -> str | None:
    """The OAuth token's actor if it has ``scope`` and its user an ``allowed`` role; ``None``
    when the request carries no access token."""
    actor = oauth_actor(scope)
    if actor is None:
        return None
    tokens: TokenAccess = current_app.extensions[TOKENS]
    return _role_passes(tokens, actor, household, allowed, what)


def _session_passes(household: str, allowed: frozenset[str], what: str) -> str | None:
    """The signed-in user's actor if their role on ``household`` is ``allowed``; ``None`` when
    the request signs nobody in; :class:`Forbidden` for a signed-in user without the role."""
    sessions: SessionAccess | None = current_app.extensions.get(SESSIONS)
    if sessions is None:
        return None
    actor = sessions.actor()
    if actor is None:
        return None
    return _role_passes(sessions, actor, household, allowed, what)


def bearer_key() -> str | None:
    """The key of an ``Authorization: Bearer <key>`` header; ``None`` without the header."""
    header = request.headers.get("Authorization")
    if header is None or not header.strip():
        return None
    scheme, _, key = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized(
            f"Authorization must be 'Bearer <API key>', got the scheme {scheme!r}"
            if scheme.lower() != "bearer"
            else "Authorization: Bearer needs the API key after it"
        )
    return key.strip()


def is_open_demo(household: str) -> bool:
    cfg = current_app.config
    return bool(cfg["DEMO"]) and household in cfg["DEMO_HOUSEHOLDS"]


def _keys() -> KeyStore:
    """The app's key store (households and their API keys, in the installation's database)."""
    return current_app.extensions["gridlight"].keys


def _check_key(household: str, key: str) -> str:
    """The id of ``key`` if it is a live key of ``household``; failures are rate limited."""
    _limits_before(household)
    if not _keys().check(household, key):
        _limits_failed(household)
        raise Unauthorized(f"the API key is not a live key of household {household!r}")
    return key_id(key)


def require_key(household: str, *, meter: bool = False, scope: str | None = None) -> str | None:
    """Raise :class:`Unauthorized` unless the request carries a live key of ``household``, or
    signs in one of its owners or members by session or OAuth token (the check of every write;
    ``meter``: a meter's readings, key only); returns the key's id or the user's actor.
    ``scope``: what an OAuth token needs (default ``read`` for GET, ``write`` otherwise)."""
    key = bearer_key()
    if key is None and not meter:
        actor = _session_passes(household, WRITE_ROLES, "change it")
        if actor is not None:
            return actor
    if key is None:
        raise Unauthorized(
            f"household {household!r} needs its API key: send 'Authorization: Bearer <key>' "
            f"(issued by 'python -m server keys create {household}')"
        )
    if _tokens_for(key) is not None:
        if meter:
            raise Unauthorized(
                f"a meter's readings need household {household!r}'s API key: an OAuth access "
                "token cannot send them"
            )
        if scope is None:
            scope = "read" if request.method in SAFE_METHODS else "write"
        actor = _token_passes(household, scope, WRITE_ROLES, "change it")
        assert actor is not None
        return actor
    return _check_key(household, key)


def require_read(household: str) -> str | None:
    """Raise :class:`Unauthorized` unless ``household`` may be read by this request: an open
    demo household, the request carries one of its live keys, or it signs in a user with a role
    on it (by session, or an OAuth token with the ``read`` scope). Returns that key's id or the
    user's actor (``None`` for an open demo household), for capabilities granted with it
    (:func:`require_still_readable`)."""
    if is_open_demo(household):
        return None
    key = bearer_key()
    if key is None:
        actor = _session_passes(household, READ_ROLES, "read it")
        if actor is not None:
            return actor
    elif _tokens_for(key) is not None:
        return _token_passes(household, "read", READ_ROLES, "read it")
    return require_key(household, meter=True)


def require_still_readable(household: str, granted_by: str | None) -> None:
    """A capability granted earlier (the seed's stream set-up) still holds: ``household`` is an
    open demo household, or the key that granted it (its id) is still live."""
    if is_open_demo(household):
        return
    sessions: SessionAccess | None = current_app.extensions.get(SESSIONS)
    if granted_by is not None and granted_by.startswith("user:") and sessions is not None:
        live = sessions.role(granted_by, household) in READ_ROLES
    else:
        live = granted_by is not None and _keys().is_live(household, granted_by)
    if not live:
        raise Unauthorized(
            f"this set-up of household {household!r} is no longer valid (its API key was "
            "revoked or its user's role removed, or it was made without one): POST /stream_setup again with a live key"
        )


def _handle(err: Unauthorized | InsufficientScope) -> tuple[Response, int]:
    response = jsonify(error_body(err.code, err.message))
    response.headers["WWW-Authenticate"] = err.www_authenticate()
    return response, err.status


def init_app(app: Flask) -> None:
    app.register_error_handler(Unauthorized, _handle)
    app.register_error_handler(InsufficientScope, _handle)
