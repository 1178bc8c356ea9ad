"""The reusable pieces of the OpenAPI document: JSON Schemas of every body, error shapes,
parameters and the bearer API key.

Request bodies' schemas are generated from the pydantic models that validate them
(:data:`BODIES`; their nested models become components of their own), so each limit is written
once, in its model. Response schemas describe what the server really sends (checked by the
fuzzing tests in ``tests/server/openapi``): maps keyed by channel name are
``additionalProperties`` objects, a meter that reported nothing is ``null``, never 0.

This module gathers the models of every layer, the feature packages' included (alert settings):
like the app factory, it is a wiring point (``tests/test_layers.py``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from server.accounts.keys import KeyCreate  # keys over HTTP (#21)
from server.accounts.oauth.store import SCOPES  # OAuth scopes (#15)
from server.accounts.privacy import ConsentUpdate  # privacy (#15)
from server.accounts.views import (  # accounts (#15)
    HouseholdCreate,
    MemberInvite,
    MemberRole,
    PasswordReset,
    PasswordResetConfirm,
    SignIn,
    SignUp,
    VerifyEmail,
)
from server.alerts.settings import AlertSettingsDocument
from server.compat.views import StreamSetup
from server.control.apply import ApplyRequest  # control (server/control)
from server.control.automations import AutomationsDocument  # control
from server.control.commands import CommandRequest  # control
from server.control.devices import ControlsDocument  # control
from server.control.schedules import ScheduleDocument  # control
from server.estimates.views import EstimateAttach  # appliance models over HTTP (#18)
from server.ingest.views import ReadingBatch
from server.insights.schemas import CARBON as INSIGHTS_CARBON
from server.insights.schemas import SCHEMAS as INSIGHTS_SCHEMAS
from server.insights.views import TariffDocument
from server.push.devices import DeviceRegistration, DeviceRemoval
from server.push.webpush import WebPushRemoval, WebPushSubscription
from server.validation import SchemaGenerator

__all__ = ["BODIES", "COMPONENTS", "model_schemas", "ref"]

REF_TEMPLATE = "#/components/schemas/{model}"
#: Models of the JSON request bodies; each is a component named as its class.
BODIES: tuple[type[BaseModel], ...] = (
    ReadingBatch,
    DeviceRegistration,
    DeviceRemoval,
    WebPushSubscription,
    WebPushRemoval,
    AlertSettingsDocument,
    StreamSetup,
    # -- control (server/control)
    ControlsDocument,
    CommandRequest,
    ScheduleDocument,
    AutomationsDocument,
    ApplyRequest,
    # -- (end of control)
    TariffDocument,  # insights
    # -- accounts (#15)
    SignUp,
    VerifyEmail,
    SignIn,
    PasswordReset,
    PasswordResetConfirm,
    HouseholdCreate,
    MemberInvite,
    MemberRole,
    KeyCreate,  # keys over HTTP (#21)
    ConsentUpdate,  # privacy (#15)
    EstimateAttach,  # appliance models over HTTP (#18)
)

HOUSEHOLD_ID = r"^[A-Za-z0-9][A-Za-z0-9-]{0,31}$"
TIMESTAMP = {"type": "string", "format": "date-time", "examples": ["2026-11-22T06:25:50Z"]}
LEVEL = {"type": "string", "enum": ["green", "yellow", "red", "critical"]}

#: Channels whose values are estimates (disaggregated from the whole-house meter, ``python -m
#: server nilm apply`` offline, ``python -m server nilm attach`` live); present only for a household
#: that has any.
ESTIMATED = {
    "type": "array",
    "items": {"type": "string"},
    "minItems": 1,
    "uniqueItems": True,
    "description": "channels whose values are estimates from the whole-house meter, not meter "
    "readings; absent when every channel is metered",
    "examples": [["Geyser"]],
}


def ref(name: str) -> dict[str, str]:
    return {"$ref": REF_TEMPLATE.format(model=name)}


def model_schemas(models: tuple[type[BaseModel], ...]) -> dict[str, Any]:
    """Each model's JSON Schema (validation mode) by class name, nested models hoisted beside."""
    out: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(
            ref_template=REF_TEMPLATE, schema_generator=SchemaGenerator
        )
        for name, nested in [*schema.pop("$defs", {}).items(), (model.__name__, schema)]:
            if out.setdefault(name, nested) != nested:
                raise ValueError(f"two request-body models are named {name}")
    return out


def by_channel(values: dict[str, Any], description: str) -> dict[str, Any]:
    """An object keyed by channel name (``AC``, ``Geyser``, ``Overall``, ...)."""
    return {
        "type": "object",
        "description": description,
        "propertyNames": {"pattern": r"^[A-Za-z][A-Za-z0-9]{0,31}$"},
        "additionalProperties": values,
    }


