"""A household's alert settings: the JSON document, its validation and its database row.

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
import time
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WrapValidator,
    model_validator,
)

from server.alerts.rules import RuleSettings
from server.storage.crypto import Keyring
from server.storage.database import Database
from server.storage.sealing import settings_context
from server.validation import Body, Flag, expect, expected, number, parse, problem, whole

__all__ = [
    "CHANNELS",
    "AlertSettingsDocument",
    "SettingsStore",
    "default_settings",
    "merge",
    "rule_settings",
    "validate",
]

MAX_RECIPIENTS = 5
#: Longest cooldown and offline delay: a week. [min]
WEEK_MIN = 7 * 24 * 60
SECRET_MIN_LEN, SECRET_MAX_LEN = 16, 256
_EMAIL = r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$"
_E164 = r"^\+[1-9]\d{6,14}$"
_HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"
_URL = r"^https?://[^/\s]+(/\S*)?$"
_EMAIL_WHAT = "email address"
_PHONE_WHAT = "phone number in E.164 form (+15551234567)"
_URL_WHAT = "an http(s):// URL"
_SECRET_WHAT = f"a string of {SECRET_MIN_LEN} to {SECRET_MAX_LEN} characters"


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValueError(str(err)) from None
    return value


def _channel(value: Any, handler: Any, info: ValidationInfo) -> str:
    """A channel of the household (the validation context's ``channels``), when it is known."""
    known = (info.context or {}).get("channels")
    if known is not None and value not in known:
        raise expected(f"one of {', '.join(known)}", got=value)
    return handler(value)


def _distinct(value: list[str]) -> list[str]:
    if len(set(value)) != len(value):
        raise ValueError("channels repeat")
    return value


_HHMM_WHAT = "a local time 'HH:MM' (00:00-23:59)"
LocalTime = Annotated[str, Field(pattern=_HHMM, description=_HHMM_WHAT), expect(_HHMM_WHAT)]


class AlertQuietHours(Body):
    """Local time (the household's timezone; may wrap midnight). Alerts inside are logged with
    quiet_hours true and not delivered, except critical ones; when the period ends, one digest
    (rule 'digest') listing them is delivered on the enabled channels (none after a night
    without any). null: no quiet hours."""

    start: LocalTime
    end: LocalTime

    @model_validator(mode="after")
    def _not_empty(self) -> AlertQuietHours:
        if self.start == self.end:
            raise problem("start and end are the same time (use null)")
        return self


class SpikeRule(Body):
    enabled: Flag = True
    channels: Annotated[
        list[Annotated[str, WrapValidator(_channel)]],
        Field(min_length=1),
        AfterValidator(_distinct),
        expect("a non-empty list of distinct channel names"),
    ] = ["Overall"]
    threshold: number(1.01, 1000) = 2.0


class LevelRule(Body):
    enabled: Flag = True
    min_level: Annotated[Literal["red", "critical"], expect("'red' or 'critical'")] = "red"
    intervals: whole(1, 1440) = 3


class OfflineRule(Body):
    enabled: Flag = True
    after_min: whole(1, WEEK_MIN) = 15


class AlertRules(Body):
    spike: SpikeRule = Field(default_factory=SpikeRule)
    level: LevelRule = Field(default_factory=LevelRule)
    offline: OfflineRule = Field(default_factory=OfflineRule)


def _recipients(item: str, items: str, pattern: str) -> Any:
    return Annotated[
        list[Annotated[str, Field(pattern=pattern), expect(item)]],
        Field(max_length=MAX_RECIPIENTS),
        expect(f"a list of at most {MAX_RECIPIENTS} {items}"),
    ]


class PushSettings(Body):
    enabled: Flag = True


class EmailSettings(Body):
    enabled: Flag = False
    to: _recipients(_EMAIL_WHAT, "email addresses", _EMAIL) = []

    @model_validator(mode="after")
    def _someone(self) -> EmailSettings:
        if self.enabled and not self.to:
            raise problem(f"an enabled channel needs at least one {_EMAIL_WHAT}", at="to")
        return self


class SmsSettings(Body):
    enabled: Flag = False
    to: _recipients(_PHONE_WHAT, "phone numbers in E.164 form", _E164) = []

    @model_validator(mode="after")
    def _someone(self) -> SmsSettings:
        if self.enabled and not self.to:
            raise problem(f"an enabled channel needs at least one {_PHONE_WHAT}", at="to")
        return self


class WebhookSettings(Body):
    """Signed POSTs to url; the secret is write-only (reads show null and secret_set)."""

    enabled: Flag = False
    url: Annotated[Annotated[str, Field(pattern=_URL)] | None, expect(_URL_WHAT)] = None
    secret: Annotated[
        Annotated[str, Field(min_length=SECRET_MIN_LEN, max_length=SECRET_MAX_LEN)] | None,
        Field(description="write-only; reads show null and secret_set"),
        expect(_SECRET_WHAT, secret=True),
    ] = None
    secret_set: Annotated[
        bool | None,
        Field(
            exclude=True,
            description="reads only: a secret is stored",
            json_schema_extra={"readOnly": True},
        ),
    ] = None

    @model_validator(mode="after")
    def _complete(self) -> WebhookSettings:
        if self.enabled and self.url is None:
            raise expected(_URL_WHAT, got=None, at="url")
        if self.enabled and self.secret is None:
            raise expected(_SECRET_WHAT, got=None, at="secret")
        return self


class ChannelSettings(Body):
    push: PushSettings = Field(default_factory=PushSettings)
    email: EmailSettings = Field(default_factory=EmailSettings)
    sms: SmsSettings = Field(default_factory=SmsSettings)
    webhook: WebhookSettings = Field(default_factory=WebhookSettings)


class AlertSettingsDocument(Body):
    """A household's alert settings. A PUT is merged over the current document (objects key by
    key) and the result validated whole; the webhook secret is write-only."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"cooldown_min": 10, "quiet_hours": {"start": "22:00", "end": "07:00"}}]
        }
    )

    enabled: Flag = True
    timezone: Annotated[
        str,
        AfterValidator(_zone),
        Field(
            description="IANA zone (the household's by default)",
            examples=["Asia/Kolkata"],
            json_schema_extra=lambda schema: schema.pop("default", None),
        ),
        expect("an IANA time zone such as 'Europe/Paris'"),
    ] = "UTC"
    quiet_hours: AlertQuietHours | None = None
    cooldown_min: whole(0, WEEK_MIN) = 30
    notify_recovery: Flag = True
    rules: AlertRules = Field(default_factory=AlertRules)
    channels: ChannelSettings = Field(default_factory=ChannelSettings)


CHANNELS: tuple[str, ...] = tuple(ChannelSettings.model_fields)


def default_settings(timezone: str = "UTC", channels: tuple[str, ...] = ("Overall",)) -> dict:
    """The model's defaults, in the household's zone, spikes watched on its whole-house channel."""
    spike_channels = ["Overall"] if "Overall" in channels or not channels else [channels[0]]
    return merge(
        AlertSettingsDocument().model_dump(mode="json"),
        {"timezone": timezone, "rules": {"spike": {"channels": spike_channels}}},
    )


def merge(base: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """``patch`` over ``base``, objects merged key by key (lists and values replaced)."""
    out = copy.deepcopy(dict(base))
    for key, value in patch.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def validate(doc: Any, household_channels: tuple[str, ...]) -> dict[str, Any]:
    """A whole settings document, checked (:class:`AlertSettingsDocument`) and normalised (5.0
    minutes → 5); else :class:`~server.errors.InvalidParameter` naming the bad field."""
    checked = parse(AlertSettingsDocument, doc, context={"channels": tuple(household_channels)})
    return checked.model_dump(mode="json")


def _minutes(value: str) -> int:
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


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
        quiet_start_min=_minutes(quiet["start"]) if quiet else None,
        quiet_end_min=_minutes(quiet["end"]) if quiet else None,
    )


def public(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The document as reads show it: the webhook secret replaced by ``secret_set``."""
    out = copy.deepcopy(dict(doc))
    hook = out["channels"]["webhook"]
    hook["secret_set"] = bool(hook.get("secret"))
    hook["secret"] = None
    return out


class SettingsStore:
    """Settings rows in ``alert_settings``; a household without a row has the defaults. The
    document (emails, phone numbers, the webhook's URL and secret) is stored sealed
    (AES-256-GCM, :mod:`server.storage.crypto`)."""

    def __init__(
        self, db: Database, keyring: Keyring, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.db = db
        self.keyring = keyring
        self.clock = clock

    def get(self, household: str) -> dict[str, Any] | None:
        with self.db.read() as conn:
            row = conn.execute(
                sa.text("SELECT settings FROM alert_settings WHERE household = :household"),
                {"household": household},
            ).first()
        if row is None:
            return None
        return json.loads(self.keyring.open(row[0], settings_context(household)))

    def put(self, household: str, doc: Mapping[str, Any]) -> None:
        with self.db.write() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO alert_settings (household, settings, updated_s)"
                    " VALUES (:household, :settings, :now)"
                    " ON CONFLICT (household) DO UPDATE SET settings = excluded.settings,"
                    " updated_s = excluded.updated_s"
                ),
                {
                    "household": household,
                    "settings": self.keyring.seal(json.dumps(doc), settings_context(household)),
                    "now": int(self.clock()),
                },
            )
