"""The OpenAPI path items, one function per route family (mirroring the blueprints that serve
them: :mod:`server.api`, :mod:`server.ingest`, the widget API, :mod:`server.alerts`,
:mod:`server.compat`)."""

from __future__ import annotations

from typing import Any

from server.openapi.schemas import ref

__all__ = ["paths"]

#: ``from``/``to`` query arguments: epoch seconds or ISO 8601 with a zone.
TIME_ARG = {
    "anyOf": [
        {"type": "integer", "description": "epoch seconds"},
        {"type": "string", "format": "date-time"},
    ]
}
SSE_HEADERS = {
    "Cache-Control": {"schema": {"type": "string", "const": "no-cache"}},
    "X-Accel-Buffering": {"schema": {"type": "string", "const": "no"}},
    "X-Gridlight-Worker": {"schema": {"type": "string"}, "description": "worker process id"},
}
#: Household reads: open for the demo households in demo mode, else a key of the household or a
#: signed-in user with any role on it.
OPEN_IN_DEMO = [{}, {"apiKey": []}, {"session": []}]
#: Household writes: a key of the household, or a signed-in owner or member.
KEY = [{"apiKey": []}, {"session": []}]
#: A meter's readings: the household's key only.
METER_KEY = [{"apiKey": []}]
#: The accounts' own routes for signed-in users.
SESSION = [{"session": []}]
#: Open (sign-up, verification, sign-in, password reset).
PUBLIC: list[dict[str, list[str]]] = []


def _p(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/parameters/{name}"}


def _r(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{name}"}


def _json(schema: dict[str, Any], description: str, **extra: Any) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema}},
        **extra,
    }


def _query(name: str, schema: dict[str, Any], description: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, **extra} | {
        "description": description
    }


