"""The test scripts of the generated Postman collection, from the OpenAPI document.

Every request gets one self-contained script (so that it reads the same in Postman's Tests tab as
in the file) that checks, against what the document says of the operation:

* the status is one of its documented successes (2xx);
* the ``Content-Type`` is the documented media type of that status;
* a JSON body validates against the documented schema (``pm.response.to.have.jsonSchema``, the
  schema embedded with every ``$ref`` resolved); an HTML page (the dashboard's) starts with its
  doctype;
* a ``text/event-stream`` body is parsed into events and each event's data validates against the
  schema the response lists for its event type (``x-sse-events``, ajv); an ``error`` event fails.
  When the request bounds the stream (``limit``), the stream ends with an ``end`` event whose
  counts agree with the readings received.

Scripts may add lines of their own (``extra``): variables carried to later requests, and the
"Try it" folder's checks across requests.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["inline", "script_event", "test_lines"]

#: Keywords left out of embedded schemas: documentation only, and they make scripts long.
DROPPED = frozenset({"description", "examples", "example", "readOnly"})


def _resolve_ref(spec: dict[str, Any], ref: str) -> Any:
    node: Any = spec
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def inline(spec: dict[str, Any], schema: Any) -> Any:
    """``schema`` with every ``$ref`` replaced by what it points to (siblings merged over it)."""
    if isinstance(schema, list):
        return [inline(spec, s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    if "$ref" in schema:
        out.update(inline(spec, _resolve_ref(spec, schema["$ref"])))
    for key, value in schema.items():
        if key == "$ref" or key in DROPPED:
            continue
        if key in ("properties", "patternProperties", "$defs"):  # maps of names to schemas
            out[key] = {name: inline(spec, sub) for name, sub in value.items()}
        else:
            out[key] = inline(spec, value)
    return out


def _responses(spec: dict[str, Any], op: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Status → ``{"type": media type or None, "schema": ..., "events": {event: schema}}``."""
    out: dict[str, dict[str, Any]] = {}
    for status, response in op.get("responses", {}).items():
        while "$ref" in response:
            response = _resolve_ref(spec, response["$ref"])
        content = response.get("content") or {}
        media, body = next(iter(content.items()), (None, {}))
        entry: dict[str, Any] = {"type": media}
        if media == "application/json":
            entry["schema"] = inline(spec, body.get("schema", {}))
        if media == "text/event-stream":
            entry["events"] = {
                name: inline(spec, schema)
                for name, schema in response.get("x-sse-events", {}).items()
            }
        out[status] = entry
    return out


