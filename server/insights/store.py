"""Insights' rows in the database: households' tariffs and the version of their insights.

* ``tariffs``: the document a ``PUT …/tariff`` stored (validated, normalised by
  :meth:`Tariff.to_json <server.insights.tariff.Tariff.to_json>`) and its ``revision``, which
  every worker compares so that a tariff put through one worker prices the next answer of any
  other at once.
* ``insights_state``: per household the ``version`` of its insights (bumped by the leader's
  refresh when something changed, and by a tariff PUT), when it was last refreshed and why.
  Each worker's announcer reads the versions and tells its open streams (``event: insights``).

Both live in the installation's database (:class:`~server.storage.database.Database`, SQLite or
PostgreSQL), shared by every worker and host; each call is one short transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from server.storage.database import Database

__all__ = ["InsightsState", "StoredTariff", "TariffStore"]


@dataclass(frozen=True)
class StoredTariff:
    household: str
    document: dict[str, Any]
    revision: int
    updated_s: float


class TariffStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, household: str) -> StoredTariff | None:
        with self.db.read() as c:
            row = c.execute(
                sa.text("SELECT document, revision, updated_s FROM tariffs WHERE household = :h"),
                {"h": household},
            ).first()
        if row is None:
            return None
        return StoredTariff(household, json.loads(row[0]), int(row[1]), float(row[2]))

    def revision(self, household: str) -> int:
        """The stored revision (0: none stored); one indexed lookup."""
        with self.db.read() as c:
            row = c.execute(
                sa.text("SELECT revision FROM tariffs WHERE household = :h"), {"h": household}
            ).first()
        return 0 if row is None else int(row[0])

    def put(self, household: str, document: dict[str, Any], now_s: float) -> int:
        """Store ``document`` (already validated); the new revision (concurrent puts each get
        their own: the upsert increments under the row's lock)."""
        text = json.dumps(document, separators=(",", ":"), allow_nan=False)
        with self.db.write() as c:
            row = c.execute(
                sa.text(
                    "INSERT INTO tariffs (household, document, revision, updated_s)"
                    " VALUES (:h, :doc, 1, :now) ON CONFLICT (household) DO UPDATE SET"
                    " document = excluded.document, revision = tariffs.revision + 1,"
                    " updated_s = excluded.updated_s RETURNING revision"
                ),
                {"h": household, "doc": text, "now": now_s},
            ).one()
        return int(row[0])


class InsightsState:
    def __init__(self, db: Database) -> None:
        self.db = db

    def versions(self) -> dict[str, int]:
        with self.db.read() as c:
            rows = c.execute(sa.text("SELECT household, version FROM insights_state")).all()
        return {h: int(v) for h, v in rows}

    def rows(self) -> dict[str, tuple[int, str]]:
        """household → (version, reason of the last refresh)."""
        with self.db.read() as c:
            rows = c.execute(sa.text("SELECT household, version, reason FROM insights_state")).all()
        return {h: (int(v), str(r)) for h, v, r in rows}

    def refreshed(self) -> dict[str, float]:
        """When each household was last refreshed [epoch s]."""
        with self.db.read() as c:
            rows = c.execute(sa.text("SELECT household, refreshed_s FROM insights_state")).all()
        return {h: float(s) for h, s in rows}

    def record(self, household: str, now_s: float, reason: str, *, changed: bool) -> int:
        """A refresh at ``now_s``; the version (bumped when ``changed``)."""
        bump = 1 if changed else 0
        with self.db.write() as c:
            row = c.execute(
                sa.text(
                    "INSERT INTO insights_state (household, version, refreshed_s, reason)"
                    " VALUES (:h, :bump, :now, :reason) ON CONFLICT (household) DO UPDATE"
                    " SET version = insights_state.version + :bump,"
                    " refreshed_s = excluded.refreshed_s, reason = excluded.reason"
                    " RETURNING version"
                ),
                {"h": household, "bump": bump, "now": now_s, "reason": reason},
            ).one()
        return int(row[0])
