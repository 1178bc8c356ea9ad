"""The privacy routes of issue #15: consent, the user's export, and erasure.

``GET /api/v1/households/{h}/consent``
    each purpose's state (given or not, wording version, when, by whom), the current wording
    version and the log of changes. Read access (:func:`server.auth.require_read`): any member,
    the household's key, an open demo household.
``PUT /api/v1/households/{h}/consent``
    owners only (session and CSRF token): ``{"version": "…", "analytics": true, …}``; the
    version must be the current wording's (``CONSENT_VERSION``), so what was shown is what was
    agreed to. Each change is logged and audited (``consent_changed``).
``GET /api/v1/me/export``
    everything held about the signed-in user (profile, memberships, their audit entries) and
    about each household they own (its settings, consents and their log, devices, keys' ids,
    alerts, control devices, schedules, tariffs, reports' index, audit log, readings' span);
    ``?format=zip`` adds every reading as CSV in a zip archive. Audited (``data_exported``).
``DELETE /api/v1/me``
    erasure: each household the user alone owns is erased everywhere
    (:meth:`server.services.Services.erase_household`: every table, the Redis stream, report
    files, the compatibility set-ups, and the caches of every worker and host, told through
    :class:`server.households.removal.Removals`); their roles elsewhere and their account go; their own audit entries (sign-ins)
    go, and one ``user_erased`` entry records the erasure (user id and counts, nothing else).
"""

from __future__ import annotations

import csv
import io
import json
import time
import zipfile
from typing import Annotated, Any

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, jsonify, request, session
from flask_login import logout_user
from pydantic import ConfigDict, Field

from generator.times import format_ts
from server.accounts.views import _ext, _role_in, _user
from server.alerts.settings import public
from server.api.params import json_body
from server.auth import require_read
from server.errors import InvalidParameter
from server.push.devices import token_ref
from server.services import state
from server.storage.consent import PURPOSES
from server.storage.sealing import settings_context
from server.validation import Body, Flag, expect, parse

__all__ = ["ConsentUpdate", "blueprint"]

blueprint = Blueprint("privacy", __name__, url_prefix="/api/v1")

#: Tables exported per owned household: (table, order); sealed or secret columns are handled
#: below. Readings and rollups are summarised in the JSON (and whole in the zip).
_EXPORTED = (
    ("alerts", "ts_s, id"),
    ("control_devices", "id"),
    ("control_commands", "created_s, id"),
    ("control_schedules", "household"),
    ("control_automations", "household"),
    ("tariffs", "household"),
    ("insights_state", "household"),
    ("reports", "month"),
)


