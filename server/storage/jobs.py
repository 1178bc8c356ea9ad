"""Periodic jobs that must run once per period across every worker and host sharing the
database (retention, alert retention): a row per job holds when it last ran."""

from __future__ import annotations

import sqlalchemy as sa

from server.storage.database import Database

__all__ = ["claim"]

_CLAIM = sa.text(
    "INSERT INTO job_runs (name, last_run_s) VALUES (:name, :now)"
    " ON CONFLICT (name) DO UPDATE SET last_run_s = excluded.last_run_s"
    " WHERE job_runs.last_run_s <= excluded.last_run_s - :every"
)


def claim(db: Database, name: str, now_s: float, every_s: float) -> bool:
    """True for exactly one caller per ``every_s`` seconds of ``name``, whichever process or
    host asks (the upsert's condition is checked under the row's lock on both backends)."""
    with db.write() as conn:
        result = conn.execute(_CLAIM, {"name": name, "now": int(now_s), "every": int(every_s)})
        return result.rowcount == 1
