"""Rejected input kept with the reason, so a bad message is inspectable and never silently lost."""

from __future__ import annotations

import time
from dataclasses import dataclass

import sqlalchemy as sa

from server.storage.database import Database

__all__ = ["DeadLetter", "DeadLetters"]

#: Longest payload kept verbatim; longer ones are cut (and say so).
MAX_PAYLOAD_CHARS = 4096


@dataclass(frozen=True)
class DeadLetter:
    id: int
    received_s: int
    source: str
    household: str | None
    reason: str
    payload: str


class DeadLetters:
    """The dead-letter table: ``add`` a rejected payload, ``recent`` to inspect them."""

    def __init__(self, db: Database, *, clock=time.time) -> None:  # type: ignore[no-untyped-def]
        self.db = db
        self.clock = clock

    def add(self, source: str, household: str | None, reason: str, payload: str | bytes) -> None:
        if isinstance(payload, bytes):
            payload = payload.decode("utf-8", errors="replace")
        payload = payload.replace("\x00", "\ufffd")  # PostgreSQL text holds no NUL
        if len(payload) > MAX_PAYLOAD_CHARS:
            payload = payload[:MAX_PAYLOAD_CHARS] + f"... [{len(payload)} chars, cut]"
        with self.db.write() as c:
            c.execute(
                sa.text(
                    "INSERT INTO dead_letters (received_s, source, household, reason, payload)"
                    " VALUES (:received, :source, :household, :reason, :payload)"
                ),
                {
                    "received": int(self.clock()),
                    "source": source,
                    "household": household,
                    "reason": reason.replace("\x00", "\ufffd"),
                    "payload": payload,
                },
            )

    def recent(self, limit: int = 100, household: str | None = None) -> list[DeadLetter]:
        sql = "SELECT id, received_s, source, household, reason, payload FROM dead_letters"
        params: dict[str, object] = {"n": int(limit)}
        if household is not None:
            sql += " WHERE household = :household"
            params["household"] = household
        sql += " ORDER BY id DESC LIMIT :n"
        with self.db.read() as c:
            return [DeadLetter(*row) for row in c.execute(sa.text(sql), params)]

    def purge(self, older_than_s: float) -> int:
        with self.db.write() as c:
            return c.execute(
                sa.text("DELETE FROM dead_letters WHERE received_s < :cutoff"),
                {"cutoff": int(older_than_s)},
            ).rowcount