def _body(schema_name: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": ref(schema_name)}}}


def _sse(description: str, events: str, schemas: dict[str, Any]) -> dict[str, Any]:
    """An SSE response; ``schemas``: the data of each event type (``x-sse-events``, which the
    Postman collection's tests validate every received event against)."""
    return {
        "description": f"{description}\n\n{events}",
        "headers": SSE_HEADERS,
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
        "x-sse-events": schemas,
    }


V1_EVENTS = (
    "Starts with `retry: 3000`. Events: `event: reading` with an `id:` (ReadingEvent), "
    "`event: resync` (ResyncEvent, no id), `event: error` (ErrorEvent, no id), `event: end` at "
    "the end of a replay or of a bounded stream (EndEvent, no id), `event: stats` when a new "
    "meter's statistics appear and its levels start (StatsEvent, no id), `event: command` when one "
    "of the household's commands is created or changes status (CommandEvent, no id), "
    "`event: insights` when the household's forecast and recommendations were refreshed "
    "(InsightsEvent, no id); `: ping` comments keep idle connections open."
)
LEGACY_EVENTS = (
    "The seed's lines: `data: {values} status: {colours}` with colours `Green`, `Yellow`, "
    "`Red`, `Critical Red` (a missing value is null and Critical Red), each with an `id:`; "
    "`event: end` (EndEvent, no id) at the end of a replay or of a bounded stream."
)
V1_EVENT_SCHEMAS = {
    "reading": ref("ReadingEvent"),
    "resync": ref("ResyncEvent"),
    "error": ref("ErrorEvent"),
    "end": ref("EndEvent"),
    "stats": ref("StatsEvent"),
    "command": ref("CommandEvent"),  # control (server/control)
    "insights": ref("InsightsEvent"),  # insights (server.insights.refresh)
}
_LEGACY_COLOUR = {"enum": ["Green", "Yellow", "Red", "Critical Red"]}
LEGACY_EVENT_SCHEMAS = {
    "message": {
        "type": "object",
        "description": "the seed's line `{values} status: {colours}`, read as the two objects",
        "required": ["values", "status"],
        "properties": {
            "values": {"type": "object", "additionalProperties": {"type": ["number", "null"]}},
            "status": {"type": "object", "additionalProperties": _LEGACY_COLOUR},
        },
    },
    "end": ref("EndEvent"),
}
BOUNDED = (
    "Bounded streams, for scripts and test runners: with `limit` and/or `until` the response "
    "ends by itself, after `limit` reading events (caught-up events after a Last-Event-ID "
    "count) or at `until`, whichever comes first, with a final `event: end` (no id) whose "
    '`reason` is `"limit"` or `"until"`. Do not reconnect after it: a browser EventSource '
    "reconnects whenever a response ends, so bounded streams are not for EventSource clients."
)
#: ``?limit=``: reading events after which a stream ends (``MAX_STREAM_LIMIT``).
LIMIT = _query(
    "limit",
    {"type": "integer", "minimum": 1, "maximum": 100_000},
    "end the stream after this many reading events, with `event: end`",
    example=3,
)
#: ``?until=``: wall-clock time at which a stream ends (``MAX_STREAM_UNTIL_S`` ahead at most).
UNTIL = _query(
    "until",
    TIME_ARG,
    "end the stream at this wall-clock time (for a replay too), with `event: end`: ISO 8601 "
    "with a zone (2026-11-22T06:25:50Z; write + as %2B) or epoch seconds, in the future and at "
    "most 86400 s ahead",
)


def households() -> dict[str, Any]:
    return {
        "/api/v1/households": {
            "get": {
                "operationId": "listHouseholds",
                "tags": ["households"],
                "summary": "Every household: datasets' and live ones",
                "responses": {"200": _json(ref("HouseholdList"), "the households")},
            }
        },
        "/api/v1/households/{household}": {
            "parameters": [_p("household")],
            "get": {
                "operationId": "getHousehold",
                "tags": ["households"],
                "summary": "One household (with its dataset's span when it has one)",
                "responses": {
                    "200": _json(ref("Household"), "the household"),
                    "404": _r("NotFound"),
                },
            },
        },
        "/api/v1/households/{household}/stats": {
            "parameters": [_p("household")],
            "get": {
                "operationId": "getStats",
                "tags": ["households"],
                "summary": "Quick statistics (thresholds of the traffic light) at an interval",
                "parameters": [
                    _p("interval"),
                    _query(
                        "by", {"type": "string", "enum": ["hour"]}, "thresholds per hour of day"
                    ),
                ],
                "security": OPEN_IN_DEMO,
                "responses": {
                    "200": _json(ref("QuickStats"), "the statistics"),
                    "400": _r("BadRequest"),
                    "401": _r("Unauthorized"),
                    "404": _r("NotFound"),
                    "409": _r("NotEnoughHistory"),
                },
            },
        },
        "/api/v1/households/{household}/stream": {
            "parameters": [_p("household")],
            "get": {
                "operationId": "streamHousehold",
                "tags": ["streams"],
                "summary": "SSE stream of classified readings (live, or a replay from start_index)",
                "description": "Live without start_index, resumable with Last-Event-ID; with "
                "start_index a replay of the dataset for this client alone (at speed).\n\n"
                + BOUNDED,
                "parameters": [
                    _p("interval"),
                    _query(
                        "start_index",
                        {"type": "integer", "minimum": 0},
                        "dataset second to replay from",
                    ),
                    _query(
                        "speed",
                        {"type": "number", "exclusiveMinimum": 0, "maximum": 1000},
                        "replay speed (dataset seconds per second); replays only",
                    ),
                    LIMIT,
                    UNTIL,
                    _p("lastEventIdHeader"),
                    _p("lastEventIdQuery"),
                ],
                "security": OPEN_IN_DEMO,
                "responses": {
                    "200": _sse("the stream", V1_EVENTS, V1_EVENT_SCHEMAS),
                    "400": _r("BadRequest"),
                    "401": _r("Unauthorized"),
                    "404": _r("NotFound"),
                },
            },
        },
    }


def ingest() -> dict[str, Any]:
    return {
        "/api/v1/households/{household}/readings": {
            "parameters": [_p("household")],
            "post": {
                "operationId": "postReadings",
                "tags": ["readings"],
                "summary": "Send a batch of readings (a live household)",
                "security": METER_KEY,
                "requestBody": _body("ReadingBatch"),
                "responses": {
                    "200": _json(ref("IngestResult"), "every reading stored (or a duplicate)"),
                    "207": _json(ref("IngestResult"), "some readings refused, the others stored"),
                    "400": _r("BadRequest"),
                    "401": _r("Unauthorized"),
                    "403": _json(
                        ref("Error"),
                        "the household has not consented to collection (consent_required);"
                        " nothing stored",
                    ),
                    "404": _r("NotFound"),
                    "413": _json(ref("Error"), "too many readings or bytes in one request"),
                    "422": _json(ref("IngestResult"), "every reading refused"),
                    "503": _json(ref("Error"), "storage unavailable; nothing stored, retry"),
                },
            },
            "get": {
                "operationId": "getReadings",
                "tags": ["readings"],
                "summary": "Stored readings, raw or aggregated",
                "description": (
                    "A live household's stored readings. A household the demo replays is not"
                    " metered: its history is what the replay publishes at each second (the"
                    " dataset's reading for the same local second of a day with the same weekday),"
                    " up to now."
                ),
                "security": OPEN_IN_DEMO,
                "parameters": [
                    _query(
                        "from",
                        TIME_ARG,
                        "ISO 8601 or epoch seconds; default: to minus the resolution's span",
                    ),
                    _query("to", TIME_ARG, "ISO 8601 or epoch seconds; default: now"),
                    _query(
                        "resolution",
                        {"type": "string", "enum": ["raw", "1m", "15m", "1h", "1d"]},
                        "default 1m",
                    ),
                    _query(
                        "channels",
                        {"type": "string", "example": "Overall,AC"},
                        "comma-separated channels to answer with (default: every channel);"
                        " 400 for a channel the household does not have",
                    ),
                ],
                "responses": {
                    "200": _json(ref("ReadingHistory"), "the readings, oldest first"),
                    "400": _r("BadRequest"),
                    "401": _r("Unauthorized"),
                    "404": _r("NotFound"),
                },
            },
        }
    }


def widget() -> dict[str, Any]:
    interval = _query(
        "interval", {"type": "integer", "minimum": 1}, "averaging interval [s] (default 60)"
    )
    return {
        "/api/v1/households/{household}/widget": {
            "parameters": [_p("household")],
            "get": {
                "operationId": "getWidget",
                "tags": ["widget"],
                "summary": "The widget state (strong ETag; If-None-Match answers 304)",
                "security": OPEN_IN_DEMO,
                "parameters": [
                    interval,
                    {"name": "If-None-Match", "in": "header", "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": _json(
                        ref("WidgetState"),
                        "the state",
                        headers={"ETag": {"schema": {"type": "string"}}},
                    ),
                    "304": {"description": "unchanged since the ETag given"},
                    "400": _r("BadRequest"),
                    "401": _r("Unauthorized"),
                    "404": _r("NotFound"),
                    "409": _r("NotEnoughHistory"),
                },
            },
        },
        "/api/v1/households/{household}/devices": {
            "parameters": [_p("household")],
            "post": {
                "operationId": "registerDevice",
                "tags": ["widget"],
                "summary": "Register a push token (FCM) for widget refreshes and alerts",
                "security": KEY,
                "requestBody": _body("DeviceRegistration"),
                "responses": {
                    "200": _json(ref("DeviceRegistered"), "already registered (refreshed)"),
                    "201": _json(ref("DeviceRegistered"), "registered"),
                    "400": _r("BadRequest"),
                    "401": _r("Unauthorized"),
                    "404": _r("NotFound"),
                },
            },
            "delete": {
                "operationId": "unregisterDevice",
                "tags": ["widget"],
                "summary": "Remove a push token",
                "security": KEY,
                "requestBody": _body("DeviceRemoval"),
                "responses": {
                    "200": _json(ref("DeviceRemoved"), "removed, or was not registered"),
                    "400": _r("BadRequest"),
                    "401": _r("Unauthorized"),
                    "404": _r("NotFound"),
                },
            },
        },
        "/api/v1/webpush/key": {
            "get": {
                "operationId": "webPushKey",
                "tags": ["alerts"],
                "summary": "The VAPID public key browsers subscribe to Web Push with",
                "security": PUBLIC,
                "responses": {"200": _json(ref("WebPushKey"), "the key")},
            },
        },
        "/api/v1/households/{household}/webpush": {
            "parameters": [_p("household")],
            "post": {
                "operationId": "subscribeWebPush",
                "tags": ["alerts"],
                "summary": "Push the household's alerts to this browser (Web Push subscription)",
                "security": KEY,
                "requestBody": _body("WebPushSubscription"),
                "responses": {
                    "200": _json(ref("WebPushSubscribed"), "already subscribed (keys refreshed)"),
                    "201": _json(ref("WebPushSubscribed"), "subscribed"),
                    "400": _r("BadRequest"),
                    "401": _r("Unauthorized"),
                    "404": _r("NotFound"),
                },
            },
            "delete": {
                "operationId": "unsubscribeWebPush",
                "tags": ["alerts"],
                "summary": "Stop pushing the household's alerts to a browser",
                "security": KEY,
                "requestBody": _body("WebPushRemoval"),
                "responses": {
                    "200": _json(ref("DeviceRemoved"), "removed, or was not subscribed"),
                    "400": _r("BadRequest"),
                    "401": _r("Unauthorized"),
                    "404": _r("NotFound"),
                },
            },
        },
        "/widget/{household}": {
            "parameters": [_p("household")],
            "get": {
                "operationId": "widgetPage",
                "tags": ["widget"],
                "summary": "The widget as a web page, kept live over SSE",
                "parameters": [
                    _query("interval", {"type": "integer", "minimum": 1}, "[s] (default 5)")
                ],
                "responses": {
                    "200": {
                        "description": "the page",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    },
                    "400": _r("BadRequest"),
                    "404": _r("NotFound"),
                    "409": _r("NotEnoughHistory"),
                },
            },
        },
    }


def alerts() -> dict[str, Any]:
    time_doc = "ISO 8601 with a zone (2026-11-22T06:00:00Z) or epoch seconds"
    return {
        "/api/v1/households/{household}/alert-settings": {
            "parameters": [_p("household")],
            "get": {
                "operationId": "getAlertSettings",
                "tags": ["alerts"],
                "summary": "The alert settings (addresses: always needs the key)",
                "security": KEY,
                "responses": {
                    "200": _json(ref("AlertSettings"), "the settings"),
                    "401": _r("Unauthorized"),
                    "404": _r("NotFound"),
                },
            },
            "put": {
                "operationId": "putAlertSettings",
                "tags": ["alerts"],
                "summary": "Change alert settings (merged over the current ones, then validated)",
                "security": KEY,
                "requestBody": _body("AlertSettingsDocument"),
                "responses": {
                    "200": _json(ref("AlertSettings"), "the settings now"),
                    "400": _r("BadRequest"),
                    "401": _r("Unauthorized"),
                    "404": _r("NotFound"),
                },
            },
        },
        "/api/v1/households/{household}/alerts": {
            "parameters": [_p("household")],
            "get": {
                "operationId": "listAlerts",
                "tags": ["alerts"],
                "summary": "The alert log, newest first, with each delivery's outcome",
                "security": OPEN_IN_DEMO,
                "parameters": [
                    _query("from", TIME_ARG, time_doc),
                    _query("to", TIME_ARG, time_doc),
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": 500}, "50"),
                    _query("cursor", {"type": "string"}, "next_cursor of the previous page"),
                ],
                "responses": {
                    "200": _json(ref("AlertPage"), "a page of alerts"),
                    "400": _r("BadRequest"),
                    "401": _r("Unauthorized"),
                    "404": _r("NotFound"),
                },
            },
        },
    }


# -- reports (#17) ----------------------------------------------------------------------------
def reports() -> dict[str, Any]:
    month = {
        "name": "month",
        "in": "path",
        "required": True,
        "description": "a calendar month of the household's time zone, YYYY-MM",
        "schema": {"type": "string", "pattern": r"^\d{4}-(0[1-9]|1[0-2])$"},
        "example": "2026-04",
    }
    return {
        "/api/v1/households/{household}/reports": {
            "parameters": [_p("household")],
            "get": {
                "operationId": "listReports",
                "tags": ["reports"],
                "summary": "The household's monthly reports, newest first",
                "description": "Made at midnight on the 1st of each month in the household's "
                "time zone (missed months caught up).",
                "security": OPEN_IN_DEMO,
                "responses": {
                    "200": _json(ref("ReportList"), "the reports"),
                    "401": _r("Unauthorized"),
                    "404": _r("NotFound"),
                },
            },
        },
        "/api/v1/households/{household}/reports/{month}.pdf": {
            "parameters": [_p("household"), month],
            "get": {
                "operationId": "getReportPdf",
                "tags": ["reports"],
                "summary": "One month's report as a PDF (ETag: its SHA-256)",
                "security": OPEN_IN_DEMO,
                "parameters": [
                    {
                        "name": "If-None-Match",
                        "in": "header",
                        "required": False,
                        "description": "the ETag of a copy held: 304 if unchanged",
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "the PDF",
                        "headers": {"ETag": {"schema": {"type": "string"}}},
                        "content": {
                            "application/pdf": {"schema": {"type": "string", "format": "binary"}}
                        },
                    },
                    "304": {"description": "unchanged since the ETag given"},
                    "400": _r("BadRequest"),
                    "401": _r("Unauthorized"),
                    "404": _json(ref("Error"), "unknown household, or no report of that month"),
                },
            },
        },
    }


# -- end reports


def operational() -> dict[str, Any]:
    return {
        "/healthz": {
            "get": {
                "operationId": "healthz",
                "tags": ["operations"],
                "summary": "Broker, database and stream readers of the answering worker",
                "responses": {
                    "200": _json(ref("Health"), "healthy"),
                    "503": _json(
                        ref("Health"), "the broker, the database or a stream reader is down"
                    ),
                },
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "tags": ["operations"],
                "summary": "Prometheus text exposition (OpenMetrics when asked for)",
                "responses": {
                    "200": {
                        "description": "the metrics, merged over the server's workers",
                        "content": {
                            "text/plain": {"schema": {"type": "string"}},
                            "application/openmetrics-text": {"schema": {"type": "string"}},
                        },
                    }
                },
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "tags": ["operations"],
                "summary": "This document",
                "responses": {"200": _json({"type": "object"}, "the OpenAPI 3.1 document")},
            }
        },
    }


def compat() -> dict[str, Any]:
    stream_id = _query(
        "stream_id", {"type": "string"}, "the set-up to use (else the stream_id cookie)"
    )
    cookie = {"name": "stream_id", "in": "cookie", "required": False, "schema": {"type": "string"}}
    return {
        "/stream_setup": {
            "post": {
                "operationId": "streamSetup",
                "tags": ["compatibility"],
                "summary": "The seed's set-up: choose household and interval (sets a cookie)",
                "security": OPEN_IN_DEMO,
                "requestBody": _body("StreamSetup"),
                "responses": {
                    "200": _json(
                        ref("StreamSetupDone"),
                        "set up",
                        headers={"Set-Cookie": {"schema": {"type": "string"}}},
                    ),
                    "400": _r("CompatBadRequest"),
                    "401": _json(ref("CompatError"), "the household needs its API key"),
                    "409": _json(ref("CompatError"), "a live household without enough history"),
                },
            }
        },
        "/stream_qstats": {
            "get": {
                "operationId": "streamQstats",
                "tags": ["compatibility"],
                "summary": "The set-up's quick statistics",
                "parameters": [stream_id, cookie],
                "responses": {
                    "200": _json(ref("QuickStats"), "the statistics"),
                    "400": _r("CompatBadRequest"),
                    "404": _r("CompatNotFound"),
                    "409": _json(ref("CompatError"), "a live household without enough history"),
                },
            }
        },
        "/stream_data": {
            "get": {
                "operationId": "streamData",
                "tags": ["compatibility", "streams"],
                "summary": "The set-up's SSE stream in the seed's line shape",
                "description": BOUNDED,
                "parameters": [
                    stream_id,
                    cookie,
                    LIMIT,
                    UNTIL,
                    _p("lastEventIdHeader"),
                    _p("lastEventIdQuery"),
                ],
                "responses": {
                    "200": _sse("the stream", LEGACY_EVENTS, LEGACY_EVENT_SCHEMAS),
                    "400": _r("CompatBadRequest"),
                    "404": _r("CompatNotFound"),
                    "409": _json(ref("CompatError"), "a live household without enough history"),
                },
            }
        },
    }


# -- control (server/control) ----------------------------------------------------------------------
def control() -> dict[str, Any]:
    device = {
        "name": "device",
        "in": "path",
        "required": True,
        "description": "the device id (``plug1``)",
        "schema": {"type": "string"},
        "example": "plug1",
    }
    command_id = {
        "name": "command_id",
        "in": "path",
        "required": True,
        "description": "the command's id",
        "schema": {"type": "string"},
    }
    return {
        "/api/v1/households/{household}/controls": {
            "parameters": [_p("household")],
            "get": {
                "operationId": "getControls",
                "tags": ["control"],
                "summary": "The household's controllable devices",
                "security": OPEN_IN_DEMO,
                "responses": {
                    "200": _json(ref("Controls"), "the devices"),
                    "401": _r("Unauthorized"),
                    "404": _r("NotFound"),
                },
            },
            "put": {
                "operationId": "putControls",
                "tags": ["control"],
                "summary": "Replace the household's controllable devices",
                "description": "Devices may also announce themselves over MQTT on "
                "`gridlight/{household}/control/{device}/config` (see docs/api.md).",
                "security": KEY,
                "requestBody": _body("ControlsDocument"),
                "responses": {
                    "200": _json(ref("Controls"), "the devices now"),
                    "400": _r("BadRequest"),
                    "401": _r("Unauthorized"),
                    "404": _r("NotFound"),
                },
            },
        },
        "/api/v1/households/{household}/controls/{device}/commands": {
            "parameters": [_p("household"), device],
            "post": {
                "operationId": "postCommand",
                "tags": ["control"],
                "summary": "Send a command to a device (acknowledged over MQTT)",
                "description": "Published QoS 1 on `gridlight/{household}/control/{device}/set` "
                "and resent with backoff until the device answers on `…/state` or the command "
                "expires. The same `id` with the same body is the same command (sent once); with "
                "another body, 409.",
                "security": KEY,
                "requestBody": _body("CommandRequest"),
                "responses": {
                    "202": _json(ref("Command"), "accepted: the command, pending"),
                    "400": _r("BadRequest"),
                    "401": _r("Unauthorized"),
                    "404": _r("NotFound"),
                    "409": _r("Conflict"),
                },
            },
        },
        "/api/v1/households/{household}/controls/{device}/commands/{command_id}": {
            "parameters": [_p("household"), device, command_id],
            "get": {
                "operationId": "getCommand",
                "tags": ["control"],
                "summary": "A command and its status",
                "security": KEY,
                "responses": {
                    "200": _json(ref("Command"), "the command"),
                    "401": _r("Unauthorized"),
                    "404": _r("NotFound"),
                },
            },
        },
        "/api/v1/households/{household}/schedule": {
            "parameters": [_p("household")],
            "get": {
                "operationId": "getSchedule",
                "tags": ["control"],
                "summary": "The deferrable loads and the plan in force",
                "security": KEY,
                "responses": {
                    "200": _json(ref("Schedule"), "the schedule (nulls: none)"),
                    "401": _r("Unauthorized"),
                    "404": _r("NotFound"),
                },
            },
            "put": {
                "operationId": "putSchedule",
                "tags": ["control"],
                "summary": "Plan deferrable loads over the next hours (MILP) and run the plan",
                "description": "Planned at 15-minute steps against the household's prices, "
                "carbon intensity and forecast base load, under the connection limit; the "
                "control leader switches each load's device on and off at its slots, and "
                "re-plans when the inputs change before a run starts.",
                "security": KEY,
                "requestBody": _body("ScheduleDocument"),
                "responses": {
                    "200": _json(ref("Schedule"), "the schedule and its plan"),
                    "400": _r("BadRequest"),
                    "401": _r("Unauthorized"),
                    "404": _r("NotFound"),
                    "422": _r("Infeasible"),
                },
            },
        },
        "/api/v1/households/{household}/recommendations/{recommendation_id}/apply": {
            "parameters": [
                _p("household"),
                {
                    "name": "recommendation_id",
                    "in": "path",
                    "required": True,
                    "description": "a current recommendation's id (GET …/recommendations)",
                    "schema": {"type": "string"},
                    "example": "shift-water-heating",
                },
            ],
            "post": {
                "operationId": "applyRecommendation",
                "tags": ["control"],
                "summary": "Apply a recommendation's action as a deferrable load, re-planned",
                "description": "The household's current recommendation of that id (its "
                "`action`: a `schedule` that switches a channel on in a window, as "
                "`shift-water-heating`) becomes a load of the schedule, id the recommendation's: "
                "on the body's `device`, else the device whose id or name is the channel's, else "
                "the only `water_heater`; in the window's next occurrence; a day's share of the "
                "movable energy at the device's rated power unless the body says. A load of the "
                "same id is replaced; the schedule is planned again. 404: no such recommendation "
                "now; 400: no action, or one that is not a load to deliver (switching off); 409: "
                "no device to switch; 422: no plan meets the constraints.",
                "security": KEY,
                "requestBody": {**_body("ApplyRequest"), "required": False},
                "responses": {
                    "201": _json(ref("AppliedRecommendation"), "the schedule with the load"),
                    "400": _r("BadRequest"),
                    "401": _r("Unauthorized"),
                    "404": _r("NotFound"),
                    "409": _r("Conflict"),
                    "422": _r("Infeasible"),
                },
            },
        },
        "/api/v1/households/{household}/automations": {
            "parameters": [_p("household")],
            "get": {
                "operationId": "getAutomations",
                "tags": ["control"],
                "summary": "The automation rules",
                "security": KEY,
                "responses": {
                    "200": _json(ref("Automations"), "the rules"),
                    "401": _r("Unauthorized"),
                    "404": _r("NotFound"),
                },
            },
            "put": {
                "operationId": "putAutomations",
                "tags": ["control"],
                "summary": "Replace the automation rules (a command when a channel stays red)",
                "security": KEY,
                "requestBody": _body("AutomationsDocument"),
                "responses": {
                    "200": _json(ref("Automations"), "the rules now"),
                    "400": _r("BadRequest"),
                    "401": _r("Unauthorized"),
                    "404": _r("NotFound"),
                },
            },
        },
    }


# -- (end of control)


# -- insights (server.insights.views) ----------------------------------------------------------
def insights() -> dict[str, Any]:
    horizon = _query(
        "horizon_h",
        {"type": "integer", "minimum": 1, "maximum": 168, "default": 24},
        "hours ahead, 1-168",
        example=24,
    )
    not_ready = _json(
        ref("Error"),
        "the household's readings are still being read (first request); retry after Retry-After",
        headers={"Retry-After": {"schema": {"type": "string"}}},
    )
    return {
        "/api/v1/households/{household}/forecast": {
            "parameters": [_p("household")],
            "get": {
                "operationId": "getForecast",
                "tags": ["insights"],
                "summary": "Hourly P10/P50/P90 demand forecast with cost and CO2",
                "description": "From the household's cached model (gradient-boosted quantile "
                "models fitted in the background and refitted daily; with under 14 days of "
                "history, or while the first fit runs, the same-hour baseline, and `model.reason` "
                "says why). A dataset household is forecast as of the end of its data (the local "
                "midnight after its last complete day), a live one as of now.",
                "security": OPEN_IN_DEMO,
                "parameters": [horizon],
                "responses": {
                    "200": _json(ref("Forecast"), "the forecast"),
                    "400": _r("BadRequest"),
                    "401": _r("Unauthorized"),
                    "404": _r("NotFound"),
                    "409": _json(ref("Error"), "a live household without a complete hour yet"),
                    "503": not_ready,
                },
            },
        },
        "/api/v1/households/{household}/forecast/accuracy": {
            "parameters": [_p("household")],
            "get": {
                "operationId": "getForecastAccuracy",
                "tags": ["insights"],
                "summary": "Yesterday's day-ahead forecast beside what happened, with its error in %",
                "description": "The forecast issued at the day's local midnight, using only the "
                "readings before it (its model fitted for that moment, off the request; the "
                "answer is cached until the household's readings are reloaded), compared hour "
                "by hour with the metered whole-house energy. A dataset household's yesterday is "
                "its last day.",
                "security": OPEN_IN_DEMO,
                "parameters": [
                    _query(
                        "day",
                        {"type": "string", "format": "date"},
                        "a local day YYYY-MM-DD that is over, from 1970-01-02 (default: "
                        "yesterday in the household's zone); later days are 400",
                        example="2026-01-06",
                    )
                ],
                "responses": {
                    "200": _json(ref("ForecastAccuracy"), "the forecast and the actual"),
                    "400": _r("BadRequest"),
                    "401": _r("Unauthorized"),
                    "404": _r("NotFound"),
                    "409": _json(ref("Error"), "no whole-house readings before that day"),
                    "503": not_ready,
                },
            },
        },
        "/api/v1/households/{household}/tariff": {
            "parameters": [_p("household")],
            "get": {
                "operationId": "getTariff",
                "tags": ["insights"],
                "summary": "The household's tariff (the demo's default INR time-of-use for A/B/C)",
                "security": OPEN_IN_DEMO,
                "responses": {
                    "200": _json(ref("TariffAnswer"), "the tariff, or null without one"),
                    "401": _r("Unauthorized"),
                    "404": _r("NotFound"),
                },
            },
            "put": {
                "operationId": "putTariff",
                "tags": ["insights"],
                "summary": "Set the household's tariff (prices the next answers at once)",
                "security": KEY,
                "requestBody": _body("TariffDocument"),
                "responses": {
                    "200": _json(ref("TariffAnswer"), "the tariff now"),
                    "400": _r("BadRequest"),
                    "401": _r("Unauthorized"),
                    "404": _r("NotFound"),
                },
            },
        },
        "/api/v1/households/{household}/recommendations": {
            "parameters": [_p("household")],
            "get": {
                "operationId": "getRecommendations",
                "tags": ["insights"],
                "summary": "Saving recommendations ranked by what they save per month",
                "security": OPEN_IN_DEMO,
                "responses": {
                    "200": _json(
                        ref("Recommendations"),
                        "ranked; empty with a note when there is too little history",
                    ),
                    "401": _r("Unauthorized"),
                    "404": _r("NotFound"),
                    "503": not_ready,
                },
            },
        },
    }


# -- end insights ---------------------------------------------------------------------------


def dashboard() -> dict[str, Any]:
    """The dashboard's page and the files that make it an installable web app (its static files
    under ``/dashboard/static/`` are, like Flask's own, not described one by one)."""

    def _file(
        operation: str, summary: str, media: str, schema: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return {
            "get": {
                "operationId": operation,
                "tags": ["dashboard"],
                "summary": summary,
                "responses": {
                    "200": {
                        "description": summary,
                        "content": {media: {"schema": schema or {"type": "string"}}},
                    }
                },
            }
        }

    manifest = {
        "type": "object",
        "required": ["name", "start_url", "display", "icons"],
        "properties": {
            "name": {"type": "string"},
            "short_name": {"type": "string"},
            "start_url": {"type": "string"},
            "display": {"type": "string"},
            "icons": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["src", "sizes", "type"],
                    "properties": {
                        "src": {"type": "string"},
                        "sizes": {"type": "string"},
                        "type": {"type": "string"},
                    },
                },
            },
        },
    }

    def _page(operation: str, summary: str, query: list[dict[str, Any]]) -> dict[str, Any]:
        item = _file(operation, summary, "text/html")
        item["get"]["parameters"] = query
        return item

    token = _query("token", {"type": "string"}, "the token=… of the emailed link")
    root = _file("dashboardPage", "The dashboard (a web page; GET /api/... for data)", "text/html")
    root["get"]["responses"]["302"] = {
        "description": "signed out and not in demo mode: to /dashboard/sign-in?next=…",
        "headers": {"Location": {"schema": {"type": "string"}}},
    }
    return {
        "/": root,
        "/dashboard/sign-in": _page(
            "dashboardSignIn",
            "Sign-in page (a form over POST /api/v1/session)",
            [_query("next", {"type": "string"}, "a path of this site to go to after signing in")],
        ),
        "/dashboard/sign-up": _page(
            "dashboardSignUp", "Sign-up page (a form over POST /api/v1/users)", []
        ),
        "/dashboard/verify-email": _page(
            "dashboardVerifyEmail",
            "The emailed verification link's page: posts its token to /api/v1/users/verify",
            [token],
        ),
        "/dashboard/reset-password": _page(
            "dashboardResetPassword",
            "Ask for a password-reset link; with ?token=, choose the new password",
            [token],
        ),
        "/dashboard/sign-out": _page(
            "dashboardSignOut", "Sign-out page (a button over DELETE /api/v1/session)", []
        ),
        "/manifest.webmanifest": _file(
            "dashboardManifest",
            "The dashboard's web app manifest",
            "application/manifest+json",
            manifest,
        ),
        "/sw.js": _file(
            "dashboardServiceWorker", "The dashboard's service worker", "text/javascript"
        ),
        "/dashboard/vendor/plotly.min.js": _file(
            "dashboardPlotly", "Plotly's JavaScript, served by the app (no CDN)", "text/javascript"
        ),
    }


def accounts() -> dict[str, Any]:
    """Users, the session, password reset, households over HTTP and their members (#15)."""
    csrf = {
        "name": "X-CSRF-Token",
        "in": "header",
        "required": False,
        "description": "the session's csrf_token (GET /api/v1/session); required on writes "
        "authenticated by the session cookie",
        "schema": {"type": "string"},
    }
    user_id = {
        "name": "user_id",
        "in": "path",
        "required": True,
        "description": "a member's user id",
        "schema": {"type": "integer", "minimum": 1},
        "example": 1,
    }
    bad, signed_out = _r("BadRequest"), _r("NotSignedIn")

    def op(op_id: str, summary: str, security: list, responses: dict, **extra: Any) -> dict:
        return {
            "operationId": op_id,
            "tags": ["accounts"],
            "summary": summary,
            "security": security,
            **extra,
            "responses": responses,
        }

    return {
        "/api/v1/users": {
            "post": op(
                "signUp",
                "Sign up; a verification link is emailed (its token=… goes to /users/verify)",
                PUBLIC,
                {
                    "201": _json(ref("SignUpResult"), "the new, unverified account"),
                    "400": bad,
                    "409": _json(ref("Error"), "an account has this email (email_taken)"),
                },
                requestBody=_body("SignUp"),
            )
        },
        "/api/v1/users/verify": {
            "post": op(
                "verifyEmail",
                "Confirm an email address with the token of the emailed link",
                PUBLIC,
                {
                    "200": _json(ref("UserResult"), "the account, verified"),
                    "400": _json(ref("Error"), "a bad, expired or void token (invalid_token)"),
                },
                requestBody=_body("VerifyEmail"),
            )
        },
        "/api/v1/session": {
            "post": op(
                "signIn",
                "Sign in: sets the session cookie; returns the CSRF token for writes",
                PUBLIC,
                {
                    "200": _json(ref("Session"), "signed in (Set-Cookie: gridlight_session)"),
                    "400": bad,
                    "401": _json(ref("Error"), "wrong email or password (invalid_credentials)"),
                    "403": _json(ref("Error"), "the email is not verified (email_not_verified)"),
                },
                requestBody=_body("SignIn"),
            ),
            "get": op(
                "getSession",
                "The signed-in user and the session's CSRF token",
                SESSION,
                {"200": _json(ref("Session"), "signed in"), "401": signed_out},
            ),
            "delete": op(
                "signOut",
                "Sign out (ends the session)",
                SESSION,
                {"204": {"description": "signed out"}, "401": signed_out, "403": _r("Forbidden")},
                parameters=[csrf],
            ),
        },
        "/api/v1/password-reset": {
            "post": op(
                "requestPasswordReset",
                "Email a password-reset link, if an account has this email (always 202)",
                PUBLIC,
                {"202": _json(ref("Accepted"), "accepted"), "400": bad},
                requestBody=_body("PasswordReset"),
            )
        },
        "/api/v1/password-reset/confirm": {
            "post": op(
                "confirmPasswordReset",
                "Choose a new password with the token of the emailed link (works once)",
                PUBLIC,
                {
                    "200": _json(ref("UserResult"), "the password changed; other sessions end"),
                    "400": _json(ref("Error"), "a bad password, or a bad/used token"),
                },
                requestBody=_body("PasswordResetConfirm"),
            )
        },
        "/api/v1/me": {
            "get": op(
                "getMe",
                "The signed-in user and their roles",
                SESSION,
                {"200": _json(ref("Me"), "the user"), "401": signed_out},
            ),
            "delete": op(
                "eraseMe",
                "Erase your account, and every household you alone own, everywhere",
                SESSION,
                {
                    "200": _json(ref("Erased"), "erased; the session ends"),
                    "401": signed_out,
                    "403": _r("Forbidden"),
                },
                parameters=[csrf],
            ),
        },
        "/api/v1/households": {
            "post": op(
                "createHousehold",
                "Create a live household: you become its owner; its first key is returned once",
                SESSION,
                {
                    "201": _json(ref("HouseholdCreated"), "the household and its meter key"),
                    "400": bad,
                    "401": signed_out,
                    "403": _r("Forbidden"),
                    "409": _json(ref("Error"), "the id is taken (household_exists)"),
                },
                parameters=[csrf],
                requestBody=_body("HouseholdCreate"),
            )
        },
        "/api/v1/households/{household}/members": {
            "parameters": [_p("household")],
            "get": op(
                "listMembers",
                "The household's members and roles (emails for owners)",
                SESSION,
                {
                    "200": _json(ref("MemberList"), "the members, owners first"),
                    "401": signed_out,
                    "403": _r("Forbidden"),
                    "404": _r("NotFound"),
                },
            ),
            "post": op(
                "inviteMember",
                "Give a verified account a role (owners)",
                SESSION,
                {
                    "201": _json(ref("Member"), "the new member"),
                    "400": bad,
                    "401": signed_out,
                    "403": _r("Forbidden"),
                    "404": _json(ref("Error"), "unknown household, or no verified account"),
                    "409": _json(ref("Error"), "they have a role already (already_member)"),
                },
                parameters=[csrf],
                requestBody=_body("MemberInvite"),
            ),
        },
        "/api/v1/households/{household}/members/{user_id}": {
            "parameters": [_p("household"), user_id],
            "patch": op(
                "changeMember",
                "Change a member's role (owners)",
                SESSION,
                {
                    "200": _json(ref("Member"), "the member"),
                    "400": bad,
                    "401": signed_out,
                    "403": _r("Forbidden"),
                    "404": _json(ref("Error"), "unknown household, or not a member"),
                    "409": _json(ref("Error"), "the household's last owner (last_owner)"),
                },
                parameters=[csrf],
                requestBody=_body("MemberRole"),
            ),
            "delete": op(
                "removeMember",
                "Revoke a member (owners), or leave (anyone but the last owner)",
                SESSION,
                {
                    "204": {"description": "removed"},
                    "401": signed_out,
                    "403": _r("Forbidden"),
                    "404": _json(ref("Error"), "unknown household, or not a member"),
                    "409": _json(ref("Error"), "the household's last owner (last_owner)"),
                },
                parameters=[csrf],
            ),
        },
        "/api/v1/households/{household}/keys": {
            "parameters": [_p("household")],
            "get": op(
                "listKeys",
                "The household's live API keys: ids, labels, created, last used (owners)",
                SESSION,
                {
                    "200": _json(ref("ApiKeyList"), "never the secrets"),
                    "401": signed_out,
                    "403": _r("Forbidden"),
                    "404": _r("NotFound"),
                },
            ),
            "post": op(
                "createKey",
                "Issue an API key (owners); its secret is in this answer only",
                SESSION,
                {
                    "201": _json(ref("ApiKeyCreated"), "the new key"),
                    "400": bad,
                    "401": signed_out,
                    "403": _r("Forbidden"),
                    "404": _json(ref("Error"), "unknown or not a live household"),
                },
                parameters=[csrf],
                requestBody={
                    "required": False,
                    "content": {"application/json": {"schema": ref("KeyCreate")}},
                },
            ),
        },
        "/api/v1/households/{household}/keys/{key_id}": {
            "parameters": [
                _p("household"),
                {
                    "name": "key_id",
                    "in": "path",
                    "required": True,
                    "description": "the key's id (the part after gl_ and before the next _)",
                    "schema": {"type": "string"},
                    "example": "0123456789ab",
                },
            ],
            "delete": op(
                "revokeKey",
                "Revoke an API key (owners): refused at once on every host",
                SESSION,
                {
                    "204": {"description": "revoked"},
                    "401": signed_out,
                    "403": _r("Forbidden"),
                    "404": _json(ref("Error"), "unknown household, or no live key with this id"),
                },
                parameters=[csrf],
            ),
        },
        # -- privacy (#15)
        "/api/v1/households/{household}/consent": {
            "parameters": [_p("household")],
            "get": op(
                "getConsent",
                "The household's consent per purpose, the wording's version and the log",
                KEY,
                {
                    "200": _json(ref("Consent"), "each purpose and the log of changes"),
                    "401": _r("Unauthorized"),
                    "403": _r("Forbidden"),
                    "404": _r("NotFound"),
                },
            ),
            "put": op(
                "putConsent",
                "Give or withdraw consent per purpose for the current wording (owners)",
                SESSION,
                {
                    "200": _json(ref("Consent"), "the consent as recorded"),
                    "400": bad,
                    "401": signed_out,
                    "403": _r("Forbidden"),
                    "404": _r("NotFound"),
                },
                parameters=[csrf],
                requestBody=_body("ConsentUpdate"),
            ),
        },
        "/api/v1/me/export": {
            "get": op(
                "exportMe",
                "Everything held about you and the households you own (JSON, or a zip with "
                "every reading)",
                SESSION,
                {
                    "200": {
                        "description": "the export (audited)",
                        "content": {
                            "application/json": {"schema": ref("Export")},
                            "application/zip": {
                                "schema": {"type": "string", "contentMediaType": "application/zip"}
                            },
                        },
                    },
                    "400": bad,
                    "401": signed_out,
                },
                parameters=[
                    _query(
                        "format",
                        {"type": "string", "enum": ["json", "zip"]},
                        "json (default) or zip (export.json and readings/<household>.csv)",
                    )
                ],
            )
        },
        "/api/v1/households/{household}/audit": {
            "parameters": [_p("household")],
            "get": op(
                "getAudit",
                "The household's audit log: creation, members, roles (owners)",
                SESSION,
                {
                    "200": _json(ref("AuditLog"), "newest first"),
                    "400": bad,
                    "401": signed_out,
                    "403": _r("Forbidden"),
                    "404": _r("NotFound"),
                },
                parameters=[
                    _query(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": 1000},
                        "entries (default 100)",
                    )
                ],
            ),
        },
    }


def oauth() -> dict[str, Any]:
    """The OAuth 2.0 authorization server (#15): consent, token, revocation, metadata."""
    form = "application/x-www-form-urlencoded"
    oauth_error = {"content": {"application/json": {"schema": ref("OAuthError")}}}
    query = [
        _query("response_type", {"type": "string", "enum": ["code"]}, "code", example="code"),
        _query("client_id", {"type": "string"}, "the registered client's id"),
        _query("redirect_uri", {"type": "string"}, "one of the client's redirect URIs, exactly"),
        _query("scope", {"type": "string"}, "space-separated: read write control admin"),
        _query("state", {"type": "string"}, "returned to the client as it was sent"),
        _query(
            "code_challenge",
            {"type": "string"},
            "PKCE (RFC 7636): BASE64URL(SHA256(code_verifier)); required of public clients",
        ),
        _query(
            "code_challenge_method", {"type": "string", "enum": ["S256"]}, "S256 (plain refused)"
        ),
    ]
    redirect = {
        "description": "to the client's redirect URI with code and state (approved), or with "
        "error (denied: access_denied; a bad request once the client and redirect URI are "
        "known), or, not signed in, to /dashboard/sign-in?next=…",
        "headers": {"Location": {"schema": {"type": "string"}}},
    }
    invalid = _json(
        ref("Error"),
        "an unknown client, or a redirect URI it did not register (never redirected to): the "
        "code is RFC 6749's error (invalid_client, invalid_request)",
    )

    def op(op_id: str, summary: str, security: list, responses: dict, **extra: Any) -> dict:
        return {
            "operationId": op_id,
            "tags": ["oauth"],
            "summary": summary,
            "security": security,
            **extra,
            "responses": responses,
        }

    return {
        "/oauth/authorize": {
            "get": op(
                "oauthAuthorize",
                "The consent page: which app asks for which scopes (signed-in users)",
                PUBLIC,
                {
                    "200": {
                        "description": "the consent page (approve or deny)",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    },
                    "302": redirect,
                    "400": invalid,
                },
                parameters=query,
            ),
            "post": op(
                "oauthConsent",
                "Approve or deny (the consent page's form, with the session's csrf_token)",
                SESSION,
                {
                    "302": redirect,
                    "400": invalid,
                    "401": _r("NotSignedIn"),
                    "403": _r("Forbidden"),
                },
                parameters=query,
                requestBody={
                    "required": True,
                    "content": {form: {"schema": ref("OAuthConsent")}},
                },
            ),
        },
        "/oauth/token": {
            "post": op(
                "oauthToken",
                "Exchange a code (with its PKCE verifier) or a refresh token (rotated) for tokens",
                PUBLIC,
                {
                    "200": _json(ref("OAuthToken"), "the tokens", headers=NO_STORE),
                    "400": {"description": "a bad request, code or refresh token", **oauth_error},
                    "401": {"description": "a wrong client secret (invalid_client)", **oauth_error},
                    "429": _r("TooManyRequests"),
                },
                requestBody={
                    "required": True,
                    "content": {form: {"schema": ref("OAuthTokenRequest")}},
                },
            )
        },
        "/oauth/revoke": {
            "post": op(
                "oauthRevoke",
                "Revoke an access or refresh token (RFC 7009; unknown tokens too, silently)",
                PUBLIC,
                {
                    "200": _json({"type": "object"}, "revoked (or never valid)"),
                    "400": {"description": "a bad request", **oauth_error},
                    "401": {"description": "a wrong client secret (invalid_client)", **oauth_error},
                    "429": _r("TooManyRequests"),
                },
                requestBody={
                    "required": True,
                    "content": {form: {"schema": ref("OAuthRevokeRequest")}},
                },
            )
        },
        "/.well-known/oauth-authorization-server": {
            "get": op(
                "oauthMetadata",
                "The authorization server's metadata (RFC 8414)",
                PUBLIC,
                {
                    "200": _json(ref("OAuthMetadata"), "endpoints, scopes, PKCE method"),
                    "503": _json(ref("Error"), "served over plain http away from loopback"),
                },
            )
        },
    }


def estimates() -> dict[str, Any]:
    """A household's appliance models, attached from the deployment's catalog (owners; #18)."""
    csrf = {
        "name": "X-CSRF-Token",
        "in": "header",
        "required": False,
        "description": "the session's csrf_token; required on writes authenticated by the "
        "session cookie",
        "schema": {"type": "string"},
    }
    appliance = {
        "name": "appliance",
        "in": "path",
        "required": True,
        "description": "the estimated channel (the model's appliance)",
        "schema": {"type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9]{0,31}$"},
        "example": "AC",
    }
    signed_out = _r("NotSignedIn")

    def op(op_id: str, summary: str, responses: dict, **extra: Any) -> dict:
        return {
            "operationId": op_id,
            "tags": ["estimates"],
            "summary": summary,
            "security": SESSION,
            **extra,
            "responses": {"401": signed_out, "403": _r("Forbidden"), **responses},
        }

    not_live = _json(ref("Error"), "a household served from a dataset (not_live)")
    return {
        "/api/v1/households/{household}/estimates": {
            "parameters": [_p("household")],
            "get": op(
                "listEstimates",
                "The appliance models attached to the household and their live state (owners)",
                {
                    "200": _json(ref("EstimateList"), "by appliance"),
                    "404": _r("NotFound"),
                },
            ),
        },
        "/api/v1/households/{household}/estimates/catalog": {
            "parameters": [_p("household")],
            "get": op(
                "listEstimateCatalog",
                "The published models the household could attach (owners)",
                {
                    "200": _json(ref("EstimateCatalog"), "by name"),
                    "404": _r("NotFound"),
                    "409": not_live,
                },
            ),
        },
        "/api/v1/households/{household}/estimates/{appliance}": {
            "parameters": [_p("household"), appliance],
            "put": op(
                "attachEstimate",
                "Estimate an appliance with a published model, by name (owners); the running "
                "estimator and open streams pick it up without a restart",
                {
                    "200": _json(ref("EstimateAttached"), "attached (state pending)"),
                    "400": _json(
                        ref("Error"),
                        "a body without a valid model name, a bad appliance, or a model that "
                        "cannot estimate this household (invalid_model)",
                    ),
                    "404": _json(
                        ref("Error"), "unknown household, or no model published so (unknown_model)"
                    ),
                    "409": _json(
                        ref("Error"),
                        "a household served from a dataset (not_live), or one that meters the "
                        "appliance (appliance_metered)",
                    ),
                },
                parameters=[csrf],
                requestBody=_body("EstimateAttach"),
            ),
            "delete": op(
                "detachEstimate",
                "Stop estimating the appliance (owners); estimates written stay",
                {
                    "204": {"description": "detached"},
                    "400": _json(ref("Error"), "a bad appliance name"),
                    "404": _json(
                        ref("Error"), "unknown household, or no model attached (unknown_estimate)"
                    ),
                },
                parameters=[csrf],
            ),
        },
    }


NO_STORE = {
    "Cache-Control": {"schema": {"type": "string"}},
    "Pragma": {"schema": {"type": "string"}},
}
#: The OAuth scope a route's access token needs: by operation for the accounts' routes, then by
#: tag and method (control writes need ``control``), then ``read`` for reads and ``write``.
ACCOUNTS_SCOPES = {
    "getMe": "read",
    "listMembers": "read",
    "createHousehold": "write",
    "inviteMember": "admin",
    "changeMember": "admin",
    "removeMember": "admin",
    "getAudit": "admin",
    "listKeys": "admin",
    "createKey": "admin",
    "revokeKey": "admin",
    "putConsent": "admin",
    "listEstimates": "admin",
    "listEstimateCatalog": "admin",
    "attachEstimate": "admin",
    "detachEstimate": "admin",
}
#: Routes limited by address (sign-in and password reset); the key checks are limited on failure.
LIMITED = {"signIn", "requestPasswordReset", "confirmPasswordReset"}


def _scope_of(op: dict[str, Any], method: str) -> str | None:
    op_id = op["operationId"]
    if op_id in ACCOUNTS_SCOPES:
        return ACCOUNTS_SCOPES[op_id]
    if "accounts" in op.get("tags", []):
        return None  # the session's own routes
    if method == "get" or "compatibility" in op.get("tags", []):
        return "read"  # a stream set-up is the capability to read
    return "control" if "control" in op.get("tags", []) else "write"


def _with_oauth(out: dict[str, Any]) -> None:
    """Every operation a household key or a session passes also takes an OAuth access token
    with its scope (meters' readings excepted), and may answer 403 insufficient_scope and 429
    (failed credentials are rate limited)."""
    compat_429 = _json(
        ref("CompatError"),
        "too many failed key or token checks from this address (seed's error shape)",
        headers={"Retry-After": {"schema": {"type": "integer", "minimum": 1}}},
    )
    compat_403 = _json(
        ref("CompatError"),
        "signed in without a role on the household, or a token without the read scope",
    )
    for path, item in out.items():
        compat = path.startswith("/stream_")
        too_many = compat_429 if compat else _r("TooManyRequests")
        forbidden = compat_403 if compat else _r("Forbidden")
        for method, op in item.items():
            if method not in METHODS:
                continue
            security = op.get("security", [])
            if op["operationId"] in LIMITED:
                op["responses"].setdefault("429", too_many)
            if {"session": []} not in security and {"apiKey": []} not in security:
                continue
            if "oauth" in op.get("tags", []):
                continue
            if {"apiKey": []} in security:
                op["responses"].setdefault("429", too_many)
            if {"session": []} not in security:
                continue  # a meter's readings: key only
            scope = _scope_of(op, method)
            if scope is None:
                continue
            op["security"] = [*security, {"oauth2": [scope]}]
            if compat and op["responses"].get("403") == _r("Forbidden"):
                op["responses"]["403"] = forbidden
            op["responses"].setdefault("403", forbidden)


def _with_roles(out: dict[str, Any]) -> None:
    """Operations a signed-in user may pass by role may also answer 403 (without the role, or a
    cookie-authenticated write without its CSRF token)."""
    for item in out.values():
        for method, op in item.items():
            if method in METHODS and {"session": []} in op.get("security", []):
                op["responses"].setdefault("403", _r("Forbidden"))


METHODS = ("get", "put", "post", "delete", "patch")


def paths() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in (
        households,
        ingest,
        widget,
        alerts,
        reports,
        operational,
        compat,
        control,
        insights,
        dashboard,
        accounts,
        estimates,
        oauth,
    ):
        for path, item in part().items():  # a path may gather methods of two families
            out.setdefault(path, {}).update(item)
    _with_roles(out)
    _with_oauth(out)
    return dict(sorted(out.items()))
