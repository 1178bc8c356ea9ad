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
"""

from __future__ import annotations

from flask import Flask, Response, current_app, jsonify, request

from server.errors import GridlightError, error_body
from server.storage import KeyStore
from server.storage.keys import key_id

__all__ = [
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


def require_key(household: str) -> str | None:
    """Raise :class:`Unauthorized` unless the request carries a live key of ``household`` (the
    check of every write); returns the key's id."""
    key = bearer_key()
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
    demo household, or the request carries one of its live keys. Returns that key's id (``None``
    for an open demo household), for capabilities granted with it (:func:`require_still_readable`)."""
    if is_open_demo(household):
        return None
    return require_key(household)


def require_still_readable(household: str, granted_by: str | None) -> None:
    """A capability granted earlier (the seed's stream set-up) still holds: ``household`` is an
    open demo household, or the key that granted it (its id) is still live."""
    if is_open_demo(household):
        return
    live = granted_by is not None and _keys().is_live(household, granted_by)
    if not live:
        raise Unauthorized(
            f"this set-up of household {household!r} is no longer valid (its API key was "
            "revoked, or it was made without one): POST /stream_setup again with a live key"
        )


def _handle(err: Unauthorized) -> tuple[Response, int]:
    response = jsonify(error_body(err.code, err.message))
    response.headers["WWW-Authenticate"] = 'Bearer realm="gridlight"'
    return response, err.status


def init_app(app: Flask) -> None:
    app.register_error_handler(Unauthorized, _handle)
