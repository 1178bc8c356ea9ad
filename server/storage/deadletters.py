"""Rejected input kept with the reason, so a bad message is inspectable and never silently lost."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

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

    def __init__(self, conn: sqlite3.Connection, *, clock=time.time) -> None:  # type: ignore[no-untyped-def]
        self.conn = conn
        self.clock = clock

    def add(self, source: str, household: str | None, reason: str, payload: str | bytes) -> None:
        if isinstance(payload, bytes):
            payload = payload.decode("utf-8", errors="replace")
        if len(payload) > MAX_PAYLOAD_CHARS:
            payload = payload[:MAX_PAYLOAD_CHARS] + f"... [{len(payload)} chars, cut]"
        self.conn.execute(
            "INSERT INTO dead_letters (received_s, source, household, reason, payload)"
            " VALUES (?, ?, ?, ?, ?)",
            (int(self.clock()), source, household, reason, payload),
        )

    def recent(self, limit: int = 100, household: str | None = None) -> list[DeadLetter]:
        sql = "SELECT id, received_s, source, household, reason, payload FROM dead_letters"
        params: tuple[object, ...] = ()
        if household is not None:
            sql += " WHERE household = ?"
            params = (household,)
        sql += " ORDER BY id DESC LIMIT ?"
        return [DeadLetter(*row) for row in self.conn.execute(sql, (*params, int(limit)))]

    def purge(self, older_than_s: float) -> int:
        cur = self.conn.execute(
            "DELETE FROM dead_letters WHERE received_s < ?", (int(older_than_s),)
        )
        return cur.rowcount
