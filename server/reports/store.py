"""The reports kept under the data directory, their index and the claims of the schedule.

A report is the file ``DATA_DIR/reports/{household}/{yyyy-mm}.pdf`` (written to a temporary
file beside it and moved into place, so a reader never sees half a PDF) and a row of the
``reports`` table: its size, SHA-256 (the ETag of ``GET …/reports/{yyyy-mm}.pdf``), creation
time and headline figures (``summary``: what the next months' cumulative figures add up).

``report_claims`` makes the schedule's work happen once across processes and hosts sharing the
database: :meth:`ReportStore.claim` inserts ``(household, month)`` or, when a claim exists that
never finished and is older than ``ttl_s`` (its process died), takes it over, in one statement;
only the caller that changed the row generates, stores and delivers the report. On PostgreSQL a
concurrent claimer waits for the row's first writer and then re-checks the takeover condition
against the committed row, so two claimers never both win (READ COMMITTED is enough).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from server.storage.database import Database

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
    """The index, the files and the claims (in the installation's database)."""

    def __init__(
        self,
        db: Database,
        data_dir: str | os.PathLike[str],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.data_dir = Path(data_dir)
        self.clock = clock

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
        with self.db.write() as c:
            c.execute(
                sa.text(
                    "INSERT INTO reports (household, month, path, size_bytes, sha256, created_s,"
                    " summary) VALUES (:h, :month, :path, :size, :sha, :created, :summary)"
                    " ON CONFLICT (household, month) DO UPDATE SET path = excluded.path,"
                    " size_bytes = excluded.size_bytes, sha256 = excluded.sha256,"
                    " created_s = excluded.created_s, summary = excluded.summary"
                ),
                {
                    "h": household,
                    "month": month,
                    "path": str(path.relative_to(self.data_dir)),
                    "size": len(pdf),
                    "sha": digest,
                    "created": created,
                    "summary": json.dumps(summary, allow_nan=False),
                },
            )
        return StoredReport(household, month, path, len(pdf), digest, created, summary)

    def _row(self, row: Any) -> StoredReport:
        return StoredReport(
            row[0], row[1], self.data_dir / row[2], int(row[3]), row[4], float(row[5]),
            json.loads(row[6]),
        )  # fmt: skip

    def get(self, household: str, month: str) -> StoredReport | None:
        with self.db.read() as c:
            row = c.execute(
                sa.text(f"SELECT {_COLUMNS} FROM reports WHERE household = :h AND month = :month"),
                {"h": household, "month": month},
            ).first()
        return None if row is None else self._row(row)

    def list(self, household: str) -> list[StoredReport]:
        """The household's reports, newest month first."""
        with self.db.read() as c:
            rows = c.execute(
                sa.text(f"SELECT {_COLUMNS} FROM reports WHERE household = :h ORDER BY month DESC"),
                {"h": household},
            ).all()
        return [self._row(r) for r in rows]

    def months(self, household: str) -> set[str]:
        with self.db.read() as c:
            rows = c.execute(
                sa.text("SELECT month FROM reports WHERE household = :h"), {"h": household}
            ).all()
        return {r[0] for r in rows}

    def summaries(self, household: str) -> dict[str, dict[str, Any]]:
        """Month → headline figures of every indexed report of the household."""
        return {r.month: r.summary for r in self.list(household)}

    # -- claims --------------------------------------------------------------------------------
    def claim(self, household: str, month: str, owner: str, ttl_s: float) -> bool:
        """True for exactly one caller per ``(household, month)`` across every process sharing
        the database; a claim left unfinished for ``ttl_s`` may be taken over."""
        now = self.clock()
        with self.db.write() as c:
            row = c.execute(
                sa.text(
                    "INSERT INTO report_claims (household, month, owner, claimed_s)"
                    " VALUES (:h, :month, :owner, :now) ON CONFLICT (household, month) DO UPDATE"
                    " SET owner = excluded.owner, claimed_s = excluded.claimed_s"
                    " WHERE report_claims.done_s IS NULL AND report_claims.claimed_s < :stale"
                    " RETURNING owner"
                ),
                {"h": household, "month": month, "owner": owner, "now": now,
                 "stale": now - ttl_s},
            ).first()  # fmt: skip
        return row is not None

    def finish(self, household: str, month: str, owner: str) -> None:
        with self.db.write() as c:
            c.execute(
                sa.text(
                    "UPDATE report_claims SET done_s = :now WHERE household = :h"
                    " AND month = :month AND owner = :owner"
                ),
                {"now": self.clock(), "h": household, "month": month, "owner": owner},
            )


_COLUMNS = "household, month, path, size_bytes, sha256, created_s, summary"