NULLABLE_KW = {"type": ["number", "null"]}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "description": "The versioned routes' error shape; ``code`` is stable, ``message`` "
        "names the bad value.",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {
                        "type": "string",
                        "examples": ["invalid_parameter", "unknown_household", "unauthorized"],
                    },
                    "message": {"type": "string"},
                },
            }
        },
    },
    "CompatError": {
        "type": "object",
        "description": "The seed's error shape, kept by the compatibility routes.",
        "required": ["error"],
        "properties": {"error": {"type": "string", "examples": ["First try stream_setup."]}},
    },
    "Household": {
        "type": "object",
        "required": [
            "id",
            "name",
            "archetype",
            "timezone",
            "channels",
            "resolution_s",
            "source",
            "dataset",
            "replayed",
        ],
        "properties": {
            "id": {"type": "string", "pattern": HOUSEHOLD_ID},
            "name": {"type": "string"},
            "archetype": {"type": "string", "examples": ["day-worker", "office", "live"]},
            "timezone": {"type": "string", "description": "IANA zone, for display and schedules"},
            "channels": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "resolution_s": {"type": "integer", "minimum": 1},
            "source": {"type": "string", "examples": ["synthetic:gridlight-generator/1", "live"]},
            "dataset": {
                "type": ["string", "null"],
                "description": "dataset directory; null for a live household",
            },
            "replayed": {"type": "boolean", "description": "replayed live by the demo"},
            "estimated": ESTIMATED,
            "estimates": {
                "type": "object",
                "description": "per estimated channel, how it was estimated (model provenance);"
                " on a live household also the estimator's state: pending, starting,"
                " waiting_for_history (have_samples of need_samples), estimating, failed",
                "additionalProperties": {"type": "object"},
            },
            "data": {
                "type": "object",
                "description": "the dataset's span (households with a dataset only)",
                "required": ["start", "span_s", "rows"],
                "properties": {
                    "start": TIMESTAMP,
                    "span_s": {"type": "integer", "minimum": 0},
                    "rows": {"type": "integer", "minimum": 0},
                },
            },
        },
        "additionalProperties": True,
    },
    "HouseholdList": {
        "type": "object",
        "required": ["households"],
        "properties": {"households": {"type": "array", "items": ref("Household")}},
    },
    "QuickStats": {
        "type": "object",
        "description": "The seed's keys (maps by channel) plus Gridlight's fields. [kW]",
        "required": [
            "25p",
            "median",
            "75p",
            "rt_critical_value_0.01",
            "best_distribution",
            "interval_s",
            "by_hour",
            "channels",
        ],
        "properties": {
            "25p": by_channel(NULLABLE_KW, "25th percentile [kW]"),
            "median": by_channel(NULLABLE_KW, "median [kW]"),
            "75p": by_channel(NULLABLE_KW, "75th percentile: above it is yellow [kW]"),
            "rt_critical_value_0.01": by_channel(
                NULLABLE_KW, "right-tail critical value: at or above it is red [kW]"
            ),
            "best_distribution": by_channel({"type": "string"}, "fitted tail distribution"),
            "household": {"type": "string"},
            "interval_s": {"type": "integer", "minimum": 1},
            "requested_interval_s": {"type": "integer", "minimum": 1},
            "resolution_s": {"type": "integer", "minimum": 1},
            "n_samples": by_channel({"type": "integer"}, "windows the statistics rest on"),
            "by_hour": {"type": "boolean"},
            "fingerprint": {"type": "string"},
            "timezone": {"type": "string"},
            "tail_probability": {"type": "number"},
            "algorithm_version": {"type": "integer"},
            "notes": {"type": "array", "items": {"type": "string"}},
            "channels": by_channel(
                {"type": "object", "additionalProperties": True}, "per-channel fit details"
            ),
            "hours": {"type": "object", "description": "per hour of day (by=hour only)"},
            "day_hours": {"type": "object", "description": "per day type and hour (by=hour)"},
            "estimated": ESTIMATED,
        },
        "additionalProperties": True,
    },
    "WidgetState": {
        "type": "object",
        "description": "The household's last complete window, as the widget shows it.",
        "required": [
            "version",
            "household",
            "as_of",
            "seq",
            "interval_s",
            "power_kw",
            "level",
            "worst",
            "stale",
        ],
        "properties": {
            "version": {"type": "integer", "const": 1},
            "household": {"type": "string"},
            "name": {"type": "string"},
            "as_of": TIMESTAMP,
            "seq": {"type": "string", "description": "broker id of the window's last reading"},
            "interval_s": {"type": "integer", "minimum": 1},
            "power_kw": by_channel(NULLABLE_KW, "window mean, rounded to watts [kW]"),
            "level": by_channel({"anyOf": [LEVEL, {"type": "null"}]}, "traffic light"),
            "worst": {"anyOf": [LEVEL, {"type": "null"}]},
            "message": {"type": ["string", "null"]},
            "stale": {"type": "boolean"},
            "estimated": ESTIMATED,
        },
        "additionalProperties": True,
    },
    "IngestResult": {
        "type": "object",
        "required": ["accepted", "duplicates", "rejected"],
        "properties": {
            "accepted": {"type": "integer", "minimum": 0},
            "duplicates": {"type": "integer", "minimum": 0},
            "rejected": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["index", "reason"],
                    "properties": {
                        "index": {"type": "integer", "minimum": 0},
                        "channel": {"type": "string"},
                        "reason": {"type": "string"},
                    },
                },
            },
        },
    },
    "ReadingHistory": {
        "type": "object",
        "required": ["household", "resolution", "from", "to", "readings"],
        "properties": {
            "household": {"type": "string"},
            "resolution": {"type": "string", "enum": ["raw", "1m", "15m", "1h", "1d"]},
            "from": TIMESTAMP,
            "to": TIMESTAMP,
            "currency": {"type": ["string", "null"], "description": "of the rows' cost"},
            "tariff": {"type": "string", "enum": ["stored", "default", "none"]},
            "carbon": INSIGHTS_CARBON,
            "estimated": ESTIMATED,
            "readings": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["ts", "power_kw"],
                    "properties": {
                        "ts": TIMESTAMP,
                        "power_kw": by_channel(NULLABLE_KW, "mean power [kW]"),
                        "min_kw": by_channel(NULLABLE_KW, "aggregated rows [kW]"),
                        "max_kw": by_channel(NULLABLE_KW, "aggregated rows [kW]"),
                        "count": by_channel({"type": "integer"}, "readings in the row"),
                        # insights: what the row's readings measured, priced and weighed
                        "energy_kwh": by_channel(NULLABLE_KW, "power × seconds reported [kWh]"),
                        "cost": by_channel(NULLABLE_KW, "in currency; null without a tariff"),
                        "co2_kg": by_channel(NULLABLE_KW, "at the zone's intensity [kg]"),
                    },
                },
            },
        },
    },
    "DeviceRegistered": {
        "type": "object",
        "required": ["household", "platform", "registered", "created"],
        "properties": {
            "household": {"type": "string"},
            "platform": {"type": "string", "enum": ["android", "ios", "web"]},
            "registered": {"type": "boolean", "const": True},
            "created": {"type": "boolean"},
        },
    },
    "DeviceRemoved": {
        "type": "object",
        "required": ["household", "removed"],
        "properties": {"household": {"type": "string"}, "removed": {"type": "boolean"}},
    },
    "WebPushKey": {
        "type": "object",
        "required": ["public_key"],
        "properties": {
            "public_key": {
                "type": "string",
                "description": "the VAPID public key (uncompressed P-256 point, base64url): the"
                " applicationServerKey of PushManager.subscribe()",
            }
        },
    },
    "WebPushSubscribed": {
        "type": "object",
        "required": ["household", "subscribed", "created"],
        "properties": {
            "household": {"type": "string"},
            "subscribed": {"type": "boolean", "const": True},
            "created": {"type": "boolean"},
        },
    },
    "AlertSettings": {
        "type": "object",
        "required": ["household", "settings"],
        "properties": {
            "household": {"type": "string"},
            "settings": {
                "allOf": [ref("AlertSettingsDocument")],
                "required": list(AlertSettingsDocument.model_fields),
            },
        },
    },
    "Alert": {
        "type": "object",
        "required": ["id", "rule", "kind", "level", "ts", "logged_at", "message", "deliveries"],
        "properties": {
            "id": {"type": "integer"},
            "rule": {
                "type": "string",
                "enum": ["spike", "level", "offline", "digest"],
                "description": "digest: the quiet-hours digest, sent when a quiet period ends; "
                "its values list the period's quiet alerts (period_start_s, period_end_s, count, "
                "rules, worst_level, first_s, last_s, alerts, omitted)",
            },
            "kind": {"type": "string", "enum": ["alert", "recovery", "digest"]},
            "level": {"type": ["string", "null"]},
            "ts": TIMESTAMP,
            "logged_at": TIMESTAMP,
            "message": {"type": "string"},
            "values": {"description": "the values the rule saw"},
            "quiet_hours": {
                "type": "boolean",
                "description": "logged inside quiet hours, not delivered (see the digest)",
            },
            "deliveries": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["channel", "target", "attempt", "status", "at"],
                    "properties": {
                        "channel": {"type": "string", "enum": ["push", "email", "sms", "webhook"]},
                        "target": {"type": ["string", "null"], "description": "masked"},
                        "attempt": {"type": "integer"},
                        "status": {"type": "string", "examples": ["sent", "failed", "skipped"]},
                        "error": {"type": ["string", "null"]},
                        "at": TIMESTAMP,
                    },
                },
            },
        },
    },
    "AlertPage": {
        "type": "object",
        "required": ["household", "from", "to", "alerts", "next_cursor"],
        "properties": {
            "household": {"type": "string"},
            "from": {"anyOf": [TIMESTAMP, {"type": "null"}]},
            "to": {"anyOf": [TIMESTAMP, {"type": "null"}]},
            "alerts": {"type": "array", "items": ref("Alert")},
            "next_cursor": {"type": ["string", "null"]},
        },
    },
    "Health": {
        "type": "object",
        "required": ["status", "worker", "broker", "database", "readers"],
        "properties": {
            "status": {
                "type": "string",
                "enum": ["ok", "degraded", "unavailable"],
                "description": "degraded: streams work, the MQTT subscriber is down or silent "
                "or the carbon feed failing",
            },
            "worker": {"type": "integer", "description": "process id of the answering worker"},
            "broker": {
                "type": "object",
                "required": ["kind", "ok"],
                "properties": {
                    "kind": {"type": "string", "enum": ["memory", "redis"]},
                    "ok": {"type": "boolean"},
                    "error": {"type": "string"},
                },
            },
            "database": {
                "type": "object",
                "description": "the installation's database (DATABASE_URL)",
                "required": ["kind", "ok"],
                "properties": {
                    "kind": {"type": "string", "enum": ["sqlite", "postgresql"]},
                    "ok": {"type": "boolean"},
                    "error": {"type": "string"},
                },
            },
            "readers": {"type": "object", "description": "stream readers of this worker"},
            "carbon_feed": ref("FeedHealth"),
            "mqtt": {
                "type": "object",
                "description": "the MQTT subscriber (with MQTT_URL), as it last reported",
                "required": ["ok"],
                "properties": {
                    "ok": {"type": "boolean"},
                    "error": {"type": "string"},
                    "broker": {"type": ["string", "null"]},
                    "connected": {"type": ["boolean", "null"]},
                    "pid": {"type": ["integer", "null"]},
                    "since": {"type": ["number", "null"]},
                    "updated": {"type": ["number", "null"]},
                },
            },
        },
    },
    "StreamSetupDone": {
        "type": "object",
        "required": ["status", "stream_id"],
        "properties": {
            "status": {
                "type": "string",
                "const": "Streaming setup and stats calculation successful",
            },
            "stream_id": {"type": "string"},
        },
    },
    "ReadingEvent": {
        "type": "object",
        "description": "``event: reading`` data (v1 stream); ``id:`` is its opaque event id.",
        "required": ["household", "interval_s", "ts", "power_kw", "level", "worst"],
        "properties": {
            "household": {"type": "string"},
            "interval_s": {"type": "integer"},
            "index": {"type": "integer", "description": "dataset second; replays only"},
            "ts": {**TIMESTAMP, "description": "start of the averaging window"},
            "power_kw": by_channel(NULLABLE_KW, "window mean [kW]"),
            "level": {
                "anyOf": [by_channel(LEVEL, "traffic light"), {"type": "null"}],
                "description": "traffic light per channel; null while the household is learning",
            },
            "worst": {"anyOf": [LEVEL, {"type": "null"}]},
            "learning": {
                "const": True,
                "description": "present while the household has no statistics yet (a new "
                "meter): values without levels; a StatsEvent announces the levels",
            },
            "estimated": ESTIMATED,
        },
    },
    "StatsEvent": {
        "type": "object",
        "description": "``event: stats`` (no id): the household's statistics exist now; the "
        "reading events after it carry levels.",
        "required": ["household", "interval_s", "learning"],
        "properties": {
            "household": {"type": "string"},
            "interval_s": {"type": "integer"},
            "learning": {"const": False},
        },
    },
    "ResyncEvent": {
        "type": "object",
        "description": "``event: resync`` (no id): the Last-Event-ID is older than the history; "
        "live events follow.",
        "required": ["reason"],
        "properties": {"reason": {"type": "string"}},
    },
    "EndEvent": {
        "type": "object",
        "description": "``event: end`` (no id), the last of a stream that ended on purpose: do "
        "not reconnect. reason: a replay reached the end of its data, or a bounded stream its "
        "limit or until.",
        "required": ["reason", "events", "last_event_id"],
        "properties": {
            "reason": {"type": "string", "enum": ["end_of_data", "limit", "until"]},
            "events": {"type": "integer", "minimum": 0, "description": "reading events sent"},
            "last_event_id": {"type": ["string", "null"], "description": "the last one's id"},
            "household": {"type": "string", "description": "replays only"},
            "index": {"type": "integer", "description": "next dataset second; replays only"},
        },
    },
    "ErrorEvent": {
        "description": "``event: error`` (no id): an error after the stream started.",
        **ref("Error"),
    },
    # -- control (server/control) ------------------------------------------------------------
    "Controls": {
        "type": "object",
        "description": "A household's controllable devices.",
        "required": ["household", "devices"],
        "properties": {
            "household": {"type": "string"},
            "devices": {"type": "array", "items": ref("Device")},
        },
    },
    "Command": {
        "type": "object",
        "description": "A command to a device and its status: pending (sent, resent with backoff "
        "until acknowledged), acked or failed (the device's answer), expired (no answer in time).",
        "required": [
            "id",
            "household",
            "device",
            "action",
            "status",
            "source",
            "created_at",
            "expires_at",
            "attempts",
            "done_at",
            "state",
            "error",
        ],
        "properties": {
            "id": {"type": "string"},
            "household": {"type": "string"},
            "device": {"type": "string"},
            "action": {"type": "string", "enum": ["on", "off", "set"]},
            "setpoint_c": {"type": "number", "description": "set commands [°C]"},
            "status": {"type": "string", "enum": ["pending", "acked", "failed", "expired"]},
            "source": {
                "type": "string",
                "enum": ["api", "mqtt", "schedule", "automation"],
                "description": "what sent it (the audit log also names who)",
            },
            "created_at": TIMESTAMP,
            "expires_at": TIMESTAMP,
            "attempts": {"type": "integer", "minimum": 0, "description": "MQTT sends so far"},
            "done_at": {"anyOf": [TIMESTAMP, {"type": "null"}]},
            "state": {
                "type": ["object", "null"],
                "description": "the device's reported state with its answer",
            },
            "error": {"type": ["string", "null"]},
        },
    },
    "Schedule": {
        "type": "object",
        "description": "The deferrable loads as PUT and the plan in force (null: none).",
        "required": ["household", "schedule", "plan"],
        "properties": {
            "household": {"type": "string"},
            "schedule": {"anyOf": [ref("ScheduleDocument"), {"type": "null"}]},
            "plan": {"anyOf": [ref("Plan"), {"type": "null"}]},
        },
    },
    "AppliedRecommendation": {
        "type": "object",
        "description": "The schedule and its plan with the recommendation's load in it.",
        "required": ["household", "schedule", "plan", "recommendation", "load"],
        "properties": {
            "household": {"type": "string"},
            "schedule": ref("ScheduleDocument"),
            "plan": ref("Plan"),
            "recommendation": {"type": "string", "description": "the recommendation's id"},
            "load": {
                "type": "object",
                "description": "the load the action became (times in epoch seconds)",
                "required": [
                    "id",
                    "device",
                    "energy_kwh",
                    "power_kw",
                    "earliest_start",
                    "deadline",
                ],
                "properties": {
                    "id": {"type": "string"},
                    "device": {"type": "string"},
                    "energy_kwh": {"type": "number"},
                    "power_kw": {"type": "number"},
                    "earliest_start": {"type": "integer"},
                    "deadline": {"type": "integer"},
                },
            },
        },
    },
    "Plan": {
        "type": "object",
        "description": "Each load's runs (slots) with power, cost and CO2, and the saving "
        "against running it at its earliest start. Money in ``currency``.",
        "required": ["start", "end", "step_s", "currency", "loads", "cost", "co2_kg", "saving"],
        "properties": {
            "start": TIMESTAMP,
            "end": TIMESTAMP,
            "step_s": {"type": "integer"},
            "currency": {"type": "string"},
            "connection_limit_kw": {"type": "number"},
            "cost": {"type": "number"},
            "co2_kg": {"type": "number"},
            "saving": {"type": "number"},
            "inputs": {
                "type": "object",
                "description": "where prices, carbon, base load came from",
            },
            "inputs_fingerprint": {"type": "string"},
            "loads": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "slots", "cost", "co2_kg", "saving"],
                    "properties": {
                        "id": {"type": "string"},
                        "device": {"type": ["string", "null"]},
                        "energy_kwh": {"type": "number"},
                        "cost": {"type": "number"},
                        "co2_kg": {"type": "number"},
                        "earliest_start_cost": {"type": "number"},
                        "saving": {"type": "number"},
                        "co2_saving_kg": {"type": "number"},
                        "slots": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["start", "end", "power_kw", "cost", "co2_kg"],
                                "properties": {
                                    "start": TIMESTAMP,
                                    "end": TIMESTAMP,
                                    "power_kw": {"type": "number"},
                                    "energy_kwh": {"type": "number"},
                                    "cost": {"type": "number"},
                                    "co2_kg": {"type": "number"},
                                },
                            },
                        },
                    },
                },
            },
        },
    },
    "Automations": {
        "type": "object",
        "required": ["household", "rules"],
        "properties": {
            "household": {"type": "string"},
            "rules": {"type": "array", "items": ref("Rule")},
        },
    },
    "CommandEvent": {
        "description": "``event: command`` (no id): a command of the household was created or "
        "changed status (the Command).",
        **ref("Command"),
    },
    # -- (end of control)
    **INSIGHTS_SCHEMAS,
    **model_schemas(BODIES),
}

