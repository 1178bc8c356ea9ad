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
"""

from __future__ import annotations

from typing import Protocol

from flask import Flask, Response, current_app, jsonify, request

from server.errors import Forbidden, GridlightError, error_body
from server.storage import KeyStore
from server.storage.keys import key_id

__all__ = [
    "READ_ROLES",
    "SESSIONS",
    "WRITE_ROLES",
    "SessionAccess",
    "Unauthorized",
    "bearer_key",
    "init_app",
    "is_open_demo",
    "require_key",
    "require_read",
    "require_still_readable",
]


class Unauthorized(GridlightError):
    """No API key, or not a live key of this household (401, with ``WWW-Authenticate``)."""

    status = 401
    code = "unauthorized"


#: ``app.extensions`` name of the :class:`SessionAccess` hook (filled by the accounts package).
SESSIONS = "gridlight_sessions"
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


def _session_passes(household: str, allowed: frozenset[str], what: str) -> str | None:
    """The signed-in user's actor if their role on ``household`` is ``allowed``; ``None`` when
    the request signs nobody in; :class:`Forbidden` for a signed-in user without the role."""
    sessions: SessionAccess | None = current_app.extensions.get(SESSIONS)
    if sessions is None:
        return None
    actor = sessions.actor()
    if actor is None:
        return None
    role = sessions.role(actor, household)
    if role in allowed:
        return actor
    if role is None:
        raise Forbidden(f"you have no role in household {household!r}: ask one of its owners")
    raise Forbidden(
        f"a {role} of household {household!r} may not {what}: it needs the role "
        + " or ".join(sorted(allowed, key=("owner", "member", "viewer").index))
    )


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


def require_key(household: str, *, meter: bool = False) -> str | None:
    """Raise :class:`Unauthorized` unless the request carries a live key of ``household`` or
    signs in one of its owners or members (the check of every write; ``meter``: a meter's
    readings, key only); returns the key's id or the user's actor."""
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
    ok = _keys().check(household, key)
    if not ok:
        raise Unauthorized(f"the API key is not a live key of household {household!r}")
    return key_id(key)


def require_read(household: str) -> str | None:
    """Raise :class:`Unauthorized` unless ``household`` may be read by this request: an open
    demo household, the request carries one of its live keys, or it signs in a user with a role
    on it. Returns that key's id or the user's actor (``None`` for an open demo household), for
    capabilities granted with it (:func:`require_still_readable`)."""
    if is_open_demo(household):
        return None
    if bearer_key() is None:
        actor = _session_passes(household, READ_ROLES, "read it")
        if actor is not None:
            return actor
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


def _handle(err: Unauthorized) -> tuple[Response, int]:
    response = jsonify(error_body(err.code, err.message))
    response.headers["WWW-Authenticate"] = 'Bearer realm="gridlight"'
    return response, err.status


def init_app(app: Flask) -> None:
    app.register_error_handler(Unauthorized, _handle)
