"""A household's alert settings: the JSON document, its validation and its SQLite row.

The document (``GET|PUT /api/v1/households/{h}/alert-settings``)::

    {"enabled": true, "timezone": "Asia/Kolkata",
     "quiet_hours": {"start": "22:00", "end": "07:00"},          # or null; local time, then
                                                                   # a digest (server.alerts.digest)
     "cooldown_min": 30, "notify_recovery": true,
     "rules": {"spike":   {"enabled": true, "channels": ["Overall"], "threshold": 2.0},
               "level":   {"enabled": true, "min_level": "red", "intervals": 3},
               "offline": {"enabled": true, "after_min": 15}},
     "channels": {"push":    {"enabled": true},
                  "email":   {"enabled": false, "to": ["owner@example.org"]},
                  "sms":     {"enabled": false, "to": ["+15551234567"]},
                  "webhook": {"enabled": false, "url": "https://...", "secret": "..."}}}

A PUT is merged over the current document (objects key by key, so ``{"cooldown_min": 10}``
changes only that) and the result validated whole; an unknown key or a bad value is a 400 naming
its path (``rules.spike.threshold``). The webhook secret is write-only: reads show
``"secret": null, "secret_set": true``; a PUT without ``secret`` keeps the stored one.
"""

from __future__ import annotations

import copy
import json
import math
import re
import sqlite3
import time
from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from server.alerts.rules import RuleSettings
from server.errors import InvalidParameter

__all__ = ["CHANNELS", "SettingsStore", "default_settings", "merge", "rule_settings", "validate"]

CHANNELS: tuple[str, ...] = ("push", "email", "sms", "webhook")
MAX_RECIPIENTS = 5
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def default_settings(timezone: str = "UTC", channels: tuple[str, ...] = ("Overall",)) -> dict:
    spike_channels = ["Overall"] if "Overall" in channels or not channels else [channels[0]]
    return {
        "enabled": True,
        "timezone": timezone,
        "quiet_hours": None,
        "cooldown_min": 30,
        "notify_recovery": True,
        "rules": {
            "spike": {"enabled": True, "channels": spike_channels, "threshold": 2.0},
            "level": {"enabled": True, "min_level": "red", "intervals": 3},
            "offline": {"enabled": True, "after_min": 15},
        },
        "channels": {
            "push": {"enabled": True},
            "email": {"enabled": False, "to": []},
            "sms": {"enabled": False, "to": []},
            "webhook": {"enabled": False, "url": None, "secret": None},
        },
    }