# -- reports (#17) ----------------------------------------------------------------------------
_NUMBER_OR_NULL = {"type": ["number", "null"]}
SCHEMAS.update(
    {
        "Report": {
            "type": "object",
            "required": ["month", "size_bytes", "sha256", "created_at", "url", "summary"],
            "properties": {
                "month": {"type": "string", "pattern": r"^\d{4}-(0[1-9]|1[0-2])$"},
                "size_bytes": {"type": "integer", "minimum": 0},
                "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                "created_at": TIMESTAMP,
                "url": {"type": "string", "description": "the PDF (GET …/reports/{month}.pdf)"},
                "summary": {
                    "type": "object",
                    "description": "headline figures; null where unknown (no tariff, no "
                    "carbon zone, no forecast baseline)",
                    "properties": {
                        "energy_kwh": _NUMBER_OR_NULL,
                        "coverage": _NUMBER_OR_NULL,
                        "cost": _NUMBER_OR_NULL,
                        "currency": {"type": ["string", "null"]},
                        "co2_kg": _NUMBER_OR_NULL,
                        "peak_kw": _NUMBER_OR_NULL,
                        "saved_kwh": _NUMBER_OR_NULL,
                        "saved_co2_kg": _NUMBER_OR_NULL,
                    },
                },
            },
        },
        "ReportList": {
            "type": "object",
            "required": ["household", "reports"],
            "properties": {
                "household": {"type": "string"},
                "reports": {
                    "type": "array",
                    "items": ref("Report"),
                    "description": "newest month first",
                },
            },
        },
    }
)
# -- end reports

