"""Live households and their API keys.

A key looks like ``gl_{key_id}_{secret}``: ``key_id`` (12 hex digits) finds the row, and only
the SHA-256 of the secret is stored, compared in constant time. The secret carries 256 random
bits, so a fast hash is enough (a slow password hash protects guessable secrets; these are not).
A key is shown once, when it is made. Households and keys live in the installation's database,
so a key made through one host works on every host sharing it, and a key revoked through one
is refused by every host at its next request (each check reads the row).

A key may carry a ``label`` (what its owner called it), and remembers when it was last used:
:meth:`KeyStore.check` writes ``last_used_s`` when the stored time is older than
:data:`LAST_USED_RESOLUTION_S`, so a meter posting every second costs one write a minute.
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

__all__ = [
    "LABEL_MAX",
    "LAST_USED_RESOLUTION_S",
    "HouseholdExists",
    "KeyInfo",
    "KeyStore",
    "LiveHousehold",
    "RegistryError",
]

#: How stale ``last_used_s`` may get before a successful check writes it again. [s]
LAST_USED_RESOLUTION_S = 60
#: Longest label of a key (characters).
LABEL_MAX = 100


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


@dataclass(frozen=True)
class KeyInfo:
    """What may be shown of a key: never its secret, nor the secret's hash."""

    key_id: str
    household: str
    label: str | None
    created_s: int
    last_used_s: int | None
    revoked_s: int | None


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

    def create_key(
        self,
        household: str,
        *,
        label: str | None = None,
        then: Callable[[Connection, str], None] | None = None,
    ) -> str:
        """Issue another key for a registered household; ``then(conn, key_id)`` runs in the
        same transaction (its audit entry)."""
        label = _label(label)
        with self.db.write() as conn:
            known = conn.execute(
                sa.text("SELECT 1 FROM households WHERE id = :id"), {"id": household}
            ).first()
            if known is None:
                raise RegistryError(f"household {household!r} is not registered")
            key = self._issue(conn, household, int(self.clock()), label)
            if then is not None:
                then(conn, key_id(key) or "")
            return key

    @staticmethod
    def _issue(conn: Connection, household: str, created: int, label: str | None = None) -> str:
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        conn.execute(
            sa.text(
                "INSERT INTO api_keys (key_id, household, secret_hash, created_s, label)"
                " VALUES (:key_id, :household, :hash, :created, :label)"
            ),
            {
                "key_id": key_id,
                "household": household,
                "hash": _hash(secret),
                "created": created,
                "label": label,
            },
        )
        return f"gl_{key_id}_{secret}"

    def keys(self, household: str, *, revoked: bool = False) -> list[KeyInfo]:
        """The keys of ``household``, oldest first (by id within a second; ``revoked``: the
        revoked ones too)."""
        sql = (
            "SELECT key_id, household, label, created_s, last_used_s, revoked_s FROM api_keys"
            " WHERE household = :h"
        )
        if not revoked:
            sql += " AND revoked_s IS NULL"
        with self.db.read() as conn:
            rows = conn.execute(sa.text(sql + " ORDER BY created_s, key_id"), {"h": household})
            return [
                KeyInfo(
                    r[0],
                    r[1],
                    r[2],
                    int(r[3]),
                    None if r[4] is None else int(r[4]),
                    None if r[5] is None else int(r[5]),
                )
                for r in rows.all()
            ]

    def revoke_id(
        self,
        household: str,
        key_id: str,
        *,
        then: Callable[[Connection], None] | None = None,
    ) -> bool:
        """Revoke the key of ``household`` whose id is ``key_id``; True when it was live.
        ``then(conn)`` runs in the same transaction when it was (its audit entry)."""
        with self.db.write() as conn:
            result = conn.execute(
                sa.text(
                    "UPDATE api_keys SET revoked_s = :now"
                    " WHERE key_id = :key_id AND household = :h AND revoked_s IS NULL"
                ),
                {"now": int(self.clock()), "key_id": key_id, "h": household},
            )
            if result.rowcount != 1:
                return False
            if then is not None:
                then(conn)
            return True

    def _key_row(self, key_id: str):  # noqa: ANN202
        with self.db.read() as conn:
            return conn.execute(
                sa.text(
                    "SELECT household, secret_hash, revoked_s, last_used_s FROM api_keys"
                    " WHERE key_id = :key_id"
                ),
                {"key_id": key_id},
            ).first()

    def _used(self, key_id: str, last_used_s: int | None) -> None:
        """Record that ``key_id`` was used now, unless it was within the last minute."""
        now = int(self.clock())
        if last_used_s is not None and now - int(last_used_s) < LAST_USED_RESOLUTION_S:
            return
        with self.db.write() as conn:
            conn.execute(
                sa.text(
                    "UPDATE api_keys SET last_used_s = :now WHERE key_id = :key_id"
                    " AND (last_used_s IS NULL OR last_used_s <= :stale)"
                ),
                {"now": now, "key_id": key_id, "stale": now - LAST_USED_RESOLUTION_S},
            )

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
        ok = hmac.compare_digest(row[1], _hash(secret)) and row[0] == household
        if ok:
            self._used(key_id, row[3])
        return ok

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


def _label(label: str | None) -> str | None:
    """A key's label, stripped (``None`` for none); :class:`RegistryError` when unfit."""
    if label is None or not label.strip():
        return None
    label = label.strip()
    if len(label) > LABEL_MAX or any(ord(c) < 32 or ord(c) == 127 for c in label):
        raise RegistryError(
            f"a key's label is 1 to {LABEL_MAX} characters without control characters, "
            f"got {label[:40]!r}{'…' if len(label) > 40 else ''}"
        )
    return label


def _household(row: Sequence) -> LiveHousehold:  # type: ignore[type-arg]
    return LiveHousehold(row[0], row[1], row[2], tuple(json.loads(row[3])), int(row[4]))


def key_id(key: str) -> str | None:
    """The public id part of an API key (``gl_<id>_<secret>``), or ``None`` if not one."""
    if not key.startswith("gl_"):
        return None
    found, sep, _ = key[3:].partition("_")
    return found if sep and found else None