class ConsentUpdate(Body):
    """Consent given (true) or withdrawn (false) per purpose, for the wording version shown."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"version": "2026-12", "collection": True, "analytics": True, "sharing": False}
            ]
        }
    )

    version: Annotated[
        str,
        Field(min_length=1, max_length=40, description="the consent wording's version shown"),
        expect("the version of the consent wording (GET …/consent gives the current one)"),
    ]
    collection: Annotated[
        bool | None, Field(default=None, description="readings are stored"), Flag
    ] = None
    analytics: Annotated[
        bool | None, Field(default=None, description="forecasts and models"), Flag
    ] = None
    recommendations: Annotated[
        bool | None, Field(default=None, description="recommendations"), Flag
    ] = None
    sharing: Annotated[
        bool | None,
        Field(default=None, description="anonymised research data set"),
        Flag,
    ] = None


def _consent_answer(household: str) -> dict[str, Any]:
    gl = state()
    return {
        "household": household,
        "version": gl.consent.version,
        "consents": gl.consent.of_household(household),
        "log": gl.consent.log(household, limit=200),
    }


@blueprint.get("/households/<household>/consent")
def get_consent(household: str):  # noqa: ANN201
    state().households.info(household)  # 404 first
    require_read(household)
    return jsonify(_consent_answer(household))


@blueprint.put("/households/<household>/consent")
def put_consent(household: str):  # noqa: ANN201
    ext = _ext()
    user = _user(write=True, scope="admin")
    _role_in(household, user, ("owner",), "change the consent of")
    body = parse(ConsentUpdate, json_body())
    gl = state()
    if body.version != gl.consent.version:
        raise InvalidParameter(
            f"version: the consent wording is now {gl.consent.version!r}, got {body.version!r}: "
            "show the current wording and send its version"
        )
    choices = {p: getattr(body, p) for p in PURPOSES if getattr(body, p) is not None}
    if not choices:
        raise InvalidParameter(
            f"body: give at least one purpose ({', '.join(PURPOSES)}) as true or false"
        )
    with gl.db.write() as conn:
        changed = gl.consent.set(
            household, choices, user_id=user.id, source="api", version=body.version, conn=conn
        )
        ext.audit.record(
            "consent_changed",
            household=household,
            user_id=user.id,
            detail={"choices": choices, "changed": changed, "version": body.version},
            conn=conn,
        )
    return jsonify(_consent_answer(household))


# -- export -----------------------------------------------------------------------------------
def _rows(conn: Any, table: str, order: str, household: str) -> list[dict[str, Any]]:
    result = conn.execute(
        sa.text(f"SELECT * FROM {table} WHERE household = :h ORDER BY {order}"), {"h": household}
    )
    names = list(result.keys())
    out = []
    for row in result:
        item = dict(zip(names, row, strict=True))
        for key, value in list(item.items()):
            if isinstance(value, str) and value[:1] in "[{":
                try:
                    item[key] = json.loads(value)
                except ValueError:
                    pass
        out.append(item)
    return out


def _household_export(household: str) -> dict[str, Any]:
    gl = state()
    info = gl.keys.get(household)
    out: dict[str, Any] = {
        "household": None
        if info is None
        else {
            "id": info.id,
            "name": info.name,
            "timezone": info.timezone,
            "channels": list(info.channels),
            "created": format_ts(info.created_s),
        },
        "consents": gl.consent.of_household(household),
        "consent_log": gl.consent.log(household, limit=100_000),
        "devices": [
            {"token": token_ref(token), "platform": platform, "registered": format_ts(created)}
            for token, platform, created in gl.devices.described(household)
        ],
        "audit": _ext().audit.of_household(household, limit=100_000),
        "members": _ext().memberships.of_household(household),
    }
    with gl.db.read() as c:
        out["keys"] = [
            {
                "key_id": r[0],
                "created": format_ts(r[1]),
                "revoked": None if r[2] is None else format_ts(r[2]),
            }
            for r in c.execute(
                sa.text(
                    "SELECT key_id, created_s, revoked_s FROM api_keys WHERE household = :h"
                    " ORDER BY created_s, key_id"
                ),
                {"h": household},
            )
        ]
        row = c.execute(
            sa.text("SELECT settings FROM alert_settings WHERE household = :h"), {"h": household}
        ).first()
        for table, order in _EXPORTED:
            out[table] = _rows(c, table, order, household)
        span = c.execute(
            sa.text("SELECT count(*), min(ts_s), max(ts_s) FROM readings WHERE household = :h"),
            {"h": household},
        ).one()
    out["readings"] = {
        "count": int(span[0]),
        "first": None if span[1] is None else format_ts(span[1]),
        "last": None if span[2] is None else format_ts(span[2]),
        "all": "GET /api/v1/me/export?format=zip (readings/<household>.csv)",
    }
    if row is not None:
        doc = json.loads(gl.keyring.open(row[0], settings_context(household)))
        out["alert_settings"] = public(doc)  # the webhook secret stays write-only
    else:
        out["alert_settings"] = None
    return out


def _readings_csv(household: str) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["ts", "channel", "power_kw"])
    with state().db.read() as c:
        for ts_s, channel, power_kw in c.execute(
            sa.text(
                "SELECT ts_s, channel, power_kw FROM readings WHERE household = :h"
                " ORDER BY ts_s, channel"
            ),
            {"h": household},
        ):
            writer.writerow([format_ts(ts_s), channel, "" if power_kw is None else power_kw])
    return buf.getvalue().encode()


@blueprint.get("/me/export")
def export_me():  # noqa: ANN201
    ext = _ext()
    user = _user()
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "zip"):
        raise InvalidParameter(f"format must be json or zip, got {fmt!r}")
    memberships = ext.memberships.of_user(user.id)
    owned = [m["household"] for m in memberships if m["role"] == "owner"]
    document = {
        "exported": format_ts(int(time.time())),
        "user": user.public(),
        "memberships": memberships,
        "audit": ext.audit.of_user(user.id, limit=100_000),
        "households": {h: _household_export(h) for h in owned},
    }
    ext.audit.record("data_exported", user_id=user.id, detail={"households": owned, "as": fmt})
    if fmt == "json":
        response = jsonify(document)
        response.headers["Content-Disposition"] = 'attachment; filename="gridlight-export.json"'
        return response
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("export.json", json.dumps(document, indent=1, default=str))
        for household in owned:
            z.writestr(f"readings/{household}.csv", _readings_csv(household))
    return Response(
        archive.getvalue(),
        mimetype="application/zip",
        headers={"Content-Disposition": 'attachment; filename="gridlight-export.zip"'},
    )


# -- erasure ----------------------------------------------------------------------------------
@blueprint.delete("/me")
def erase_me():  # noqa: ANN201
    ext = _ext()
    user = _user(write=True)
    gl = state()
    erased: list[str] = []
    left: list[str] = []
    for m in ext.memberships.of_user(user.id):
        household = m["household"]
        owners = [x for x in ext.memberships.of_household(household) if x["role"] == "owner"]
        if m["role"] == "owner" and all(o["user_id"] == user.id for o in owners):
            gl.erase_household(household, current_app.config["DATA_DIR"])
            erased.append(household)
        else:
            left.append(household)
    with gl.db.write() as conn:
        conn.execute(
            sa.text("DELETE FROM audit_log WHERE user_id = :u AND household IS NULL"),
            {"u": user.id},
        )
        ext.users.delete(user.id, conn=conn)
        ext.audit.record(
            "user_erased",
            user_id=user.id,
            detail={"households_erased": len(erased), "memberships_removed": len(left)},
            conn=conn,
        )
    logout_user()
    session.clear()
    return jsonify({"erased": True, "households_erased": erased, "memberships_removed": left})