PARAMETERS: dict[str, Any] = {
    "household": {
        "name": "household",
        "in": "path",
        "required": True,
        "description": "household id (``A``, ``B``, ``C`` in the demo)",
        "schema": {"type": "string"},
        "example": "A",
    },
    "interval": {
        "name": "interval",
        "in": "query",
        "required": True,
        "description": "averaging interval, a whole number of seconds [s]",
        "schema": {"type": "integer", "minimum": 1, "maximum": 86400},
        "example": 5,
    },
    "lastEventIdHeader": {
        "name": "Last-Event-ID",
        "in": "header",
        "required": False,
        "description": "resume after this event (the header wins over ?last_event_id=)",
        "schema": {"type": "string"},
    },
    "lastEventIdQuery": {
        "name": "last_event_id",
        "in": "query",
        "required": False,
        "description": "resume after this event (for clients that cannot set headers)",
        "schema": {"type": "string"},
    },
}


# -- accounts (#15) --------------------------------------------------------------------------------
ROLE = {"type": "string", "enum": ["owner", "member", "viewer"]}
SCHEMAS.update(
    {
        "User": {
            "type": "object",
            "required": ["id", "email", "name", "email_verified", "created"],
            "properties": {
                "id": {"type": "integer"},
                "email": {"type": "string"},
                "name": {"type": "string"},
                "email_verified": {"type": "boolean"},
                "created": TIMESTAMP,
            },
        },
        "SignUpResult": {
            "type": "object",
            "required": ["user", "verification_sent"],
            "properties": {
                "user": ref("User"),
                "verification_sent": {
                    "type": "boolean",
                    "description": "false when no SMTP relay is configured or it refused",
                },
            },
        },
        "UserResult": {
            "type": "object",
            "required": ["user"],
            "properties": {"user": ref("User")},
        },
        "Session": {
            "type": "object",
            "required": ["user", "csrf_token"],
            "properties": {
                "user": ref("User"),
                "csrf_token": {
                    "type": "string",
                    "description": "send it back in X-CSRF-Token with every cookie-authenticated "
                    "write",
                },
            },
        },
        "Accepted": {
            "type": "object",
            "required": ["status"],
            "properties": {"status": {"type": "string"}},
        },
        "Me": {
            "type": "object",
            "required": ["user", "households"],
            "properties": {
                "user": ref("User"),
                "households": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["household", "role"],
                        "properties": {"household": {"type": "string"}, "role": ROLE},
                    },
                },
            },
        },
        "HouseholdCreated": {
            "type": "object",
            "required": ["household", "role", "key"],
            "properties": {
                "household": {
                    "type": "object",
                    "required": ["id", "name", "timezone", "channels"],
                    "properties": {
                        "id": {"type": "string"},
                        "name": {"type": "string"},
                        "timezone": {"type": "string"},
                        "channels": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "role": {"const": "owner"},
                "key": {
                    "type": "string",
                    "description": "the household's first API key (for its meter), shown once",
                    "examples": ["gl_0123456789ab_secret"],
                },
            },
        },
        "Member": {
            "type": "object",
            "required": ["user_id", "name", "role", "since"],
            "properties": {
                "user_id": {"type": "integer"},
                "name": {"type": "string"},
                "email": {"type": "string", "description": "shown to the household's owners"},
                "role": ROLE,
                "since": TIMESTAMP,
            },
        },
        "ApiKey": {
            "type": "object",
            "description": "a live API key of the household, without its secret",
            "required": ["key_id", "label", "created", "last_used"],
            "properties": {
                "key_id": {"type": "string", "examples": ["0123456789ab"]},
                "label": {"type": ["string", "null"]},
                "created": TIMESTAMP,
                "last_used": {
                    "anyOf": [TIMESTAMP, {"type": "null"}],
                    "description": "the last request it authorised (to the minute); null: never",
                },
            },
        },
        "ApiKeyList": {
            "type": "object",
            "required": ["household", "keys"],
            "properties": {
                "household": {"type": "string"},
                "keys": {"type": "array", "items": ref("ApiKey"), "description": "oldest first"},
            },
        },
        "ApiKeyCreated": {
            "type": "object",
            "required": ["household", "key_id", "label", "created", "last_used", "key"],
            "properties": {
                "household": {"type": "string"},
                "key_id": {"type": "string"},
                "label": {"type": ["string", "null"]},
                "created": TIMESTAMP,
                "last_used": {"type": "null"},
                "key": {
                    "type": "string",
                    "description": "the key, shown in this answer only: send it as "
                    "'Authorization: Bearer <key>'",
                    "examples": ["gl_0123456789ab_secret"],
                },
            },
        },
        "MemberList": {
            "type": "object",
            "required": ["household", "members"],
            "properties": {
                "household": {"type": "string"},
                "members": {"type": "array", "items": ref("Member")},
            },
        },
        # -- privacy (#15)
        "ConsentState": {
            "type": "object",
            "required": ["granted", "version", "updated", "by"],
            "properties": {
                "granted": {"type": "boolean"},
                "version": {
                    "type": ["string", "null"],
                    "description": "the wording agreed to; null: the default (never recorded)",
                },
                "updated": {"anyOf": [TIMESTAMP, {"type": "null"}]},
                "by": {"type": ["integer", "null"], "description": "user id; null: operator"},
            },
        },
        "Consent": {
            "type": "object",
            "required": ["household", "version", "consents", "log"],
            "properties": {
                "household": {"type": "string"},
                "version": {"type": "string", "description": "the current wording's version"},
                "consents": {
                    "type": "object",
                    "required": ["collection", "analytics", "recommendations", "sharing"],
                    "properties": {
                        p: ref("ConsentState")
                        for p in ("collection", "analytics", "recommendations", "sharing")
                    },
                },
                "log": {
                    "type": "array",
                    "description": "changes, newest first",
                    "items": {
                        "type": "object",
                        "required": ["purpose", "granted", "version", "by", "source", "ts"],
                        "properties": {
                            "purpose": {"type": "string"},
                            "granted": {"type": "boolean"},
                            "version": {"type": "string"},
                            "by": {"type": ["integer", "null"]},
                            "source": {
                                "type": "string",
                                "examples": ["api", "household_created", "cli"],
                            },
                            "ts": TIMESTAMP,
                        },
                    },
                },
            },
        },
        "Export": {
            "type": "object",
            "required": ["exported", "user", "memberships", "audit", "households"],
            "description": "everything held about the user and the households they own",
            "properties": {
                "exported": TIMESTAMP,
                "user": ref("User"),
                "memberships": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["household", "role"],
                        "properties": {"household": {"type": "string"}, "role": ROLE},
                    },
                },
                "audit": {"type": "array", "items": {"type": "object"}},
                "households": {
                    "type": "object",
                    "description": "per owned household: household, consents, consent_log, "
                    "devices, audit, members, keys, alert_settings, alerts, control_*, "
                    "tariffs, insights_state, reports, readings (their span)",
                    "additionalProperties": {"type": "object"},
                },
            },
        },
        "Erased": {
            "type": "object",
            "required": ["erased", "households_erased", "memberships_removed"],
            "properties": {
                "erased": {"const": True},
                "households_erased": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "households the user alone owned: erased everywhere",
                },
                "memberships_removed": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "households that keep their other owners",
                },
            },
        },
        "AuditLog": {
            "type": "object",
            "required": ["household", "entries"],
            "properties": {
                "household": {"type": "string"},
                "entries": {
                    "type": "array",
                    "description": "newest first",
                    "items": {
                        "type": "object",
                        "required": ["id", "user_id", "event", "detail", "ts"],
                        "properties": {
                            "id": {"type": "integer"},
                            "user_id": {"type": ["integer", "null"]},
                            "event": {
                                "type": "string",
                                "examples": [
                                    "household_created",
                                    "member_added",
                                    "role_changed",
                                    "member_removed",
                                ],
                            },
                            "detail": {"type": "object"},
                            "ts": TIMESTAMP,
                        },
                    },
                },
            },
        },
    }
)


