"""The reusable pieces of the OpenAPI document: JSON Schemas of every body, error shapes,
parameters and the bearer API key.

Each schema describes what the server really sends (checked by the fuzzing tests in
``tests/server/openapi``): maps keyed by channel name are ``additionalProperties`` objects, a meter that
reported nothing is ``null``, never 0.
"""

from __future__ import annotations

from typing import Any

__all__ = ["COMPONENTS", "ref"]

HOUSEHOLD_ID = r"^[A-Za-z0-9][A-Za-z0-9-]{0,31}$"
TIMESTAMP = {"type": "string", "format": "date-time", "examples": ["2026-11-22T06:25:50Z"]}
LEVEL = {"type": "string", "enum": ["green", "yellow", "red", "critical"]}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


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
        },
        "additionalProperties": True,
    },
    "Reading": {
        "type": "object",
        "description": "One reading: every channel at ``ts``, or one channel (with ``channel``).",
        "required": ["ts", "power_kw"],
        "properties": {
            "ts": {
                "oneOf": [TIMESTAMP, {"type": "number", "description": "epoch seconds"}],
            },
            "channel": {"type": "string"},
            "power_kw": {
                "oneOf": [
                    by_channel(NULLABLE_KW, "average power per channel [kW]"),
                    {"type": ["number", "null"], "description": "with channel [kW]"},
                ]
            },
        },
    },
    "ReadingBatch": {
        "type": "object",
        "required": ["readings"],
        "properties": {
            "readings": {"type": "array", "items": ref("Reading"), "maxItems": 10_000},
        },
        "examples": [
            {
                "readings": [
                    {"ts": "2026-11-22T06:25:50Z", "power_kw": {"AC": 1.5, "Overall": 2.31}},
                    {"ts": 1763792751, "channel": "Geyser", "power_kw": 0.0},
                ]
            }
        ],
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
                    },
                },
            },
        },
    },
    "DeviceRegistration": {
        "type": "object",
        "required": ["token", "platform"],
        "properties": {
            "token": {
                "type": "string",
                "minLength": 32,
                "maxLength": 4096,
                "pattern": r"^[A-Za-z0-9_:.\-]+$",
                "description": "the device's FCM registration token",
            },
            "platform": {"type": "string", "enum": ["android", "ios", "web"]},
        },
        "examples": [
            {"token": "fcm-token-of-the-device:APA91bExample0123456789", "platform": "android"}
        ],
    },
    "DeviceRemoval": {
        "type": "object",
        "required": ["token"],
        "properties": {"token": {"type": "string", "minLength": 32, "maxLength": 4096}},
        "examples": [{"token": "fcm-token-of-the-device:APA91bExample0123456789"}],
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
    "AlertSettingsDocument": {
        "type": "object",
        "description": "A household's alert settings. A PUT is merged over the current document "
        "(objects key by key) and the result validated whole; the webhook secret is write-only.",
        "additionalProperties": False,
        "properties": {
            "enabled": {"type": "boolean"},
            "timezone": {"type": "string", "examples": ["Asia/Kolkata"]},
            "quiet_hours": {
                "type": ["object", "null"],
                "description": "Local time (the household's timezone; may wrap midnight). "
                "Alerts inside are logged with quiet_hours true and not delivered, except "
                "critical ones; when the period ends, one digest (rule 'digest') listing them is "
                "delivered on the enabled channels (none after a night without any). null: no "
                "quiet hours.",
                "properties": {
                    "start": {"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d$"},
                    "end": {"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d$"},
                },
            },
            "cooldown_min": {"type": "integer", "minimum": 0, "maximum": 10080},
            "notify_recovery": {"type": "boolean"},
            "rules": {
                "type": "object",
                "properties": {
                    "spike": {
                        "type": "object",
                        "properties": {
                            "enabled": {"type": "boolean"},
                            "channels": {"type": "array", "items": {"type": "string"}},
                            "threshold": {"type": "number", "minimum": 1.01, "maximum": 1000},
                        },
                    },
                    "level": {
                        "type": "object",
                        "properties": {
                            "enabled": {"type": "boolean"},
                            "min_level": {"type": "string", "enum": ["red", "critical"]},
                            "intervals": {"type": "integer", "minimum": 1, "maximum": 1440},
                        },
                    },
                    "offline": {
                        "type": "object",
                        "properties": {
                            "enabled": {"type": "boolean"},
                            "after_min": {"type": "integer", "minimum": 1, "maximum": 10080},
                        },
                    },
                },
            },
            "channels": {
                "type": "object",
                "properties": {
                    "push": {"type": "object", "properties": {"enabled": {"type": "boolean"}}},
                    "email": {
                        "type": "object",
                        "properties": {
                            "enabled": {"type": "boolean"},
                            "to": {"type": "array", "items": {"type": "string"}, "maxItems": 5},
                        },
                    },
                    "sms": {
                        "type": "object",
                        "properties": {
                            "enabled": {"type": "boolean"},
                            "to": {"type": "array", "items": {"type": "string"}, "maxItems": 5},
                        },
                    },
                    "webhook": {
                        "type": "object",
                        "properties": {
                            "enabled": {"type": "boolean"},
                            "url": {"type": ["string", "null"]},
                            "secret": {
                                "type": ["string", "null"],
                                "description": "write-only; reads show null and secret_set",
                            },
                            "secret_set": {"type": "boolean", "readOnly": True},
                        },
                    },
                },
            },
        },
        "examples": [{"cooldown_min": 10, "quiet_hours": {"start": "22:00", "end": "07:00"}}],
    },
    "AlertSettings": {
        "type": "object",
        "required": ["household", "settings"],
        "properties": {
            "household": {"type": "string"},
            "settings": {
                "allOf": [ref("AlertSettingsDocument")],
                "required": [
                    "enabled",
                    "timezone",
                    "quiet_hours",
                    "cooldown_min",
                    "notify_recovery",
                    "rules",
                    "channels",
                ],
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
        "required": ["status", "worker", "broker", "readers"],
        "properties": {
            "status": {
                "type": "string",
                "enum": ["ok", "degraded", "unavailable"],
                "description": "degraded: streams work, the MQTT subscriber is down or silent",
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
            "readers": {"type": "object", "description": "stream readers of this worker"},
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
    "StreamSetup": {
        "type": "object",
        "required": ["household", "interval"],
        "properties": {
            "household": {"type": "string", "examples": ["A"]},
            "interval": {"type": "integer", "minimum": 1, "description": "[s]"},
            "start_index": {
                "type": ["integer", "null"],
                "minimum": 0,
                "description": "dataset second to replay from; live without it",
            },
            "speed": {"type": "number", "exclusiveMinimum": 0, "maximum": 1000},
        },
        "examples": [{"household": "A", "interval": 5, "start_index": 195950}],
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
            "level": by_channel(LEVEL, "traffic light"),
            "worst": LEVEL,
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
}

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


def _json_error(description: str, schema: str = "Error") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ref(schema)}}}


RESPONSES: dict[str, Any] = {
    "BadRequest": _json_error("a bad parameter or body; the message names the bad value"),
    "Unauthorized": {
        **_json_error("no API key, or not a live key of this household"),
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
    },
    "NotFound": _json_error("unknown household"),
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
            "'python -m server keys create H'), sent as 'Authorization: Bearer gl_...'.",
        }
    },
}
