"""Live households and their API keys.

A key looks like ``gl_{key_id}_{secret}``: ``key_id`` (12 hex digits) finds the row, and only
the SHA-256 of the secret is stored, compared in constant time. The secret carries 256 random
bits, so a fast hash is enough (a slow password hash protects guessable secrets; these are not).
A key is shown once, when it is made.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from generator.dataset import DatasetError, validate_channel, validate_household_id

__all__ = ["KeyStore", "LiveHousehold", "RegistryError"]


class RegistryError(ValueError):
    """A household or key request that cannot be carried out (the message says why)."""


@dataclass(frozen=True)
class LiveHousehold:
    """A household registered to report its own readings."""

    id: str
    name: str
    timezone: str
    channels: tuple[str, ...]
    created_s: int


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyStore:
    """Registers live households and issues, checks and revokes their API keys."""

    def __init__(self, conn: sqlite3.Connection, *, clock=time.time) -> None:  # type: ignore[no-untyped-def]
        self.conn = conn
        self.clock = clock

    def add_household(
        self,
        household: str,
        channels: Sequence[str],
        *,
        timezone: str = "UTC",
        name: str | None = None,
    ) -> tuple[LiveHousehold, str]:
        """Register ``household`` and return it with its first API key."""
        try:
            validate_household_id(household)
            channels = tuple(validate_channel(c) for c in channels)
        except DatasetError as err:
            raise RegistryError(str(err)) from err
        if not channels:
            raise RegistryError("a household needs at least one channel (e.g. Overall)")
        if len(set(channels)) != len(channels):
            raise RegistryError(f"channels {', '.join(channels)} repeat a name")
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise RegistryError(
                f"unknown time zone {timezone!r}: expected an IANA name such as 'Europe/Paris'"
            ) from err
        created = int(self.clock())
        info = LiveHousehold(household, name or household, timezone, channels, created)
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.conn.execute(
                "INSERT INTO households (id, name, timezone, channels, created_s)"
                " VALUES (?, ?, ?, ?, ?)",
                (household, info.name, timezone, json.dumps(list(channels)), created),
            )
            key = self._issue(household, created)
            self.conn.execute("COMMIT")
        except sqlite3.IntegrityError as err:
            self.conn.execute("ROLLBACK")
            raise RegistryError(f"household {household!r} is already registered") from err
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        return info, key

    def get(self, household: str) -> LiveHousehold | None:
        row = self.conn.execute(
            "SELECT id, name, timezone, channels, created_s FROM households WHERE id = ?",
            (household,),
        ).fetchone()
        if row is None:
            return None
        return LiveHousehold(row[0], row[1], row[2], tuple(json.loads(row[3])), row[4])

    def list(self) -> list[LiveHousehold]:
        ids = [r[0] for r in self.conn.execute("SELECT id FROM households ORDER BY id")]
        return [h for h in (self.get(i) for i in ids) if h is not None]

    def create_key(self, household: str) -> str:
        """Issue another key for a registered household."""
        if self.get(household) is None:
            raise RegistryError(f"household {household!r} is not registered")
        return self._issue(household, int(self.clock()))

    def _issue(self, household: str, created: int) -> str:
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        self.conn.execute(
            "INSERT INTO api_keys (key_id, household, secret_hash, created_s) VALUES (?, ?, ?, ?)",
            (key_id, household, _hash(secret), created),
        )
        return f"gl_{key_id}_{secret}"

    def check(self, household: str, key: str | None) -> bool:
        """True when ``key`` is a live key of ``household``."""
        if not key or not key.startswith("gl_"):
            return False
        key_id, sep, secret = key[3:].partition("_")
        if not sep:
            return False
        row = self.conn.execute(
            "SELECT household, secret_hash, revoked_s FROM api_keys WHERE key_id = ?", (key_id,)
        ).fetchone()
        if row is None or row[2] is not None:
            _hash(secret)  # same work whether or not the id exists
            return False
        return hmac.compare_digest(row[1], _hash(secret)) and row[0] == household

    def is_live(self, household: str, key_id: str) -> bool:
        """True while the key with id ``key_id`` (see :func:`key_id`) is a live key of
        ``household`` (a capability granted with it, such as a stream set-up, still holds)."""
        row = self.conn.execute(
            "SELECT household, revoked_s FROM api_keys WHERE key_id = ?", (key_id,)
        ).fetchone()
        return row is not None and row[1] is None and row[0] == household

    def revoke(self, key: str) -> bool:
        """Revoke ``key``; True when it was live."""
        key_id = key[3:].partition("_")[0] if key.startswith("gl_") else ""
        cur = self.conn.execute(
            "UPDATE api_keys SET revoked_s = ? WHERE key_id = ? AND revoked_s IS NULL",
            (int(self.clock()), key_id),
        )
        return cur.rowcount == 1


def key_id(key: str) -> str | None:
    """The public id part of an API key (``gl_<id>_<secret>``), or ``None`` if not one."""
    if not key.startswith("gl_"):
        return None
    found, sep, _ = key[3:].partition("_")
    return found if sep and found else None