def _json_error(description: str, schema: str = "Error") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ref(schema)}}}


RESPONSES: dict[str, Any] = {
    "BadRequest": _json_error("a bad parameter or body; the message names the bad value"),
    "Unauthorized": {
        **_json_error("no API key, or not a live key of this household"),
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
    },
    "NotFound": _json_error("unknown household"),
    "Forbidden": _json_error(
        "signed in, but without the role this needs (forbidden), or a cookie-authenticated "
        "write without its X-CSRF-Token (csrf_failed)"
    ),
    "NotSignedIn": _json_error("no session cookie, or it expired (not_signed_in)"),
    "Conflict": _json_error("the command id was used for another command"),  # control
    "Infeasible": _json_error("no schedule meets the constraints; the message says why"),
    "NotEnoughHistory": _json_error("a live household has too little history for statistics"),
    "CompatBadRequest": _json_error("bad set-up (seed's error shape)", "CompatError"),
    "CompatNotFound": _json_error("no set-up: 'First try stream_setup.'", "CompatError"),
}

COMPONENTS: dict[str, Any] = {
    "schemas": SCHEMAS,
    "parameters": PARAMETERS,
    "responses": RESPONSES,
    "securitySchemes": {
        "apiKey": {
            "type": "http",
            "scheme": "bearer",
            "description": "A household API key ('python -m server households add H' or "
            "'python -m server keys create H', or POST /api/v1/households), sent as "
            "'Authorization: Bearer gl_...'.",
        },
        "session": {
            "type": "apiKey",
            "in": "cookie",
            "name": "gridlight_session",
            "description": "The session cookie set by POST /api/v1/session (HttpOnly, "
            "SameSite=Lax, Secure over TLS). A signed-in user passes a household's checks by "
            "role: viewer, member and owner read; member and owner write (a meter's readings "
            "stay key-only). Every write authenticated by the cookie sends the session's "
            "csrf_token (GET /api/v1/session) in the X-CSRF-Token header, else 403 csrf_failed.",
        },
    },
}

