"""The alert log in SQLite: alerts, every delivery attempt, keyset pages and retention.

``alerts`` holds one row per alert, recovery notice or quiet-hours digest (``values`` as JSON),
``alert_deliveries`` one row per delivery *attempt* (channel, target, attempt number, status
``sent`` / ``failed`` / ``skipped``, error, time), ``alert_digests`` one claim per household and
ended quiet period (:meth:`AlertLog.claim_digest`: its digest is sent once across processes).
Pages are newest first, keyed on ``(ts_s, id)``: the cursor names the last row of the previous
page, so alerts logged meanwhile never shift or repeat a page. Rows are kept ``RETENTION_S``
(about six months) and purged by :meth:`AlertLog.purge`.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from generator.times import format_ts
from server.alerts.rules import Alert
from server.errors import InvalidParameter

__all__ = ["RETENTION_S", "AlertLog", "Attempt", "decode_cursor", "encode_cursor"]

#: Alerts are kept this long (183 days: six months). [s]
RETENTION_S = 183 * 86_400


@dataclass(frozen=True)
class Attempt:
    """One delivery attempt of one alert on one channel."""

    channel: str
    target: str
    attempt: int
    status: str  # "sent", "failed" or "skipped"
    error: str | None
    ts_s: float


def encode_cursor(ts_s: int, alert_id: int) -> str:
    return base64.urlsafe_b64encode(f"{ts_s}:{alert_id}".encode()).decode().rstrip("=")


def decode_cursor(raw: str) -> tuple[int, int]:
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        ts_s, _, alert_id = text.partition(":")
        return int(ts_s), int(alert_id)
    except (ValueError, UnicodeDecodeError):
        raise InvalidParameter(
            f"cursor: {raw[:40]!r} is not a cursor this API returned (use next_cursor)"
        ) from None


class AlertLog:
    """Writes and reads the log. One connection shared by threads, serialised by a lock."""

    def __init__(self, conn: sqlite3.Connection, *, clock: Callable[[], float] = time.time) -> None:
        self.conn = conn
        self.clock = clock
        self.lock = threading.Lock()

    def add(self, alert: Alert) -> int:
        with self.lock:
            return self._insert(alert)

    def _insert(self, alert: Alert) -> int:
        cur = self.conn.execute(
            "INSERT INTO alerts (household, rule, kind, level, ts_s, created_s, message,"
            " values_json, quiet) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                alert.household,
                alert.rule,
                alert.kind,
                alert.level,
                int(alert.ts_s),
                self.clock(),
                alert.message,
                json.dumps(alert.values, allow_nan=False),
                int(alert.quiet),
            ),
        )
        return int(cur.lastrowid or 0)

    def claim_digest(
        self,
        household: str,
        start_s: int,
        end_s: int,
        build: Callable[[list[dict[str, Any]]], Alert | None],
    ) -> tuple[int, Alert] | None:
        """Claim the digest of one quiet period ``[start_s, end_s)`` and log it, in one
        transaction: ``(alert_id, digest)``, or None when the period was claimed before (by this
        process or another) or ``build`` found nothing to send.

        The claim is the row ``(household, end_s)`` of ``alert_digests``; ``build`` gets the
        period's quiet rows (digests excluded), oldest first. A process that dies after this
        commits leaves the digest logged without deliveries, never sent twice.
        """
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                cur = self.conn.execute(
                    "INSERT OR IGNORE INTO alert_digests (household, period_end_s,"
                    " period_start_s, claimed_s) VALUES (?, ?, ?, ?)",
                    (household, int(end_s), int(start_s), self.clock()),
                )
                if cur.rowcount != 1:
                    self.conn.execute("ROLLBACK")
                    return None
                names = ("id", "rule", "kind", "level", "ts_s", "message")
                rows = [
                    dict(zip(names, r, strict=True))
                    for r in self.conn.execute(
                        "SELECT id, rule, kind, level, ts_s, message FROM alerts"
                        " WHERE household = ? AND quiet = 1 AND rule != 'digest'"
                        " AND ts_s >= ? AND ts_s < ? ORDER BY ts_s, id",
                        (household, int(start_s), int(end_s)),
                    )
                ]
                digest = build(rows)
                alert_id = None if digest is None else self._insert(digest)
                if alert_id is not None:
                    self.conn.execute(
                        "UPDATE alert_digests SET alert_id = ? WHERE household = ?"
                        " AND period_end_s = ?",
                        (alert_id, household, int(end_s)),
                    )
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
        return None if digest is None or alert_id is None else (alert_id, digest)

    def record(self, alert_id: int, attempt: Attempt) -> None:
        with self.lock:
            self.conn.execute(
                "INSERT INTO alert_deliveries (alert_id, channel, target, attempt, status, error,"
                " ts_s) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    alert_id,
                    attempt.channel,
                    attempt.target,
                    attempt.attempt,
                    attempt.status,
                    attempt.error,
                    attempt.ts_s,
                ),
            )

    def page(
        self,
        household: str,
        *,
        from_s: int | None = None,
        to_s: int | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Newest first; ``(alerts, next_cursor)`` with ``next_cursor`` None on the last page."""
        where, args = ["household = ?"], [household]
        if from_s is not None:
            where.append("ts_s >= ?")
            args.append(from_s)
        if to_s is not None:
            where.append("ts_s < ?")
            args.append(to_s)
        if cursor:
            ts_s, alert_id = decode_cursor(cursor)
            where.append("(ts_s < ? OR (ts_s = ? AND id < ?))")
            args += [ts_s, ts_s, alert_id]
        with self.lock:
            rows = self.conn.execute(
                "SELECT id, rule, kind, level, ts_s, created_s, message, values_json, quiet"
                f" FROM alerts WHERE {' AND '.join(where)} ORDER BY ts_s DESC, id DESC LIMIT ?",
                (*args, limit + 1),
            ).fetchall()
            more = len(rows) > limit
            rows = rows[:limit]
            ids = [r[0] for r in rows]
            deliveries: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
            if ids:
                marks = ",".join("?" * len(ids))
                for d in self.conn.execute(
                    "SELECT alert_id, channel, target, attempt, status, error, ts_s"
                    f" FROM alert_deliveries WHERE alert_id IN ({marks}) ORDER BY id",
                    ids,
                ):
                    deliveries[d[0]].append(
                        {
                            "channel": d[1],
                            "target": d[2],
                            "attempt": d[3],
                            "status": d[4],
                            "error": d[5],
                            "at": format_ts(int(d[6])),
                        }
                    )
        alerts = [
            {
                "id": r[0],
                "rule": r[1],
                "kind": r[2],
                "level": r[3],
                "ts": format_ts(r[4]),
                "logged_at": format_ts(int(r[5])),
                "message": r[6],
                "values": json.loads(r[7]),
                "quiet_hours": bool(r[8]),
                "deliveries": deliveries[r[0]],
            }
            for r in rows
        ]
        next_cursor = encode_cursor(rows[-1][4], rows[-1][0]) if more and rows else None
        return alerts, next_cursor

    def attempts(self, alert_id: int) -> list[Attempt]:
        with self.lock:
            rows = self.conn.execute(
                "SELECT channel, target, attempt, status, error, ts_s FROM alert_deliveries"
                " WHERE alert_id = ? ORDER BY id",
                (alert_id,),
            ).fetchall()
        return [Attempt(*r) for r in rows]

    def purge(self, now_s: float | None = None, retention_s: int = RETENTION_S) -> int:
        """Delete alerts (and their deliveries) older than ``retention_s``; the alerts deleted."""
        cutoff = int((self.clock() if now_s is None else now_s) - retention_s)
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                self.conn.execute("DELETE FROM alert_digests WHERE period_end_s < ?", (cutoff,))
                self.conn.execute(
                    "DELETE FROM alert_deliveries WHERE alert_id IN"
                    " (SELECT id FROM alerts WHERE ts_s < ?)",
                    (cutoff,),
                )
                cur = self.conn.execute("DELETE FROM alerts WHERE ts_s < ?", (cutoff,))
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
        return cur.rowcount
