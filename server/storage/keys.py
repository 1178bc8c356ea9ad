"""Live households and their API keys.

A key looks like ``gl_{key_id}_{secret}``: ``key_id`` (12 hex digits) finds the row, and only
the SHA-256 of the secret is stored, compared in constant time. The secret carries 256 random
bits, so a fast hash is enough (a slow password hash protects guessable secrets; these are not).
A key is shown once, when it is made. Households and keys live in the installation's database,
so a key made through one host works on every host sharing it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from generator.dataset import DatasetError, validate_channel, validate_household_id
from server.storage.database import Database

__all__ = ["HouseholdExists", "KeyStore", "LiveHousehold", "RegistryError"]


class RegistryError(ValueError):
    """A household or key request that cannot be carried out (the message says why)."""


class HouseholdExists(RegistryError):
    """The household id is registered already."""


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

    def __init__(self, db: Database, *, clock=time.time) -> None:  # type: ignore[no-untyped-def]
        self.db = db
        self.clock = clock

    def add_household(
        self,
        household: str,
        channels: Sequence[str],
        *,
        timezone: str = "UTC",
        name: str | None = None,
        then: Callable[[Connection, LiveHousehold], None] | None = None,
    ) -> tuple[LiveHousehold, str]:
        """Register ``household`` and return it with its first API key; ``then`` runs in the
        same transaction (its creator's membership: both are stored, or neither)."""
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
        with self.db.write() as conn:
            inserted = conn.execute(
                sa.text(
                    "INSERT INTO households (id, name, timezone, channels, created_s)"
                    " VALUES (:id, :name, :timezone, :channels, :created)"
                    " ON CONFLICT (id) DO NOTHING RETURNING id"
                ),
                {
                    "id": household,
                    "name": info.name,
                    "timezone": timezone,
                    "channels": json.dumps(list(channels)),
                    "created": created,
                },
            ).first()
            if inserted is None:
                raise HouseholdExists(f"household {household!r} is already registered")
            key = self._issue(conn, household, created)
            if then is not None:
                then(conn, info)
        return info, key

    def get(self, household: str) -> LiveHousehold | None:
        with self.db.read() as conn:
            row = conn.execute(
                sa.text(
                    "SELECT id, name, timezone, channels, created_s FROM households WHERE id = :id"
                ),
                {"id": household},
            ).first()
        return None if row is None else _household(row)

    def list(self) -> list[LiveHousehold]:
        with self.db.read() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT id, name, timezone, channels, created_s FROM households ORDER BY id"
                )
            ).all()
        return [_household(r) for r in rows]

    def create_key(self, household: str) -> str:
        """Issue another key for a registered household."""
        with self.db.write() as conn:
            known = conn.execute(
                sa.text("SELECT 1 FROM households WHERE id = :id"), {"id": household}
            ).first()
            if known is None:
                raise RegistryError(f"household {household!r} is not registered")
            return self._issue(conn, household, int(self.clock()))

    @staticmethod
    def _issue(conn: Connection, household: str, created: int) -> str:
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        conn.execute(
            sa.text(
                "INSERT INTO api_keys (key_id, household, secret_hash, created_s)"
                " VALUES (:key_id, :household, :hash, :created)"
            ),
            {"key_id": key_id, "household": household, "hash": _hash(secret), "created": created},
        )
        return f"gl_{key_id}_{secret}"

    def _key_row(self, key_id: str):  # noqa: ANN202
        with self.db.read() as conn:
            return conn.execute(
                sa.text(
                    "SELECT household, secret_hash, revoked_s FROM api_keys WHERE key_id = :key_id"
                ),
                {"key_id": key_id},
            ).first()

    def check(self, household: str, key: str | None) -> bool:
        """True when ``key`` is a live key of ``household``."""
        if not key or not key.startswith("gl_"):
            return False
        key_id, sep, secret = key[3:].partition("_")
        if not sep:
            return False
        row = self._key_row(key_id)
        if row is None or row[2] is not None:
            _hash(secret)  # same work whether or not the id exists
            return False
        return hmac.compare_digest(row[1], _hash(secret)) and row[0] == household

    def is_live(self, household: str, key_id: str) -> bool:
        """True while the key with id ``key_id`` (see :func:`key_id`) is a live key of
        ``household`` (a capability granted with it, such as a stream set-up, still holds)."""
        row = self._key_row(key_id)
        return row is not None and row[2] is None and row[0] == household

    def revoke(self, key: str) -> bool:
        """Revoke ``key``; True when it was live."""
        key_id = key[3:].partition("_")[0] if key.startswith("gl_") else ""
        with self.db.write() as conn:
            result = conn.execute(
                sa.text(
                    "UPDATE api_keys SET revoked_s = :now"
                    " WHERE key_id = :key_id AND revoked_s IS NULL"
                ),
                {"now": int(self.clock()), "key_id": key_id},
            )
            return result.rowcount == 1


def _household(row: Sequence) -> LiveHousehold:  # type: ignore[type-arg]
    return LiveHousehold(row[0], row[1], row[2], tuple(json.loads(row[3])), int(row[4]))


def key_id(key: str) -> str | None:
    """The public id part of an API key (``gl_<id>_<secret>``), or ``None`` if not one."""
    if not key.startswith("gl_"):
        return None
    found, sep, _ = key[3:].partition("_")
    return found if sep and found else None