# -- OAuth 2.0 and rate limits (#15) ----------------------------------------------------------------
#: OAuth scopes and what each lets a token do (the accounts' list, written once).
OAUTH_SCOPES: dict[str, str] = dict(SCOPES)
_OAUTH_ERROR_CODES = [
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "unsupported_token_type",
]
SCHEMAS.update(
    {
        "OAuthError": {
            "type": "object",
            "description": "RFC 6749 §5.2's error shape, which OAuth clients parse (the token "
            "and revocation endpoints)",
            "required": ["error"],
            "properties": {
                "error": {"type": "string", "examples": _OAUTH_ERROR_CODES},
                "error_description": {"type": "string"},
                "error_uri": {"type": "string"},
            },
        },
        "OAuthToken": {
            "type": "object",
            "description": "RFC 6749 §5.1: a bearer access token (`glat_…`) and a refresh token "
            "(`glrt_…`, rotated at each use: the one sent stops working)",
            "required": ["access_token", "token_type", "expires_in", "scope"],
            "properties": {
                "access_token": {"type": "string"},
                "token_type": {"type": "string", "const": "Bearer"},
                "expires_in": {"type": "integer", "description": "[s]", "examples": [3600]},
                "refresh_token": {"type": "string"},
                "scope": {"type": "string", "examples": ["read write"]},
            },
        },
        "OAuthTokenRequest": {
            "type": "object",
            "description": "RFC 6749 §4.1.3 (authorization_code, with the PKCE code_verifier of "
            "RFC 7636) or §6 (refresh_token). A confidential client authenticates with HTTP "
            "Basic or client_secret; a public one sends client_id alone.",
            "required": ["grant_type"],
            "properties": {
                "grant_type": {"type": "string", "enum": ["authorization_code", "refresh_token"]},
                "code": {"type": "string"},
                "redirect_uri": {"type": "string"},
                "code_verifier": {"type": "string", "minLength": 43, "maxLength": 128},
                "refresh_token": {"type": "string"},
                "scope": {"type": "string"},
                "client_id": {"type": "string"},
                "client_secret": {"type": "string"},
            },
            "examples": [
                {
                    "grant_type": "refresh_token",
                    "refresh_token": "glrt_...",
                    "client_id": "the-client-id",
                }
            ],
        },
        "OAuthRevokeRequest": {
            "type": "object",
            "description": "RFC 7009: the token to revoke; a refresh token takes its whole chain "
            "(and the access tokens it made) with it",
            "required": ["token"],
            "properties": {
                "token": {"type": "string"},
                "token_type_hint": {"type": "string", "enum": ["access_token", "refresh_token"]},
                "client_id": {"type": "string"},
                "client_secret": {"type": "string"},
            },
            "examples": [{"token": "glat_...", "client_id": "the-client-id"}],
        },
        "OAuthConsent": {
            "type": "object",
            "description": "The consent page's form (sent by the page itself)",
            "required": ["csrf_token", "decision"],
            "properties": {
                "csrf_token": {"type": "string", "description": "the session's CSRF token"},
                "decision": {"type": "string", "enum": ["approve", "deny"]},
            },
            "examples": [{"csrf_token": "from-the-page", "decision": "approve"}],
        },
        "OAuthMetadata": {
            "type": "object",
            "description": "RFC 8414 authorization server metadata",
            "required": [
                "issuer",
                "authorization_endpoint",
                "token_endpoint",
                "revocation_endpoint",
                "scopes_supported",
                "response_types_supported",
                "grant_types_supported",
                "code_challenge_methods_supported",
            ],
            "properties": {
                "issuer": {"type": "string"},
                "authorization_endpoint": {"type": "string"},
                "token_endpoint": {"type": "string"},
                "revocation_endpoint": {"type": "string"},
                "scopes_supported": {"type": "array", "items": {"type": "string"}},
                "response_types_supported": {"type": "array", "items": {"type": "string"}},
                "response_modes_supported": {"type": "array", "items": {"type": "string"}},
                "grant_types_supported": {"type": "array", "items": {"type": "string"}},
                "token_endpoint_auth_methods_supported": {
                    "type": "array",
                    "items": {"type": "string"},
                },
                "revocation_endpoint_auth_methods_supported": {
                    "type": "array",
                    "items": {"type": "string"},
                },
                "code_challenge_methods_supported": {
                    "type": "array",
                    "items": {"type": "string", "const": "S256"},
                },
                "service_documentation": {"type": "string"},
            },
        },
    }
)
RESPONSES["TooManyRequests"] = {
    **_json_error(
        "too many attempts from this address: sign-ins, password resets, token requests or "
        "failed key and token checks (rate_limited); retry after Retry-After seconds"
    ),
    "headers": {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}},
}
RESPONSES["Unauthorized"]["description"] = (
    "no API key, not a live key of this household, or an OAuth access token that is unknown, "
    "expired or revoked (invalid_token)"
)
RESPONSES["Forbidden"]["description"] = (
    "signed in, but without the role this needs (forbidden), a cookie-authenticated write "
    "without its X-CSRF-Token (csrf_failed), or an OAuth access token without the scope this "
    "needs (insufficient_scope, with WWW-Authenticate naming the scope)"
)
COMPONENTS["securitySchemes"]["oauth2"] = {
    "type": "oauth2",
    "description": "OAuth 2.0 access tokens ('Authorization: Bearer glat_...') from the "
    "authorization code flow with PKCE (S256; required of public clients such as the Android "
    "app). A token acts as its user: their role on the household still applies, and the route "
    "needs the scope listed (read for reads, write for writes, control for device commands, "
    "schedules and automations, admin for members and the audit log); else 403 "
    "insufficient_scope. Clients: 'python -m server oauth-clients add NAME --redirect-uri URI "
    "[--public]'. Metadata: /.well-known/oauth-authorization-server.",
    "flows": {
        "authorizationCode": {
            "authorizationUrl": "/oauth/authorize",
            "tokenUrl": "/oauth/token",
            "refreshUrl": "/oauth/token",
            "scopes": OAUTH_SCOPES,
        }
    },
}

