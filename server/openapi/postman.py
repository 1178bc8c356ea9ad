"""A Postman collection (v2.1) generated from the OpenAPI document, and its environments.

A "Try it" folder first (list households, read statistics, read a bounded stream, resume after
its last event, read the widget state), then one folder per tag, one request per operation,
named by its summary. Paths use ``{{baseUrl}}`` and the ``:household`` path variable bound to
``{{household}}`` (a demo household), or to ``{{liveHousehold}}`` for the operations that always
need its key (writes, alert settings); requests that need a key inherit the collection's bearer
auth (``{{apiKey}}``), the others are ``noauth``. Query parameters carry their examples; optional
ones are present but disabled, except a stream's ``limit`` (so that every stream request ends)
and the seed's ``stream_id`` (``{{streamId}}``, saved by the set-up). Bodies are the schema's
first example, with times of now. Every request has a test script (:mod:`server.openapi.postman_tests`):
status, content type, body (or each SSE event) against the documented schema; some save variables
for later requests. The output is deterministic (ids are UUID5s of the names), so the committed
files can be checked to be current: ``python -m server.openapi postman --out docs/postman``.
``make test`` runs the collection with newman against the app served on loopback
(``tests/server/openapi/test_newman.py``).
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

from server.openapi.postman_tests import script_event, test_lines

__all__ = [
    "COLLECTION_FILE",
    "ENVIRONMENTS",
    "collection",
    "environments",
    "postman_segment",
    "render",
    "write",
]

SCHEMA_URL = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
NAMESPACE = uuid.UUID("6f1f6b1e-4f7e-4c57-9a43-6772696c6967")  # fixed: stable ids
COLLECTION_FILE = "gridlight.postman_collection.json"
#: An FCM registration token's shape, for trying device registration without a phone.
EXAMPLE_FCM_TOKEN = "fcm-token-of-the-device:APA91bExample0123456789"
#: Environment name → file name and values. The demo URL is Render's address for the
#: ``gridlight-web`` service of render.yaml.
ENVIRONMENTS: dict[str, tuple[str, dict[str, str]]] = {
    "Gridlight local": (
        "local.postman_environment.json",
        {
            "baseUrl": "http://127.0.0.1:5000",
            "household": "A",
            "liveHousehold": "H1",
            "apiKey": "",
            "fcmToken": EXAMPLE_FCM_TOKEN,
        },
    ),
    "Gridlight demo": (
        "demo.postman_environment.json",
        {
            "baseUrl": "https://gridlight-web.onrender.com",
            "household": "A",
            "liveHousehold": "H1",
            "apiKey": "",
            "fcmToken": EXAMPLE_FCM_TOKEN,
        },
    ),
}
SECRETS = {"apiKey", "fcmToken"}
#: Body fields filled from variables instead of the spec's example (readings are sent as of now).
BODY_VARIABLES = {
    "token": "{{fcmToken}}",
    "household": "{{household}}",
    "ts": "{{$isoTimestamp}}",
}
#: Body fields added to the spec's example, by operation: the seed's set-up replays fast, so that
#: its bounded stream ends in a moment.
BODY_EXTRA: dict[str, dict[str, Any]] = {
    "streamSetup": {"speed": 60},
    # -- accounts (#15): a new account per run; the signed-in account and the emailed token are
    # the user's to set (userEmail, userPassword, emailToken)
    "signUp": {"email": "{{$randomEmail}}"},
    "signIn": {"email": "{{userEmail}}", "password": "{{userPassword}}"},
    "verifyEmail": {"token": "{{emailToken}}"},
    "confirmPasswordReset": {"token": "{{emailToken}}"},
    "requestPasswordReset": {"email": "{{userEmail}}"},
}
#: Optional query parameters enabled in the collection, with their values: a stream's ``limit``
#: (a stream request must end), the seed's set-up id saved by ``POST /stream_setup``.
STREAM_LIMIT = 3
QUERY_VALUES = {"stream_id": "{{streamId}}"}
METHODS = ("get", "post", "put", "delete", "patch")
#: Operations run first in their folder: they save variables the others use.
FIRST = ("streamSetup", "signIn")
#: Variables the collection carries between requests (set by test scripts).
COLLECTION_VARIABLES = {
    "baseUrl": "http://127.0.0.1:5000",
    "household": "A",
    "liveHousehold": "H1",
    "streamId": "",
    "lastEventId": "",
    "lastEventTs": "",
    "device": "plug1",  # control: the device of PUT …/controls' example
    "command_id": "",  # control: saved by POST …/commands
    "month": "",  # a report's month, saved by the reports' list
    "recommendation_id": "shift-water-heating",  # control: …/recommendations/{id}/apply
    # -- accounts (#15): a verified account to sign in with, the token of an emailed link, the
    # session's CSRF token (saved by the sign-in) and a member's user id
    "userEmail": "ada@example.org",
    "userPassword": "correct horse battery",
    "emailToken": "",
    "csrfToken": "",
    "user_id": "1",
}
#: Documented statuses besides the successes an operation may answer in the collection's run:
#: the live household it writes to has no readings yet, so no recommendation to apply (404).
ACCEPTED: dict[str, tuple[str, ...]] = {
    "applyRecommendation": ("404",),
    # accounts (#15): an unattended run has no mailbox, so no verified account to sign in with
    # and no emailed token; each of these answers as documented for that case
    "verifyEmail": ("400",),
    "confirmPasswordReset": ("400",),
    "signIn": ("401", "403"),
    **{
        op: ("401",)
        for op in (
            "getSession",
            "signOut",
            "getMe",
            "createHousehold",
            "listMembers",
            "inviteMember",
            "changeMember",
            "removeMember",
            "getAudit",
            # keys over HTTP (#21): owners signed in
            "listKeys",
            "createKey",
            "revokeKey",
            # privacy (#15): consent changes, export and erasure are a signed-in person's
            "putConsent",
            "exportMe",
            "eraseMe",
            # appliance models over HTTP (#18): a household's owners signed in
            "listEstimates",
            "listEstimateCatalog",
            "attachEstimate",
            "detachEstimate",
        )
    },
    # OAuth (#15): no registered client in an unattended run; each answers as documented
    "oauthAuthorize": ("400",),
    "oauthConsent": ("401",),
    "oauthToken": ("400", "401"),
    "oauthRevoke": ("400", "401"),
}
#: Lines added to an operation's test script: variables saved for later requests.
SAVE = {
    "signIn": """
