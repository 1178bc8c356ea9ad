"""Push tokens of widget devices, stored in the installation's database (the ``devices`` table).

A token is an FCM registration token: whoever holds it can push to the device, so it is a
credential. It is stored sealed (AES-256-GCM, :mod:`server.storage.crypto`; FCM needs it whole,
so it is encrypted rather than hashed) and found by its keyed hash (``token_hash``); it is never
logged whole: logs show
:func:`token_ref`, its first 6 characters, length and a short hash (the app logs the same prefix
and length). A device may hold widgets of several households, so a row is ``(household, token)``;
registering again only refreshes ``platform`` and ``updated_s``.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from typing import Annotated, Any, Literal, get_args

import sqlalchemy as sa
from pydantic import ConfigDict, Field, ValidationError, WrapValidator

from server.storage.crypto import Keyring
from server.storage.database import Database
from server.storage.sealing import TOKEN_INDEX, token_context
from server.validation import Body, expect, problem

__all__ = [
    "PLATFORMS",
    "TOKEN_MAX_LEN",
    "TOKEN_MIN_LEN",
    "DeviceRegistration",
    "DeviceRemoval",
    "DeviceStore",
    "token_ref",
]

Platform = Literal["android", "ios", "web"]
PLATFORMS: tuple[str, ...] = get_args(Platform)
#: FCM tokens are about 150-200 characters; anything much shorter is not one.
TOKEN_MIN_LEN = 32
TOKEN_MAX_LEN = 4096
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_:.\-]")
_TOKEN_CHARS_WHAT = "letters, digits, '-', '_', ':' and '.'"


def token_ref(token: str) -> str:
    """How a token appears in logs: ``"dXk3Zq… (163 chars, #1a2b3c4d)"``."""
    digest = hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()[:8]
    return f"{token[:6]}… ({len(token)} chars, #{digest})"


def _token(value: Any, handler: Any) -> str:
    """The model's checks, worded without repeating the token (a credential) beyond a prefix."""
    try:
        return handler(value)
    except ValidationError:
        if not isinstance(value, str):
            message = f"must be a string, got {type(value).__name__}"
        elif not TOKEN_MIN_LEN <= len(value) <= TOKEN_MAX_LEN:
            message = (
                f"must be {TOKEN_MIN_LEN} to {TOKEN_MAX_LEN} characters long, got {len(value)}"
            )
        else:
            bad = [(i, c) for i, c in enumerate(value) if not _TOKEN_CHARS.fullmatch(c)][:1]
            where = f" {bad[0][1]!r} at position {bad[0][0]}" if bad else ""
            message = f"has an invalid character{where}: expected {_TOKEN_CHARS_WHAT}"
        raise problem(message) from None


Token = Annotated[
    str,
    Field(
        min_length=TOKEN_MIN_LEN,
        max_length=TOKEN_MAX_LEN,
        pattern=f"^{_TOKEN_CHARS.pattern}+$",
        description="the device's FCM registration token",
    ),
    WrapValidator(_token),
]
_PLATFORMS_WHAT = f"one of {', '.join(PLATFORMS)}"
_EXAMPLE_TOKEN = "fcm-token-of-the-device:APA91bExample0123456789"


class DeviceRegistration(Body):
    """A device's push token and platform, to register."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={"examples": [{"token": _EXAMPLE_TOKEN, "platform": "android"}]},
    )

    token: Token
    platform: Annotated[Platform, Field(description=_PLATFORMS_WHAT), expect(_PLATFORMS_WHAT)]


class DeviceRemoval(Body):
    """A device's push token, to forget."""

    model_config = ConfigDict(
        extra="ignore", json_schema_extra={"examples": [{"token": _EXAMPLE_TOKEN}]}
    )

    token: Token


_REFRESH = sa.text(
    "UPDATE devices SET platform = :platform, updated_s = :now"
    " WHERE household = :household AND token_hash = :hash"
)
_INSERT = sa.text(
    "INSERT INTO devices (household, token_hash, token, platform, created_s, updated_s)"
    " VALUES (:household, :hash, :token, :platform, :now, :now)"
    " ON CONFLICT (household, token_hash) DO NOTHING RETURNING token_hash"
)


class DeviceStore:
    """Registered devices per household; tokens sealed, found by their keyed hash."""

    def __init__(
        self, db: Database, keyring: Keyring, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.db = db
        self.keyring = keyring
        self.clock = clock

    def _hash(self, token: str) -> str:
        return self.keyring.index(token, TOKEN_INDEX)

    def register(self, household: str, token: str, platform: str) -> bool:
        """Store ``token`` for ``household``; True when it is new, False when refreshed."""
        now = int(self.clock())
        token_hash = self._hash(token)
        params = {
            "household": household,
            "hash": token_hash,
            "token": self.keyring.seal(token, token_context(household, token_hash)),
            "platform": platform,
            "now": now,
        }
        with self.db.write() as conn:
            if conn.execute(_REFRESH, params).rowcount:
                return False
            if conn.execute(_INSERT, params).first() is not None:
                return True
            # another worker registered it since the refresh above (PostgreSQL: the insert
            # waited for its commit): refresh what it wrote
            conn.execute(_REFRESH, params)
            return False

    def unregister(self, household: str, token: str) -> bool:
        """Forget ``token`` for ``household``; True when it was registered."""
        with self.db.write() as conn:
            result = conn.execute(
                sa.text("DELETE FROM devices WHERE household = :household AND token_hash = :hash"),
                {"household": household, "hash": self._hash(token)},
            )
            return result.rowcount > 0

    def prune(self, token: str) -> int:
        """Forget ``token`` everywhere (FCM said it is gone); the number of rows removed."""
        with self.db.write() as conn:
            result = conn.execute(
                sa.text("DELETE FROM devices WHERE token_hash = :hash"),
                {"hash": self._hash(token)},
            )
            return int(result.rowcount)

    def devices(self, household: str) -> list[tuple[str, str]]:
        """``(token, platform)`` of the household's devices, oldest registration first."""
        return [(token, platform) for token, platform, _ in self.described(household)]

    def described(self, household: str) -> list[tuple[str, str, int]]:
        """``(token, platform, created_s)`` of the household's devices, oldest first."""
        with self.db.read() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT token_hash, token, platform, created_s FROM devices"
                    " WHERE household = :household ORDER BY created_s, token_hash"
                ),
                {"household": household},
            ).all()
        out = [
            (self.keyring.open(r[1], token_context(household, r[0])), r[2], int(r[3])) for r in rows
        ]
        # the order of registration, then of the tokens themselves (as before they were sealed)
        return sorted(out, key=lambda d: (d[2], d[0]))

    def households(self) -> list[str]:
        """Households with at least one device."""
        with self.db.read() as conn:
            rows = conn.execute(
                sa.text("SELECT DISTINCT household FROM devices ORDER BY household")
            ).all()
        return [r[0] for r in rows]
