"""``GET|PUT /api/v1/households/{h}/alert-settings`` and ``GET /api/v1/households/{h}/alerts``.

* Settings hold addresses and phone numbers: reading and writing them needs the household's API
  key (``Authorization: Bearer ...``, :class:`server.storage.KeyStore`), demo mode included.
* The log shows rules, levels, values and each delivery's channel, masked target, status and
  error, never a full address: in demo mode the demo households' logs are readable without a key
  (as their other read routes), any other household needs its key.

``?from=`` and ``?to=`` (ISO 8601 or epoch seconds) bound the alerts' time; ``?limit=`` (1-500,
default 50); ``?cursor=`` is the ``next_cursor`` of the previous page.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from generator.times import format_ts, parse_ts
from server.alerts.settings import merge, public, validate
from server.errors import InvalidParameter, UnknownHousehold

__all__ = ["blueprint"]

blueprint = Blueprint("alerts", __name__, url_prefix="/api/v1/households")


def _ext():  # noqa: ANN202
    return current_app.extensions["alerts"]


def _info(household: str):  # noqa: ANN202
    gl = current_app.extensions["gridlight"]
    try:
        return gl.households.info(household)
    except Exception as err:
        raise UnknownHousehold(f"unknown household {household!r}") from err


def _require_key(household: str) -> None:
    from server.auth import require_key

    require_key(household)


def _time(name: str) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        value_s = int(raw)
    except ValueError:
        try:
            value_s = parse_ts(raw)
        except ValueError as err:
            raise InvalidParameter(
                f"{name}: {raw!r} has no time zone (add Z or +hh:mm)"
                if "time zone" in str(err)
                else f"{name}: expected ISO 8601 (2026-11-22T06:00:00Z) or epoch seconds, got {raw!r}"
            ) from None
    # bounded: 99999999999999999999 overflowed SQLite (a 500); years before 1000 were echoed
    # back without their leading zero (not ISO 8601)
    if not 0 <= value_s <= 253_402_300_799:
        raise InvalidParameter(f"{name}: {raw!r} is outside the years 1970-9999")
    return value_s


@blueprint.get("/<household>/alert-settings")
def get_settings(household: str):  # noqa: ANN201
    info = _info(household)
    _require_key(household)
    ext = _ext()
    doc = ext.settings_doc(info)
    return jsonify({"household": household, "settings": public(doc)})


@blueprint.put("/<household>/alert-settings")
def put_settings(household: str):  # noqa: ANN201
    info = _info(household)
    _require_key(household)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidParameter("body: expected a JSON object of alert settings")
    ext = _ext()
    current = ext.settings_doc(info)
    hook = (
        body.get("channels", {}).get("webhook") if isinstance(body.get("channels"), dict) else None
    )
    if isinstance(hook, dict):  # a GET's document sent back keeps the write-only secret
        hook.pop("secret_set", None)
        if hook.get("secret") is None:
            hook.pop("secret", None)
    doc = validate(merge(current, body), tuple(info.channels))
    ext.settings.put(household, doc)
    return jsonify({"household": household, "settings": public(doc)})


@blueprint.get("/<household>/alerts")
def list_alerts(household: str):  # noqa: ANN201
    from server.auth import require_read

    _info(household)
    require_read(household)
    from_s, to_s = _time("from"), _time("to")
    if from_s is not None and to_s is not None and from_s >= to_s:
        raise InvalidParameter(f"from ({from_s}) must be before to ({to_s})")
    raw_limit = request.args.get("limit", "50")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 500:
        raise InvalidParameter(f"limit: expected a whole number in [1, 500], got {raw_limit!r}")
    alerts, cursor = _ext().log.page(
        household, from_s=from_s, to_s=to_s, cursor=request.args.get("cursor"), limit=int(raw_limit)
    )
    return jsonify(
        {
            "household": household,
            "from": None if from_s is None else format_ts(from_s),
            "to": None if to_s is None else format_ts(to_s),
            "alerts": alerts,
            "next_cursor": cursor,
        }
    )
