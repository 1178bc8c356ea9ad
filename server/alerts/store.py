"""The alert log in the installation's database: alerts, every delivery attempt, keyset pages and retention.

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
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from generator.times import format_ts
from server.alerts.rules import Alert
from server.errors import InvalidParameter
from server.storage.database import Database

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


_INSERT_ALERT = sa.text(
    "INSERT INTO alerts (household, rule, kind, level, ts_s, created_s, message, values_json,"
    " quiet) VALUES (:household, :rule, :kind, :level, :ts_s, :created_s, :message, :values,"
    " :quiet) RETURNING id"
)


class AlertLog:
    """Writes and reads the log; each call is its own transaction."""

    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.clock = clock

    def add(self, alert: Alert) -> int:
        with self.db.write() as conn:
            return self._insert(conn, alert)

    def _insert(self, conn: Connection, alert: Alert) -> int:
        return int(
            conn.execute(
                _INSERT_ALERT,
                {
                    "household": alert.household,
                    "rule": alert.rule,
                    "kind": alert.kind,
                    "level": alert.level,
                    "ts_s": int(alert.ts_s),
                    "created_s": float(self.clock()),
                    "message": alert.message,
                    "values": json.dumps(alert.values, allow_nan=False),
                    "quiet": int(alert.quiet),
                },
            ).scalar_one()
        )

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

        The claim is the row ``(household, end_s)`` of ``alert_digests``, inserted unless it
        exists: of two workers or hosts claiming at once, the second waits for the first's
        transaction and finds the row. ``build`` gets the period's quiet rows (digests
        excluded), oldest first. A process that dies after this commits leaves the digest
        logged without deliveries, never sent twice.
        """
        with self.db.write() as conn:
            claimed = conn.execute(
                sa.text(
                    "INSERT INTO alert_digests (household, period_end_s, period_start_s, claimed_s)"
                    " VALUES (:household, :end_s, :start_s, :now)"
                    " ON CONFLICT (household, period_end_s) DO NOTHING RETURNING household"
                ),
                {
                    "household": household,
                    "end_s": int(end_s),
                    "start_s": int(start_s),
                    "now": float(self.clock()),
                },
            ).first()
            if claimed is None:
                return None
            names = ("id", "rule", "kind", "level", "ts_s", "message")
            rows = [
                dict(zip(names, r, strict=True))
                for r in conn.execute(
                    sa.text(
                        "SELECT id, rule, kind, level, ts_s, message FROM alerts"
                        " WHERE household = :household AND quiet = 1 AND rule != 'digest'"
                        " AND ts_s >= :start_s AND ts_s < :end_s ORDER BY ts_s, id"
                    ),
                    {"household": household, "start_s": int(start_s), "end_s": int(end_s)},
                )
            ]
            digest = build(rows)
            if digest is None:
                return None
            alert_id = self._insert(conn, digest)
            conn.execute(
                sa.text(
                    "UPDATE alert_digests SET alert_id = :alert_id"
                    " WHERE household = :household AND period_end_s = :end_s"
                ),
                {"alert_id": alert_id, "household": household, "end_s": int(end_s)},
            )
        return alert_id, digest

    def record(self, alert_id: int, attempt: Attempt) -> None:
        with self.db.write() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO alert_deliveries (alert_id, channel, target, attempt, status,"
                    " error, ts_s) VALUES (:alert_id, :channel, :target, :attempt, :status,"
                    " :error, :ts_s)"
                ),
                {
                    "alert_id": alert_id,
                    "channel": attempt.channel,
                    "target": attempt.target,
                    "attempt": attempt.attempt,
                    "status": attempt.status,
                    "error": attempt.error,
                    "ts_s": attempt.ts_s,
                },
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
        where = ["household = :household"]
        args: dict[str, Any] = {"household": household, "limit": limit + 1}
        if from_s is not None:
            where.append("ts_s >= :from_s")
            args["from_s"] = from_s
        if to_s is not None:
            where.append("ts_s < :to_s")
            args["to_s"] = to_s
        if cursor:
            args["cursor_ts"], args["cursor_id"] = decode_cursor(cursor)
            where.append("(ts_s < :cursor_ts OR (ts_s = :cursor_ts AND id < :cursor_id))")
        with self.db.read() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT id, rule, kind, level, ts_s, created_s, message, values_json, quiet"
                    f" FROM alerts WHERE {' AND '.join(where)}"
                    " ORDER BY ts_s DESC, id DESC LIMIT :limit"
                ),
                args,
            ).all()
            more = len(rows) > limit
            rows = rows[:limit]
            ids = [r[0] for r in rows]
            deliveries: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
            if ids:
                found = conn.execute(
                    sa.text(
                        "SELECT alert_id, channel, target, attempt, status, error, ts_s"
                        " FROM alert_deliveries WHERE alert_id IN :ids ORDER BY id"
                    ).bindparams(sa.bindparam("ids", expanding=True)),
                    {"ids": ids},
                )
                for d in found:
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
        with self.db.read() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT channel, target, attempt, status, error, ts_s FROM alert_deliveries"
                    " WHERE alert_id = :alert_id ORDER BY id"
                ),
                {"alert_id": alert_id},
            ).all()
        return [Attempt(*r) for r in rows]

    def purge(self, now_s: float | None = None, retention_s: int = RETENTION_S) -> int:
        """Delete alerts (and their deliveries) older than ``retention_s``; the alerts deleted."""
        cutoff = int((self.clock() if now_s is None else now_s) - retention_s)
        with self.db.write() as conn:
            conn.execute(
                sa.text("DELETE FROM alert_digests WHERE period_end_s < :cutoff"),
                {"cutoff": cutoff},
            )
            conn.execute(
                sa.text(
                    "DELETE FROM alert_deliveries WHERE alert_id IN"
                    " (SELECT id FROM alerts WHERE ts_s < :cutoff)"
                ),
                {"cutoff": cutoff},
            )
            result = conn.execute(
                sa.text("DELETE FROM alerts WHERE ts_s < :cutoff"), {"cutoff": cutoff}
            )
            return int(result.rowcount)