def merge(base: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """``patch`` over ``base``, objects merged key by key (lists and values replaced)."""
    out = copy.deepcopy(dict(base))
    for key, value in patch.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _bad(path: str, value: Any, expected: str) -> InvalidParameter:
    return InvalidParameter(f"{path}: expected {expected}, got {json.dumps(value)[:80]}")


def _keys(doc: Any, path: str, allowed: tuple[str, ...]) -> dict:
    if not isinstance(doc, dict):
        raise _bad(path or "body", doc, "an object")
    unknown = sorted(set(doc) - set(allowed))
    if unknown:
        where = f"{path}." if path else ""
        raise InvalidParameter(
            f"unknown field {where}{unknown[0]}: expected one of {', '.join(allowed)}"
        )
    return doc


def _bool(doc: dict, key: str, path: str) -> bool:
    value = doc.get(key)
    if not isinstance(value, bool):
        raise _bad(f"{path}{key}", value, "true or false")
    return value


def _number(doc: dict, key: str, path: str, lo: float, hi: float, *, whole: bool = False) -> float:
    value = doc.get(key)
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok and whole:
        ok = float(value).is_integer()
    if not ok or not math.isfinite(value) or not lo <= value <= hi:
        kind = "a whole number" if whole else "a number"
        raise _bad(f"{path}{key}", value, f"{kind} in [{lo:g}, {hi:g}]")
    return int(value) if whole else float(value)


def _recipients(doc: dict, path: str, pattern: re.Pattern[str], what: str) -> list[str]:
    value = doc.get("to")
    if not isinstance(value, list) or len(value) > MAX_RECIPIENTS:
        raise _bad(f"{path}to", value, f"a list of at most {MAX_RECIPIENTS} {what}")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not pattern.match(item):
            raise _bad(f"{path}to[{i}]", item, what)
    if _bool(doc, "enabled", path) and not value:
        raise InvalidParameter(f"{path}to: an enabled channel needs at least one {what}")
    return value


def _minutes(value: Any, path: str) -> int:
    match = _HHMM.match(value) if isinstance(value, str) else None
    if match is None:
        raise _bad(path, value, "a local time 'HH:MM' (00:00-23:59)")
    return int(match.group(1)) * 60 + int(match.group(2))


def validate(doc: Any, household_channels: tuple[str, ...]) -> dict[str, Any]:
    """Check a whole settings document; raise :class:`InvalidParameter` naming the bad field."""
    _keys(
        doc,
        "",
        (
            "enabled",
            "timezone",
            "quiet_hours",
            "cooldown_min",
            "notify_recovery",
            "rules",
            "channels",
        ),
    )
    _bool(doc, "enabled", "")
    _bool(doc, "notify_recovery", "")
    tz = doc.get("timezone")
    try:
        ZoneInfo(tz) if isinstance(tz, str) and tz else None
    except (ZoneInfoNotFoundError, ValueError):
        tz = None
    if not isinstance(tz, str) or not tz:
        raise _bad("timezone", doc.get("timezone"), "an IANA time zone such as 'Europe/Paris'")
    _number(doc, "cooldown_min", "", 0, 7 * 24 * 60, whole=True)
    quiet = doc.get("quiet_hours")
    if quiet is not None:
        _keys(quiet, "quiet_hours", ("start", "end"))
        if _minutes(quiet.get("start"), "quiet_hours.start") == _minutes(
            quiet.get("end"), "quiet_hours.end"
        ):
            raise InvalidParameter("quiet_hours: start and end are the same time (use null)")
    rules = _keys(doc.get("rules"), "rules", ("spike", "level", "offline"))
    spike = _keys(rules.get("spike"), "rules.spike", ("enabled", "channels", "threshold"))
    _bool(spike, "enabled", "rules.spike.")
    chans = spike.get("channels")
    if not isinstance(chans, list) or not chans or len(set(map(str, chans))) != len(chans):
        raise _bad("rules.spike.channels", chans, "a non-empty list of distinct channel names")
    for i, channel in enumerate(chans):
        if channel not in household_channels:
            raise _bad(
                f"rules.spike.channels[{i}]", channel, f"one of {', '.join(household_channels)}"
            )
    _number(spike, "threshold", "rules.spike.", 1.01, 1000)
    level = _keys(rules.get("level"), "rules.level", ("enabled", "min_level", "intervals"))
    _bool(level, "enabled", "rules.level.")
    if level.get("min_level") not in ("red", "critical"):
        raise _bad("rules.level.min_level", level.get("min_level"), "'red' or 'critical'")
    _number(level, "intervals", "rules.level.", 1, 1440, whole=True)
    offline = _keys(rules.get("offline"), "rules.offline", ("enabled", "after_min"))
    _bool(offline, "enabled", "rules.offline.")
    _number(offline, "after_min", "rules.offline.", 1, 7 * 24 * 60, whole=True)

    channels = _keys(doc.get("channels"), "channels", CHANNELS)
    for name in CHANNELS:
        if name not in channels:
            raise InvalidParameter(f"channels.{name}: missing")
    _bool(_keys(channels["push"], "channels.push", ("enabled",)), "enabled", "channels.push.")
    email = _keys(channels["email"], "channels.email", ("enabled", "to"))
    _recipients(email, "channels.email.", _EMAIL, "email address")
    sms = _keys(channels["sms"], "channels.sms", ("enabled", "to"))
    _recipients(sms, "channels.sms.", _E164, "phone number in E.164 form (+15551234567)")
    hook = _keys(channels["webhook"], "channels.webhook", ("enabled", "url", "secret"))
    enabled = _bool(hook, "enabled", "channels.webhook.")
    url = hook.get("url")
    if url is not None or enabled:
        if not isinstance(url, str) or not re.match(r"^https?://[^/\s]+(/\S*)?$", url):
            raise _bad("channels.webhook.url", url, "an http(s):// URL")
    secret = hook.get("secret")
    if secret is not None or enabled:
        if not isinstance(secret, str) or not 16 <= len(secret) <= 256:
            raise InvalidParameter(
                "channels.webhook.secret: expected a string of 16 to 256 characters"
                + ("" if secret is None else f", got one of {len(str(secret))}")
            )
    return doc


def rule_settings(doc: Mapping[str, Any]) -> RuleSettings:
    """The :class:`RuleSettings` of a validated document."""
    rules = doc["rules"]
    quiet = doc.get("quiet_hours")
    return RuleSettings(
        timezone=doc["timezone"],
        spike_enabled=bool(doc["enabled"] and rules["spike"]["enabled"]),
        spike_channels=tuple(rules["spike"]["channels"]),
        spike_threshold=float(rules["spike"]["threshold"]),
        level_enabled=bool(doc["enabled"] and rules["level"]["enabled"]),
        level_min=rules["level"]["min_level"],
        level_intervals=int(rules["level"]["intervals"]),
        offline_enabled=bool(doc["enabled"] and rules["offline"]["enabled"]),
        offline_after_s=int(rules["offline"]["after_min"]) * 60,
        cooldown_s=int(doc["cooldown_min"]) * 60,
        notify_recovery=bool(doc["notify_recovery"]),
        quiet_start_min=_minutes(quiet["start"], "") if quiet else None,
        quiet_end_min=_minutes(quiet["end"], "") if quiet else None,
    )


def public(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The document as reads show it: the webhook secret replaced by ``secret_set``."""
    out = copy.deepcopy(dict(doc))
    hook = out["channels"]["webhook"]
    hook["secret_set"] = bool(hook.get("secret"))
    hook["secret"] = None
    return out


class SettingsStore:
    """Settings rows in ``alert_settings``; a household without a row has the defaults."""

    def __init__(self, conn: sqlite3.Connection, *, clock: Callable[[], float] = time.time) -> None:
        self.conn = conn
        self.clock = clock

    def get(self, household: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            "SELECT settings FROM alert_settings WHERE household = ?", (household,)
        ).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, household: str, doc: Mapping[str, Any]) -> None:
        self.conn.execute(
            "INSERT INTO alert_settings (household, settings, updated_s) VALUES (?, ?, ?)"
            " ON CONFLICT (household) DO UPDATE SET settings = excluded.settings,"
            " updated_s = excluded.updated_s",
            (household, json.dumps(doc), int(self.clock())),
        )