if (pm.response.code === 200) {
    pm.collectionVariables.set("csrfToken", pm.response.json().csrf_token);
}""",
    "streamSetup": """
if (pm.response.code === 200) {
    pm.collectionVariables.set("streamId", pm.response.json().stream_id);
}""",
    "postCommand": """
if (pm.response.code === 202) {
    pm.collectionVariables.set("command_id", pm.response.json().id);
}""",
    "listReports": """
if (pm.response.code === 200 && pm.response.json().reports.length) {  // for the PDF request
    pm.collectionVariables.set("month", pm.response.json().reports[0].month);
}""",
    "streamHousehold": """
if (readings.length) {  // for a resume (Last-Event-ID) from here
    pm.collectionVariables.set("lastEventId", readings[readings.length - 1].id);
    pm.collectionVariables.set("lastEventTs", JSON.parse(readings[readings.length - 1].data).ts);
}""",
}
#: The "Try it" folder: (operation, request name, query values, extra test lines).
TRY_IT: tuple[tuple[str, str, dict[str, str], str], ...] = (
    (
        "listHouseholds",
        "1. List the households",
        {},
        """
pm.test("the household of the environment is listed", function () {
    const ids = pm.response.json().households.map(function (h) { return h.id; });
    pm.expect(ids).to.include(pm.variables.get("household"));
});""",
    ),
    ("getStats", "2. Read its statistics (the traffic light's thresholds)", {}, ""),
    (
        "streamHousehold",
        "3. Read a bounded stream (3 readings, then event: end)",
        {"limit": str(STREAM_LIMIT)},
        """