# The generic part of every script. ``RESPONSES``, ``SUCCESS`` and ``LIMIT`` are declared above it.
CHECKS = r"""
const status = String(pm.response.code);
const documented = RESPONSES[status];
pm.test("status " + status + " is a documented success (" + SUCCESS.join(", ") + ")", function () {
    pm.expect(SUCCESS).to.include(status, pm.response.text().slice(0, 300));
});
const mediaType = (pm.response.headers.get("Content-Type") || "").split(";")[0].trim();
if (documented && documented.type) {
    pm.test("Content-Type is " + documented.type, function () {
        pm.expect(mediaType).to.eql(documented.type);
    });
}
if (documented && documented.schema && mediaType === "application/json") {
    pm.test("the body matches the documented schema", function () {
        pm.response.to.have.jsonSchema(documented.schema);
    });
}
if (documented && documented.type === "text/html" && mediaType === "text/html") {
    pm.test("the body is an HTML page", function () {
        pm.expect(pm.response.text()).to.match(/^\s*<!doctype html>/i);
    });
}
// A text/event-stream body as events: {event, id, data} (comments and retry-only blocks skipped).
function sseEvents(text) {
    const events = [];
    let current = {data: []};
    text.split(/\r\n|\r|\n/).forEach(function (line) {
        if (line === "") {
            if (current.data.length || current.event !== undefined || current.id !== undefined) {
                events.push({
                    event: current.event === undefined ? "message" : current.event,
                    id: current.id,
                    data: current.data.join("\n")
                });
            }
            current = {data: []};
            return;
        }
        if (line[0] === ":") { return; }
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? "" : line.slice(colon + 1);
        if (value[0] === " ") { value = value.slice(1); }
        if (field === "data") { current.data.push(value); }
        else if (field === "event") { current.event = value; }
        else if (field === "id") { current.id = value; }
    });
    return events;
}
// An event's data: JSON, or the seed's line "{values} status: {colours}" as {values, status}.
function eventData(event) {
    try {
        return JSON.parse(event.data);
    } catch (err) {
        const at = event.data.indexOf(" status: ");
        if (at < 0) { return event.data; }
        return {values: JSON.parse(event.data.slice(0, at)), status: JSON.parse(event.data.slice(at + 9))};
    }
}
let events = [];
let readings = [];
if (documented && documented.events && mediaType === "text/event-stream") {
    events = sseEvents(pm.response.text());
    const Ajv = require("ajv");
    const ajv = new Ajv({allErrors: true, logger: false});
    const readingType = documented.events.reading ? "reading" : "message";
    readings = events.filter(function (e) { return e.event === readingType; });
    pm.test("every event is a documented one and its data matches its schema", function () {
        events.forEach(function (e, i) {
            pm.expect(e.event, "event " + i + ": " + e.data).to.not.eql("error");
            pm.expect(documented.events, "event " + i).to.have.property(e.event);
            const validate = ajv.compile(documented.events[e.event]);
            const ok = validate(eventData(e));
            pm.expect(ok, "event " + i + " (" + e.event + "): " + ajv.errorsText(validate.errors)).to.be.true;
        });
    });
    pm.test("every reading has an id, none repeated", function () {
        const ids = readings.map(function (e) { return e.id; });
        ids.forEach(function (id) { pm.expect(id).to.be.a("string").and.not.empty; });
        pm.expect(new Set(ids).size).to.eql(ids.length);
    });
    if (LIMIT !== null) {
        pm.test("the bounded stream ends with an end event after at most " + LIMIT + " readings", function () {
            const end = events[events.length - 1];
            pm.expect(end && end.event, "the last event").to.eql("end");
            pm.expect(end.id, "the end event's id").to.be.undefined;
            const body = JSON.parse(end.data);
            pm.expect(body.events).to.eql(readings.length);
            pm.expect(readings.length).to.be.at.most(LIMIT);
            if (body.reason === "limit") { pm.expect(readings.length).to.eql(LIMIT); }
            const last = readings.length ? readings[readings.length - 1].id : null;
            pm.expect(body.last_event_id).to.eql(last);
        });
    }
}
"""


def test_lines(
    spec: dict[str, Any],
    op: dict[str, Any],
    *,
    limit: int | None,
    extra: str = "",
    accept: tuple[str, ...] = (),
) -> list[str]:
    """The lines of ``op``'s test script; ``limit``: the stream bound the request sets;
    ``accept``: documented statuses besides the successes that the collection's run may get."""
    responses = _responses(spec, op)
    success = [s for s in responses if s.startswith("2") or s in accept]
    head = [
        "// Generated from the OpenAPI document (python -m server.openapi postman): the",
        "// documented responses of this operation, every $ref resolved.",
        "const RESPONSES = " + json.dumps(responses, separators=(",", ":"), sort_keys=True) + ";",
        "const SUCCESS = " + json.dumps(success) + ";",
        "const LIMIT = " + json.dumps(limit) + ";",
    ]
    body = CHECKS.strip("\n").split("\n")
    tail = extra.strip("\n").split("\n") if extra.strip() else []
    return head + body + tail


def script_event(listen: str, lines: list[str]) -> dict[str, Any]:
    """A Postman ``event`` entry (``listen``: ``"test"`` or ``"prerequest"``)."""
    return {"listen": listen, "script": {"type": "text/javascript", "exec": lines}}
