"""Who holds which role on a household (``owner``, ``member``, ``viewer``), and the audit log.

A household always keeps an owner: demoting or removing its last one is refused
(:class:`LastOwner`). The check and the change are one transaction, and on PostgreSQL the
household's memberships are locked first (``FOR UPDATE``), so two owners demoting each other at
once cannot both succeed; SQLite's write transactions are serialised already.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from generator.times import format_ts
from server.accounts.errors import AlreadyMember, LastOwner, UnknownUser
from server.storage.crypto import Keyring
from server.storage.database import Database
from server.storage.sealing import email_context, name_context

__all__ = ["ROLES", "AuditLog", "Memberships"]

#: The roles, strongest first.
ROLES = ("owner", "member", "viewer")


class Memberships:
    def __init__(
        self, db: Database, keyring: Keyring, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.db = db
        self.keyring = keyring  # members' emails and names are sealed
        self.clock = clock

    def add(
        self, household: str, user_id: int, role: str, *, conn: Connection | None = None
    ) -> None:
        """Give ``user_id`` a role on ``household``; :class:`AlreadyMember` if they have one.
        With ``conn``, inside that transaction (a household and its owner, created together)."""
        if conn is None:
            with self.db.write() as c:
                return self.add(household, user_id, role, conn=c)
        row = conn.execute(
            sa.text(
                "INSERT INTO memberships (household, user_id, role, created_s)"
                " VALUES (:h, :u, :role, :now)"
                " ON CONFLICT (household, user_id) DO NOTHING RETURNING role"
            ),
            {"h": household, "u": user_id, "role": role, "now": int(self.clock())},
        ).first()
        if row is None:
            raise AlreadyMember(f"user {user_id} has a role in household {household!r} already")
        return None

    def role(self, household: str, user_id: int) -> str | None:
        with self.db.read() as c:
            row = c.execute(
                sa.text("SELECT role FROM memberships WHERE household = :h AND user_id = :u"),
                {"h": household, "u": user_id},
            ).first()
        return None if row is None else str(row[0])

    def of_household(self, household: str) -> list[dict[str, Any]]:
        """Each member: ``user_id``, ``name``, ``email``, ``role``, ``since`` (strongest first)."""
        with self.db.read() as c:
            rows = c.execute(
                sa.text(
                    "SELECT m.user_id, u.name, u.email, m.role, m.created_s, u.email_hash"
                    " FROM memberships m"
                    " JOIN users u ON u.id = m.user_id WHERE m.household = :h"
                    " ORDER BY CASE m.role WHEN 'owner' THEN 0 WHEN 'member' THEN 1 ELSE 2 END,"
                    " m.created_s, m.user_id"
                ),
                {"h": household},
            ).all()
        return [
            {
                "user_id": int(r[0]),
                "name": self.keyring.open(r[1], name_context(r[5])),
                "email": self.keyring.open(r[2], email_context(r[5])),
                "role": r[3],
                "since": format_ts(r[4]),
            }
            for r in rows
        ]

    def of_user(self, user_id: int) -> list[dict[str, str]]:
        with self.db.read() as c:
            rows = c.execute(
                sa.text(
                    "SELECT household, role FROM memberships WHERE user_id = :u ORDER BY household"
                ),
                {"u": user_id},
            ).all()
        return [{"household": r[0], "role": r[1]} for r in rows]

    def change(
        self,
        household: str,
        user_id: int,
        role: str | None,
        *,
        then: Callable[[Connection, str], None] | None = None,
    ) -> str:
        """Set ``user_id``'s role (``None``: remove it); returns the role they had. Refuses to
        leave the household without an owner. ``then(conn, old_role)`` runs in the same
        transaction (its audit entry)."""
        with self.db.write() as c:
            lock = " FOR UPDATE" if c.dialect.name == "postgresql" else ""
            rows = c.execute(
                sa.text(f"SELECT user_id, role FROM memberships WHERE household = :h{lock}"),
                {"h": household},
            ).all()
            roles = {int(r[0]): str(r[1]) for r in rows}
            old = roles.get(user_id)
            if old is None:
                raise UnknownUser(f"user {user_id} has no role in household {household!r}")
            owners = sum(1 for r in roles.values() if r == "owner")
            if old == "owner" and role != "owner" and owners == 1:
                raise LastOwner(
                    f"user {user_id} is the last owner of household {household!r}: make "
                    "another member an owner first"
                )
            if role is None:
                c.execute(
                    sa.text("DELETE FROM memberships WHERE household = :h AND user_id = :u"),
                    {"h": household, "u": user_id},
                )
            else:
                c.execute(
                    sa.text(
                        "UPDATE memberships SET role = :role WHERE household = :h AND user_id = :u"
                    ),
                    {"h": household, "u": user_id, "role": role},
                )
            if then is not None:
                then(c, old)
        return old


class AuditLog:
    """Sign-ins, household creation, role changes: who, what, when (``detail`` is JSON)."""

    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.clock = clock

    def record(
        self,
        event: str,
        *,
        household: str | None = None,
        user_id: int | None = None,
        detail: dict[str, Any] | None = None,
        conn: Connection | None = None,
    ) -> None:
        if conn is None:
            with self.db.write() as c:
                return self.record(
                    event, household=household, user_id=user_id, detail=detail, conn=c
                )
        conn.execute(
            sa.text(
                "INSERT INTO audit_log (household, user_id, event, detail, ts_s)"
                " VALUES (:h, :u, :event, :detail, :ts)"
            ),
            {
                "h": household,
                "u": user_id,
                "event": event,
                "detail": json.dumps(detail or {}, sort_keys=True),
                "ts": self.clock(),
            },
        )
        return None

    def of_household(self, household: str, *, limit: int = 100) -> list[dict[str, Any]]:
        """The newest ``limit`` entries about ``household``, newest first."""
        with self.db.read() as c:
            rows = c.execute(
                sa.text(
                    "SELECT id, user_id, event, detail, ts_s FROM audit_log WHERE household = :h"
                    " ORDER BY ts_s DESC, id DESC LIMIT :limit"
                ),
                {"h": household, "limit": limit},
            ).all()
        return [
            {
                "id": int(r[0]),
                "user_id": None if r[1] is None else int(r[1]),
                "event": r[2],
                "detail": json.loads(r[3]),
                "ts": format_ts(r[4]),
            }
            for r in rows
        ]

    def of_user(self, user_id: int, *, limit: int = 100) -> list[dict[str, Any]]:
        with self.db.read() as c:
            rows = c.execute(
                sa.text(
                    "SELECT household, event, detail, ts_s FROM audit_log WHERE user_id = :u"
                    " ORDER BY ts_s DESC, id DESC LIMIT :limit"
                ),
                {"u": user_id, "limit": limit},
            ).all()
        return [
            {"household": r[0], "event": r[1], "detail": json.loads(r[2]), "ts": format_ts(r[3])}
            for r in rows
        ]