pm.test("3 readings, then an end event with reason limit", function () {
    pm.expect(readings.length).to.eql(3);
    pm.expect(JSON.parse(events[events.length - 1].data).reason).to.eql("limit");
});""",
    ),
    (
        "streamHousehold",
        "4. Resume after its last event (Last-Event-ID)",
        {"limit": str(STREAM_LIMIT), "last_event_id": "{{lastEventId}}"},
        """
pm.test("resumed right after the last event: the next window, nothing lost or repeated", function () {
    const previousTs = pm.collectionVariables.get("lastEventTs");
    pm.expect(previousTs, "set by the stream before").to.not.be.empty;
    pm.expect(readings.length).to.be.above(0);
    const first = JSON.parse(readings[0].data);
    pm.expect(Date.parse(first.ts) - Date.parse(previousTs)).to.eql(first.interval_s * 1000);
    pm.expect(readings[0].id).to.not.eql(pm.collectionVariables.get("lastEventId"));
});""",
    ),
    ("getWidget", "5. Read the widget state", {}, ""),
)
RUNNING = """\
## Running this collection

Import it with an environment from the same folder (`local`, `demo`). Reads of the demo households
(`household`, `A`) need no key. Writes and alert settings go to a live household
(`liveHousehold`, `H1`) and need its key in `apiKey`: create the household signed in (the
accounts folder's `POST /api/v1/households` returns its key once), or register one on the server
and copy the key it prints on its last line:

    python -m server households add H1 --channels AC,Geyser,Overall

The accounts folder signs in first with `userEmail` and `userPassword` (a verified account: sign
up, then paste the token of the emailed link into `emailToken` for the verification request) and
keeps the session's cookie and CSRF token (`csrfToken`) for the requests that follow.

The reports' PDF request reads the month the reports' list names first (`month`); a server
makes the demo households' reports of their data's month when it starts, or make one yourself:

    python -m server reports generate --household A --month 2026-04

Every request tests its answer against the OpenAPI document (status, content type, body or each
stream event against its schema); streams are bounded (`limit=3`), so the whole collection runs
to the end in Postman's runner or with newman:

    newman run gridlight.postman_collection.json -e local.postman_environment.json \\
        --env-var apiKey=gl_... --timeout-request 60000

(`make test` does this against a server it starts: `tests/server/openapi/test_newman.py`.)
Variables carried between requests: `streamId` (from the seed's set-up), `lastEventId` and
`lastEventTs` (from a bounded stream, for the resume), `month` (from the reports' list)."""
TRY_IT_DOC = """\
Runs end to end against a server with the demo (`make run`): list the households, read one's
statistics, read a bounded stream of it (`limit=3`: three readings, then `event: end`), resume
after its last event, read its widget state. The stream requests take about three intervals
(15 s at `interval=5` in real time)."""


def _id(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


def _resolve(spec: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in item:
        node: Any = spec
        for part in item["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        item = node
    return item


def _example(param: dict[str, Any]) -> str:
    value = param.get("example")
    schema = param.get("schema", {})
    if value is None:
        value = (schema.get("examples") or schema.get("enum") or [None])[0]
    return "" if value is None else str(value)


def _fill(value: Any) -> Any:
    """The spec's example with :data:`BODY_VARIABLES` filled in, at any depth."""
    if isinstance(value, dict):
        return {k: BODY_VARIABLES.get(k, _fill(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v) for v in value]
    return value


def _body(spec: dict[str, Any], op: dict[str, Any]) -> dict[str, Any] | None:
    request_body = op.get("requestBody")
    if request_body is None:
        return None
    content = request_body["content"]
    if "application/json" not in content:  # an HTML form (OAuth's endpoints): urlencoded
        form_schema = _resolve(spec, content["application/x-www-form-urlencoded"]["schema"])
        fields = dict((form_schema.get("examples") or [{}])[0])
        return {
            "mode": "urlencoded",
            "urlencoded": [{"key": k, "value": str(v), "type": "text"} for k, v in fields.items()],
        }
    schema = _resolve(spec, content["application/json"]["schema"])
    example = _fill(dict((schema.get("examples") or [{}])[0]))
    example.update(BODY_EXTRA.get(op["operationId"], {}))
    return {
        "mode": "raw",
        "raw": json.dumps(example, indent=2),
        "options": {"raw": {"language": "json"}},
    }


def _is_stream(op: dict[str, Any]) -> bool:
    return "text/event-stream" in op.get("responses", {}).get("200", {}).get("content", {})


def _needs_key(op: dict[str, Any]) -> bool:
    """A household's key is needed (or a signed-in member's session): never open."""
    security = op.get("security") or []
    return {"apiKey": []} in security and {} not in security


def _query_values(op: dict[str, Any], given: dict[str, str] | None) -> dict[str, str]:
    """Query parameters enabled in the request, with their values."""
    values = dict(QUERY_VALUES)
    if _is_stream(op):
        values["limit"] = str(STREAM_LIMIT)
    return values | (given or {})


def postman_segment(segment: str) -> str:
    """A path segment in Postman's terms: ``{household}`` → the path variable ``:household``; a
    parameter inside a segment (``{month}.pdf``) → the variable ``{{month}}.pdf``."""
    whole = re.fullmatch(r"\{(\w+)\}", segment)
    if whole:
        return ":" + whole.group(1)
    return re.sub(r"\{(\w+)\}", r"{{\1}}", segment)


def _request(
    spec: dict[str, Any],
    path: str,
    method: str,
    op: dict[str, Any],
    item: dict,
    given: dict[str, str] | None = None,
) -> dict:
    params = [_resolve(spec, p) for p in item.get("parameters", []) + op.get("parameters", [])]
    segments = [postman_segment(s) for s in path.strip("/").split("/") if s]
    enabled = _query_values(op, given)
    query = [
        {
            "key": p["name"],
            "value": enabled.get(p["name"], _example(p)),
            "description": p.get("description", ""),
            **({} if p.get("required") or p["name"] in enabled else {"disabled": True}),
        }
        for p in params
        if p["in"] == "query"
    ]
    headers = [
        {"key": p["name"], "value": "", "description": p.get("description", ""), "disabled": True}
        if p["name"] != "X-CSRF-Token"
        else {"key": p["name"], "value": "{{csrfToken}}", "description": p.get("description", "")}
        for p in params
        if p["in"] == "header"
    ]
    url: dict[str, Any] = {
        "raw": "{{baseUrl}}/"
        + "/".join(segments)
        + (
            "?" + "&".join(f"{q['key']}={q['value']}" for q in query if not q.get("disabled"))
            if any(not q.get("disabled") for q in query)
            else ""
        ),
        "host": ["{{baseUrl}}"],
        "path": segments,
    }
    if query:
        url["query"] = query
    household = "{{liveHousehold}}" if _needs_key(op) else "{{household}}"
    variables = [
        {
            "key": p["name"],
            "value": household if p["name"] == "household" else "{{" + p["name"] + "}}",
            "description": p.get("description", ""),
        }
        for p in params
        if p["in"] == "path" and ":" + p["name"] in segments
    ]
    if variables:
        url["variable"] = variables
    body = _body(spec, op)
    if body is not None:
        headers.insert(0, {"key": "Content-Type", "value": "application/json"})
    request: dict[str, Any] = {
        "method": method.upper(),
        "header": headers,
        "url": url,
        "description": op.get("description", op.get("summary", "")),
    }
    if body is not None:
        request["body"] = body
    if not _needs_key(op):
        request["auth"] = {"type": "noauth"}
        if {"apiKey": []} in op.get("security", []):
            request.pop("auth")  # open in demo mode, the key elsewhere: inherit the bearer key
    return request


def _item(
    spec: dict[str, Any],
    path: str,
    method: str,
    *,
    name: str | None = None,
    given: dict[str, str] | None = None,
    extra: str = "",
) -> dict[str, Any]:
    """One request with its test script (``given``: query values; ``extra``: script lines)."""
    item = spec["paths"][path]
    op = item[method]
    request = _request(spec, path, method, op, item, given)
    limit = next(
        (
            int(q["value"])
            for q in request["url"].get("query", [])
            if q["key"] == "limit" and not q.get("disabled") and _is_stream(op)
        ),
        None,
    )
    script = test_lines(
        spec,
        op,
        limit=limit,
        extra=extra + SAVE.get(op["operationId"], ""),
        accept=ACCEPTED.get(op["operationId"], ()),
    )
    return {
        "id": _id(op["operationId"]) if name is None else _id("try-it", name),
        "name": name or op.get("summary", op["operationId"]),
        "event": [script_event("test", script)],
        "request": request,
        "response": [],
    }


def _operations(spec: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """operationId → (path, method)."""
    return {
        op["operationId"]: (path, method)
        for path, item in spec["paths"].items()
        for method in METHODS
        if (op := item.get(method)) is not None
    }


def collection(spec: dict[str, Any]) -> dict[str, Any]:
    """The Postman v2.1 collection of ``spec``."""
    operations = _operations(spec)
    try_it = [
        _item(spec, *operations[op_id], name=name, given=given, extra=extra)
        for op_id, name, given, extra in TRY_IT
    ]
    folders: dict[str, list[dict[str, Any]]] = {t["name"]: [] for t in spec.get("tags", [])}
    ordered = sorted(operations.items(), key=lambda kv: kv[0] not in FIRST)  # stable
    for _, (path, method) in ordered:
        tag = spec["paths"][path][method].get("tags", ["other"])[0]
        folders.setdefault(tag, []).append(_item(spec, path, method))
    tag_docs = {t["name"]: t.get("description", "") for t in spec.get("tags", [])}
    return {
        "info": {
            "_postman_id": _id(spec["info"]["title"]),
            "name": spec["info"]["title"],
            "description": spec["info"].get("description", "") + "\n" + RUNNING,
            "schema": SCHEMA_URL,
        },
        "auth": {
            "type": "bearer",
            "bearer": [{"key": "token", "value": "{{apiKey}}", "type": "string"}],
        },
        "item": [
            {
                "id": _id("folder", "Try it"),
                "name": "Try it",
                "description": TRY_IT_DOC,
                "item": try_it,
            },
            *(
                {
                    "id": _id("folder", tag),
                    "name": tag,
                    "description": tag_docs.get(tag, ""),
                    "item": items,
                }
                for tag, items in folders.items()
                if items
            ),
        ],
        "variable": [{"key": k, "value": v} for k, v in COLLECTION_VARIABLES.items()],
    }


def environments() -> dict[str, dict[str, Any]]:
    """File name → Postman environment (local server and the hosted demo)."""
    out = {}
    for name, (file_name, values) in ENVIRONMENTS.items():
        out[file_name] = {
            "id": _id("environment", name),
            "name": name,
            "values": [
                {
                    "key": key,
                    "value": value,
                    "type": "secret" if key in SECRETS else "default",
                    "enabled": True,
                }
                for key, value in values.items()
            ],
            "_postman_variable_scope": "environment",
        }
    return out


def render(spec: dict[str, Any]) -> dict[str, str]:
    """File name → file text of the collection and the environments."""
    files = {COLLECTION_FILE: collection(spec), **environments()}
    return {
        name: json.dumps(doc, indent=2, ensure_ascii=False) + "\n" for name, doc in files.items()
    }


def write(spec: dict[str, Any], out_dir: str | Path) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render(spec).items():
        path = out / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
