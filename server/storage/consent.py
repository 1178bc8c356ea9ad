"""Consent per household and purpose, with the wording's version, who gave it and when, and a
log of every change.

Purposes: ``collection`` (readings are stored: without it ingest answers 403
``consent_required`` and stores nothing), ``analytics`` (forecasts and the models fitted on the
household's history), ``recommendations`` (the insights' recommendations and their refresh),
``sharing`` (the household's readings may go, anonymised, into the research data set of
``python -m server export anonymized``).

Defaults, when a household has no row for a purpose (:data:`DEFAULTS`): households registered
by the operator (``python -m server households add``, and every household made before consent
was recorded) are the operator's meters, so ``collection``, ``analytics`` and
``recommendations`` hold and ``sharing`` does not. ``POST /api/v1/households`` records, for
the owner who creates it, ``collection`` given (they create it to send readings) and the three
others refused until they give them (``PUT …/consent``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from generator.times import format_ts
from server.storage.database import Database

__all__ = ["CREATED", "DEFAULTS", "PURPOSES", "ConsentStore"]

PURPOSES = ("collection", "analytics", "recommendations", "sharing")
#: A purpose without a row: the operator's households (see the module doc).
DEFAULTS = {"collection": True, "analytics": True, "recommendations": True, "sharing": False}
#: What a household created over HTTP starts with (its creating owner's choice for collection).
CREATED = {"collection": True, "analytics": False, "recommendations": False, "sharing": False}


class ConsentStore:
    def __init__(
        self, db: Database, *, version: str, clock: Callable[[], float] = time.time
    ) -> None:
        self.db = db
        self.version = version
        self.clock = clock

    def granted(self, household: str, purpose: str) -> bool:
        with self.db.read() as c:
            row = c.execute(
                sa.text("SELECT granted FROM consents WHERE household = :h AND purpose = :p"),
                {"h": household, "p": purpose},
            ).first()
        return DEFAULTS[purpose] if row is None else bool(row[0])

    def refusal(self, household: str, purpose: str, what: str) -> str | None:
        """Why a request needing ``purpose`` is refused (the message of
        :class:`server.errors.ConsentRequired`), or ``None`` when it is granted."""
        if self.granted(household, purpose):
            return None
        return (
            f"household {household!r} has not given consent to {purpose}, so {what}: its "
            f"owner gives it with PUT /api/v1/households/{household}/consent"
        )

    def without(self, purpose: str, households: list[str]) -> set[str]:
        """Those of ``households`` for which ``purpose`` is not granted."""
        with self.db.read() as c:
            rows = dict(
                c.execute(
                    sa.text("SELECT household, granted FROM consents WHERE purpose = :p"),
                    {"p": purpose},
                ).all()
            )
        return {h for h in households if not bool(rows.get(h, DEFAULTS[purpose]))}

    def of_household(self, household: str) -> dict[str, Any]:
        """Each purpose: ``granted``, ``version``, ``updated`` and ``by`` (``None``: the default)."""
        with self.db.read() as c:
            rows = {
                r[0]: r
                for r in c.execute(
                    sa.text(
                        "SELECT purpose, granted, version, user_id, ts_s FROM consents"
                        " WHERE household = :h"
                    ),
                    {"h": household},
                ).all()
            }
        out: dict[str, Any] = {}
        for purpose in PURPOSES:
            r = rows.get(purpose)
            out[purpose] = (
                {"granted": DEFAULTS[purpose], "version": None, "updated": None, "by": None}
                if r is None
                else {
                    "granted": bool(r[1]),
                    "version": r[2],
                    "updated": format_ts(r[4]),
                    "by": None if r[3] is None else int(r[3]),
                }
            )
        return out

    def set(
        self,
        household: str,
        choices: Mapping[str, bool],
        *,
        user_id: int | None,
        source: str,
        version: str | None = None,
        conn: Connection | None = None,
    ) -> list[str]:
        """Record ``choices`` (purpose → given) and log each change; the purposes that changed.
        With ``conn``, inside that transaction."""
        if conn is None:
            with self.db.write() as c:
                return self.set(
                    household, choices, user_id=user_id, source=source, version=version, conn=c
                )
        now = float(self.clock())
        version = version or self.version
        current = dict(
            conn.execute(
                sa.text("SELECT purpose, granted FROM consents WHERE household = :h"),
                {"h": household},
            ).all()
        )
        changed = []
        for purpose, given in choices.items():
            if purpose not in PURPOSES:
                raise ValueError(f"unknown consent purpose {purpose!r}")
            params = {
                "h": household,
                "p": purpose,
                "g": int(bool(given)),
                "v": version,
                "u": user_id,
                "ts": now,
                "src": source,
            }
            conn.execute(
                sa.text(
                    "INSERT INTO consents (household, purpose, granted, version, user_id, ts_s)"
                    " VALUES (:h, :p, :g, :v, :u, :ts) ON CONFLICT (household, purpose) DO UPDATE"
                    " SET granted = excluded.granted, version = excluded.version,"
                    " user_id = excluded.user_id, ts_s = excluded.ts_s"
                ),
                params,
            )
            conn.execute(
                sa.text(
                    "INSERT INTO consent_log (household, purpose, granted, version, user_id,"
                    " source, ts_s) VALUES (:h, :p, :g, :v, :u, :src, :ts)"
                ),
                params,
            )
            if purpose not in current or bool(current[purpose]) != bool(given):
                changed.append(purpose)
        return changed

    def log(self, household: str, *, limit: int = 1000) -> list[dict[str, Any]]:
        """The household's consent changes, newest first."""
        with self.db.read() as c:
            rows = c.execute(
                sa.text(
                    "SELECT purpose, granted, version, user_id, source, ts_s FROM consent_log"
                    " WHERE household = :h ORDER BY ts_s DESC, id DESC LIMIT :limit"
                ),
                {"h": household, "limit": limit},
            ).all()
        return [
            {
                "purpose": r[0],
                "granted": bool(r[1]),
                "version": r[2],
                "by": None if r[3] is None else int(r[3]),
                "source": r[4],
                "ts": format_ts(r[5]),
            }
            for r in rows
        ]
