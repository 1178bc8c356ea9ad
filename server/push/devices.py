"""Push tokens of widget devices, stored in SQLite (the ``devices`` table of migration 2).

A token is an FCM registration token: whoever holds it can push to the device, so it is a
credential. It is stored as given (FCM needs it whole) but never logged whole: logs show
:func:`token_ref`, its first 6 characters, length and a short hash (the app logs the same prefix
and length). A device may hold widgets of several households, so a row is ``(household, token)``;
registering again only refreshes ``platform`` and ``updated_s``.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import threading
import time
from collections.abc import Callable

from server.errors import InvalidParameter

__all__ = [
    "PLATFORMS",
    "TOKEN_MAX_LEN",
    "TOKEN_MIN_LEN",
    "DeviceStore",
    "token_ref",
    "validate_platform",
    "validate_token",
]

PLATFORMS = ("android", "ios", "web")
#: FCM tokens are about 150-200 characters; anything much shorter is not one.
TOKEN_MIN_LEN = 32
TOKEN_MAX_LEN = 4096
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_:.\-]+")


def token_ref(token: str) -> str:
    """How a token appears in logs: ``"dXk3Zq… (163 chars, #1a2b3c4d)"``."""
    digest = hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()[:8]
    return f"{token[:6]}… ({len(token)} chars, #{digest})"


def validate_token(raw: object) -> str:
    """The FCM registration token of a request body, else :class:`InvalidParameter`.

    Messages never repeat the token (a credential) beyond a short prefix.
    """
    if raw is None:
        raise InvalidParameter("token is required: the device's FCM registration token")
    if not isinstance(raw, str):
        raise InvalidParameter(f"token must be a string, got {type(raw).__name__}")
    if not TOKEN_MIN_LEN <= len(raw) <= TOKEN_MAX_LEN:
        raise InvalidParameter(
            f"token must be {TOKEN_MIN_LEN} to {TOKEN_MAX_LEN} characters long, got {len(raw)}"
        )
    if not _TOKEN_CHARS.fullmatch(raw):
        position, char = next((i, c) for i, c in enumerate(raw) if not _TOKEN_CHARS.match(c))
        raise InvalidParameter(
            f"token has an invalid character {char!r} at position {position}: expected "
            "letters, digits, '-', '_', ':' and '.'"
        )
    return raw


def validate_platform(raw: object) -> str:
    if raw is None:
        raise InvalidParameter(f"platform is required: one of {', '.join(PLATFORMS)}")
    if not isinstance(raw, str) or raw not in PLATFORMS:
        raise InvalidParameter(f"platform must be one of {', '.join(PLATFORMS)}; got {raw!r}")
    return raw


class DeviceStore:
    """Registered devices per household. One connection, serialised by a lock."""

    def __init__(self, conn: sqlite3.Connection, *, clock: Callable[[], float] = time.time) -> None:
        self.conn = conn
        self.clock = clock
        self.lock = threading.RLock()

    def register(self, household: str, token: str, platform: str) -> bool:
        """Store ``token`` for ``household``; True when it is new, False when refreshed."""
        now = int(self.clock())
        with self.lock:
            cur = self.conn.execute(
                "UPDATE devices SET platform = ?, updated_s = ? WHERE household = ? AND token = ?",
                (platform, now, household, token),
            )
            if cur.rowcount:
                return False
            self.conn.execute(
                "INSERT INTO devices (household, token, platform, created_s, updated_s)"
                " VALUES (?, ?, ?, ?, ?)",
                (household, token, platform, now, now),
            )
            return True

    def unregister(self, household: str, token: str) -> bool:
        """Forget ``token`` for ``household``; True when it was registered."""
        with self.lock:
            cur = self.conn.execute(
                "DELETE FROM devices WHERE household = ? AND token = ?", (household, token)
            )
            return cur.rowcount > 0

    def prune(self, token: str) -> int:
        """Forget ``token`` everywhere (FCM said it is gone); the number of rows removed."""
        with self.lock:
            return self.conn.execute("DELETE FROM devices WHERE token = ?", (token,)).rowcount

    def devices(self, household: str) -> list[tuple[str, str]]:
        """``(token, platform)`` of the household's devices, oldest registration first."""
        with self.lock:
            rows = self.conn.execute(
                "SELECT token, platform FROM devices WHERE household = ? ORDER BY created_s, token",
                (household,),
            ).fetchall()
        return [(r[0], r[1]) for r in rows]

    def households(self) -> list[str]:
        """Households with at least one device."""
        with self.lock:
            rows = self.conn.execute(
                "SELECT DISTINCT household FROM devices ORDER BY household"
            ).fetchall()
        return [r[0] for r in rows]
