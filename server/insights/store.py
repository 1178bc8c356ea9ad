"""Insights' rows in the database: households' tariffs and the version of their insights.

* ``tariffs``: the document a ``PUT …/tariff`` stored (validated, normalised by
  :meth:`Tariff.to_json <server.insights.tariff.Tariff.to_json>`) and its ``revision``, which
  every worker compares so that a tariff put through one worker prices the next answer of any
  other at once.
* ``insights_state``: per household the ``version`` of its insights (bumped by the leader's
  refresh when something changed, and by a tariff PUT), when it was last refreshed and why.
  Each worker's announcer reads the versions and tells its open streams (``event: insights``).

Plain ``sqlite3`` over one connection guarded by :attr:`lock` (connections are shared by
greenlets of one worker; SQLite's WAL lets the workers share the file).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from typing import Any

__all__ = ["InsightsState", "StoredTariff", "TariffStore"]


@dataclass(frozen=True)
class StoredTariff:
    household: str
    document: dict[str, Any]
    revision: int
    updated_s: float


class TariffStore:
    def __init__(self, conn: sqlite3.Connection, lock: threading.Lock | None = None) -> None:
        self.conn = conn
        self.lock = lock or threading.Lock()

    def get(self, household: str) -> StoredTariff | None:
        with self.lock:
            row = self.conn.execute(
                "SELECT document, revision, updated_s FROM tariffs WHERE household = ?",
                (household,),
            ).fetchone()
        if row is None:
            return None
        return StoredTariff(household, json.loads(row[0]), int(row[1]), float(row[2]))

    def revision(self, household: str) -> int:
        """The stored revision (0: none stored); one indexed lookup."""
        with self.lock:
            row = self.conn.execute(
                "SELECT revision FROM tariffs WHERE household = ?", (household,)
            ).fetchone()
        return 0 if row is None else int(row[0])

    def put(self, household: str, document: dict[str, Any], now_s: float) -> int:
        """Store ``document`` (already validated); the new revision."""
        text = json.dumps(document, separators=(",", ":"), allow_nan=False)
        with self.lock:
            row = self.conn.execute(
                "INSERT INTO tariffs VALUES (?, ?, 1, ?) ON CONFLICT (household) DO UPDATE SET"
                " document = excluded.document, revision = revision + 1,"
                " updated_s = excluded.updated_s RETURNING revision",
                (household, text, now_s),
            ).fetchone()
        return int(row[0])


class InsightsState:
    def __init__(self, conn: sqlite3.Connection, lock: threading.Lock | None = None) -> None:
        self.conn = conn
        self.lock = lock or threading.Lock()

    def versions(self) -> dict[str, int]:
        with self.lock:
            rows = self.conn.execute("SELECT household, version FROM insights_state").fetchall()
        return {h: int(v) for h, v in rows}

    def rows(self) -> dict[str, tuple[int, str]]:
        """household → (version, reason of the last refresh)."""
        with self.lock:
            rows = self.conn.execute(
                "SELECT household, version, reason FROM insights_state"
            ).fetchall()
        return {h: (int(v), str(r)) for h, v, r in rows}

    def refreshed(self) -> dict[str, float]:
        """When each household was last refreshed [epoch s]."""
        with self.lock:
            rows = self.conn.execute("SELECT household, refreshed_s FROM insights_state").fetchall()
        return {h: float(s) for h, s in rows}

    def record(self, household: str, now_s: float, reason: str, *, changed: bool) -> int:
        """A refresh at ``now_s``; the version (bumped when ``changed``)."""
        with self.lock:
            row = self.conn.execute(
                "INSERT INTO insights_state VALUES (?, ?, ?, ?) ON CONFLICT (household) DO UPDATE"
                " SET version = version + ?, refreshed_s = excluded.refreshed_s,"
                " reason = excluded.reason RETURNING version",
                (household, 1 if changed else 0, now_s, reason, 1 if changed else 0),
            ).fetchone()
        return int(row[0])