# -- appliance models over HTTP (#18)
TRAINED_ON = {
    "type": ["object", "null"],
    "description": "the household the model was trained on (id, archetype, timezone, source)",
    "additionalProperties": True,
}
ON_LEVEL_W = {
    "type": ["number", "null"],
    "description": "the appliance's usual power when on where the model was trained [W]; "
    "attach with rated_w when this household's differs",
}
TRAINING_PERIOD = {
    "type": ["object", "null"],
    "description": "the span of its training readings (start, end, samples, days)",
    "additionalProperties": True,
}
SCHEMAS.update(
    {
        "AttachedEstimate": {
            "type": "object",
            "description": "a model attached to the household, and the live estimator's state",
            "required": ["appliance", "method", "live", "model", "model_resolution_s", "state"],
            "properties": {
                "appliance": {"type": "string", "examples": ["AC"]},
                "method": {"type": "string", "const": "gridlight-nilm"},
                "live": {"type": "boolean", "const": True},
                "model": {
                    "type": ["string", "null"],
                    "description": "the catalog name it was attached from; null when the "
                    "operator attached a file ('python -m server nilm attach')",
                },
                "model_resolution_s": {"type": "integer", "minimum": 1},
                "on_threshold_w": {
                    "type": ["number", "null"],
                    "description": "power above which the appliance counts as on here [W]",
                },
                "on_level_w": ON_LEVEL_W,
                "rated_w": {
                    "type": ["number", "null"],
                    "description": "the appliance's rating in this household given when "
                    "attaching [W] (null: the model's own level)",
                },
                "features_version": {"type": ["integer", "string", "null"]},
                "lag_s": {"type": ["integer", "null"]},
                "trained_on": TRAINED_ON,
                "training_period": TRAINING_PERIOD,
                "need_samples": {
                    "type": ["integer", "null"],
                    "description": "model windows of history the estimate needs",
                },
                "have_samples": {"type": "integer", "description": "while waiting_for_history"},
                "last_estimate_of": TIMESTAMP,
                "reason": {"type": "string", "description": "why it failed"},
                "state": {
                    "type": "string",
                    "enum": ["pending", "starting", "waiting_for_history", "estimating", "failed"],
                },
                "attached": TIMESTAMP,
            },
            "additionalProperties": True,
        },
        "EstimateList": {
            "type": "object",
            "required": ["household", "live", "estimates"],
            "properties": {
                "household": {"type": "string"},
                "live": {
                    "type": "boolean",
                    "description": "false for a household served from a dataset (no models)",
                },
                "estimates": {"type": "array", "items": ref("AttachedEstimate")},
            },
        },
        "EstimateAttached": {
            "allOf": [
                ref("AttachedEstimate"),
                {
                    "type": "object",
                    "required": ["household"],
                    "properties": {"household": {"type": "string"}},
                },
            ]
        },
        "CatalogModel": {
            "type": "object",
            "description": "a model the operator published ('python -m server nilm publish')",
            "required": ["name", "appliance", "model_resolution_s", "causal", "published"],
            "properties": {
                "name": {"type": "string", "examples": ["ac-causal-60s"]},
                "appliance": {"type": "string", "examples": ["AC"]},
                "model_resolution_s": {"type": "integer", "minimum": 1},
                "causal": {
                    "type": "boolean",
                    "description": "estimates from past readings only (every published model)",
                },
                "on_threshold_w": {
                    "type": ["number", "null"],
                    "description": "power above which the appliance counted as on where the "
                    "model was trained [W]",
                },
                "on_level_w": ON_LEVEL_W,
                "need_samples": {"type": ["integer", "null"]},
                "trained_on": TRAINED_ON,
                "training_period": TRAINING_PERIOD,
                "published": TIMESTAMP,
            },
        },
        "EstimateCatalog": {
            "type": "object",
            "required": ["household", "models"],
            "properties": {
                "household": {"type": "string"},
                "models": {
                    "type": "array",
                    "items": ref("CatalogModel"),
                    "description": "the published models this household could attach now "
                    "(not of an appliance it meters, not finer than its readings), by name",
                },
            },
        },
    }
)
