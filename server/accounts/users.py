"""People: who they are, how they sign in, and the hashes that find them.

A user is found by ``email_hash``, a keyed HMAC-SHA256 of the lower-cased email (the key derived
from ``SECRET_KEY``), so sign-in never needs an index of plaintext emails. The ``email`` and
``name`` columns hold the values sealed (AES-256-GCM under the installation's data key,
:mod:`server.storage.crypto`, bound to the row by its email hash), so a copy of the database
shows neither. Passwords are argon2id hashes
(``argon2-cffi``), re-hashed on sign-in when the configured cost rises.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Connection

from generator.times import format_ts
from server.accounts.errors import EmailTaken
from server.storage.crypto import Keyring
from server.storage.database import Database
from server.storage.sealing import email_context, name_context

__all__ = ["Passwords", "User", "UserStore"]

_COLUMNS = "id, email, name, password_hash, verified_s, created_s, email_hash"


@dataclass(frozen=True)
class User:
    id: int
    email: str
    name: str
    password_hash: str
    verified_s: int | None
    created_s: int

    @property
    def verified(self) -> bool:
        return self.verified_s is not None

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "email_verified": self.verified,
            "created": format_ts(self.created_s),
        }


class Passwords:
    """argon2id hashing; :meth:`check` spends the same work for an unknown user."""

    def __init__(self, *, time_cost: int, memory_kib: int, parallelism: int) -> None:
        self.hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism
        )
        self._dummy: str | None = None  # made on first use (not at every app's start)

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def check(self, stored: str | None, password: str) -> bool:
        if stored is None and self._dummy is None:
            self._dummy = self.hasher.hash("not anyone's password")
        try:
            return self.hasher.verify(stored or self._dummy or "", password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self.hasher.check_needs_rehash(stored)


class UserStore:
    """Users in the installation's database."""

    def __init__(
        self,
        db: Database,
        email_key: bytes,
        keyring: Keyring,
        *,
        clock: Callable[[], float] = time.time,
    ):
        self.db = db
        self.email_key = email_key
        self.keyring = keyring
        self.clock = clock

    def email_hash(self, email: str) -> str:
        """The lookup hash of ``email`` (case and surrounding blanks ignored)."""
        normal = email.strip().lower().encode()
        return hmac.new(self.email_key, normal, hashlib.sha256).hexdigest()

    def create(self, email: str, name: str, password_hash: str) -> User:
        """A new, unverified user; :class:`EmailTaken` when the email has one already."""
        created = int(self.clock())
        email_hash = self.email_hash(email)
        with self.db.write() as c:
            row = c.execute(
                sa.text(
                    "INSERT INTO users (email_hash, email, name, password_hash, created_s)"
                    " VALUES (:hash, :email, :name, :pw, :created)"
                    f" ON CONFLICT (email_hash) DO NOTHING RETURNING {_COLUMNS}"
                ),
                {
                    "hash": email_hash,
                    "email": self.keyring.seal(email.strip(), email_context(email_hash)),
                    "name": self.keyring.seal(name, name_context(email_hash)),
                    "pw": password_hash,
                    "created": created,
                },
            ).first()
        if row is None:
            raise EmailTaken(f"an account with the email {email.strip()!r} exists already")
        return self._user(row)

    def get(self, user_id: int) -> User | None:
        with self.db.read() as c:
            row = c.execute(
                sa.text(f"SELECT {_COLUMNS} FROM users WHERE id = :id"), {"id": user_id}
            ).first()
        return None if row is None else self._user(row)

    def by_email(self, email: str) -> User | None:
        with self.db.read() as c:
            row = c.execute(
                sa.text(f"SELECT {_COLUMNS} FROM users WHERE email_hash = :hash"),
                {"hash": self.email_hash(email)},
            ).first()
        return None if row is None else self._user(row)

    def mark_verified(self, user_id: int) -> bool:
        """Record the email as verified (once; later calls keep the first time). True if known."""
        with self.db.write() as c:
            result = c.execute(
                sa.text("UPDATE users SET verified_s = COALESCE(verified_s, :now) WHERE id = :id"),
                {"now": int(self.clock()), "id": user_id},
            )
            return result.rowcount == 1

    def set_password(
        self, user_id: int, password_hash: str, *, expected: str | None = None
    ) -> bool:
        """Replace the password hash; with ``expected``, only if it is still that one (a reset
        link works once). True when changed."""
        sql = "UPDATE users SET password_hash = :pw WHERE id = :id"
        if expected is not None:
            sql += " AND password_hash = :expected"
        with self.db.write() as c:
            result = c.execute(
                sa.text(sql), {"pw": password_hash, "id": user_id, "expected": expected}
            )
            return result.rowcount == 1

    def delete(self, user_id: int, *, conn: Connection) -> bool:
        """Remove the user (their memberships go with them), inside ``conn``'s transaction."""
        conn.execute(sa.text("DELETE FROM memberships WHERE user_id = :id"), {"id": user_id})
        return bool(
            conn.execute(sa.text("DELETE FROM users WHERE id = :id"), {"id": user_id}).rowcount
        )

    def _user(self, row: Any) -> User:
        return User(
            int(row[0]),
            self.keyring.open(row[1], email_context(row[6])),
            self.keyring.open(row[2], name_context(row[6])),
            row[3],
            None if row[4] is None else int(row[4]),
            int(row[5]),
        )
