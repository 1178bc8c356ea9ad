"""The reports kept under the data directory, their index and the claims of the schedule.

A report is the file ``DATA_DIR/reports/{household}/{yyyy-mm}.pdf`` (written to a temporary
file beside it and moved into place, so a reader never sees half a PDF) and a row of the
``reports`` table: its size, SHA-256 (the ETag of ``GET …/reports/{yyyy-mm}.pdf``), creation
time and headline figures (``summary``: what the next months' cumulative figures add up).

``report_claims`` makes the schedule's work happen once across processes and hosts sharing the
database: :meth:`ReportStore.claim` inserts ``(household, month)`` or, when a claim exists that
never finished and is older than ``ttl_s`` (its process died), takes it over, in one statement;
only the caller that changed the row generates, stores and delivers the report.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["MONTH_RE", "ReportStore", "StoredReport", "report_path"]

MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
REPORTS_DIR = "reports"


@dataclass(frozen=True)
class StoredReport:
    household: str
    month: str
    path: Path  # absolute
    size_bytes: int
    sha256: str
    created_s: float
    summary: dict[str, Any]


def report_path(data_dir: str | os.PathLike[str], household: str, month: str) -> Path:
    """Where the PDF of ``household``'s ``month`` is kept."""
    return Path(data_dir) / REPORTS_DIR / household / f"{month}.pdf"


class ReportStore:
    """The index, the files and the claims; one connection shared by threads behind a lock."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        data_dir: str | os.PathLike[str],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.conn = conn
        self.data_dir = Path(data_dir)
        self.clock = clock
        self.lock = threading.Lock()

    # -- the index -----------------------------------------------------------------------------
    def save(self, household: str, month: str, pdf: bytes, summary: dict[str, Any]) -> StoredReport:
        """Write the PDF (atomically) and index it, replacing an earlier one of the month."""
        path = report_path(self.data_dir, household, month)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(pdf)
        os.replace(tmp, path)
        digest = hashlib.sha256(pdf).hexdigest()
        created = self.clock()
        with self.lock:
            self.conn.execute(
                "INSERT OR REPLACE INTO reports (household, month, path, size_bytes, sha256,"
                " created_s, summary) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    household,
                    month,
                    str(path.relative_to(self.data_dir)),
                    len(pdf),
                    digest,
                    created,
                    json.dumps(summary, allow_nan=False),
                ),
            )
        return StoredReport(household, month, path, len(pdf), digest, created, summary)

    def _row(self, row: tuple) -> StoredReport:
        return StoredReport(
            row[0], row[1], self.data_dir / row[2], row[3], row[4], row[5], json.loads(row[6])
        )

    def get(self, household: str, month: str) -> StoredReport | None:
        with self.lock:
            row = self.conn.execute(
                "SELECT household, month, path, size_bytes, sha256, created_s, summary"
                " FROM reports WHERE household = ? AND month = ?",
                (household, month),
            ).fetchone()
        return None if row is None else self._row(row)

    def list(self, household: str) -> list[StoredReport]:
        """The household's reports, newest month first."""
        with self.lock:
            rows = self.conn.execute(
                "SELECT household, month, path, size_bytes, sha256, created_s, summary"
                " FROM reports WHERE household = ? ORDER BY month DESC",
                (household,),
            ).fetchall()
        return [self._row(r) for r in rows]

    def months(self, household: str) -> set[str]:
        with self.lock:
            rows = self.conn.execute(
                "SELECT month FROM reports WHERE household = ?", (household,)
            ).fetchall()
        return {r[0] for r in rows}

    def summaries(self, household: str) -> dict[str, dict[str, Any]]:
        """Month → headline figures of every indexed report of the household."""
        return {r.month: r.summary for r in self.list(household)}

    # -- claims --------------------------------------------------------------------------------
    def claim(self, household: str, month: str, owner: str, ttl_s: float) -> bool:
        """True for exactly one caller per ``(household, month)`` across every process sharing
        the database; a claim left unfinished for ``ttl_s`` may be taken over."""
        now = self.clock()
        with self.lock:
            cur = self.conn.execute(
                "INSERT INTO report_claims (household, month, owner, claimed_s) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (household, month) DO UPDATE SET owner = excluded.owner,"
                " claimed_s = excluded.claimed_s"
                " WHERE report_claims.done_s IS NULL AND report_claims.claimed_s < ?",
                (household, month, owner, now, now - ttl_s),
            )
        return cur.rowcount == 1

    def finish(self, household: str, month: str, owner: str) -> None:
        with self.lock:
            self.conn.execute(
                "UPDATE report_claims SET done_s = ? WHERE household = ? AND month = ?"
                " AND owner = ?",
                (self.clock(), household, month, owner),
            )
