"""The committed Postman collection and environments are what the spec generates today; the
collection has one request per operation with the right auth, a test script on every request
(status, content type, body against its schema with every $ref resolved), bounded streams, and a
"Try it" folder that carries variables from request to request. newman runs it:
``test_newman.py``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.openapi import build_spec
from server.openapi.postman import (
    COLLECTION_FILE,
    TRY_IT,
    collection,
    postman_segment,
    render,
)
from server.openapi.postman_tests import inline

POSTMAN_DIR = Path(__file__).resolve().parents[3] / "docs" / "postman"
METHODS = ("get", "post", "put", "delete", "patch")


def test_committed_postman_files_are_current() -> None:
    for name, text in render(build_spec()).items():
        path = POSTMAN_DIR / name
        assert path.is_file(), f"{path} is missing: run 'make postman'"
        assert path.read_text(encoding="utf-8") == text, f"{path} is stale: run 'make postman'"


def test_collection_has_every_operation_with_its_auth() -> None:
    spec = build_spec()
    doc = collection(spec)
    assert doc["info"]["schema"].endswith("/v2.1.0/collection.json")
    assert doc["item"][0]["name"] == "Try it"
    requests = {r["id"]: r["request"] for folder in doc["item"][1:] for r in folder["item"]}
    ops = [
        (path, m, op)
        for path, item in spec["paths"].items()
        for m, op in item.items()
        if m in METHODS
    ]
    assert len(requests) == len(ops)
    by_target = {(r["method"], r["url"]["raw"].split("?")[0]): r for r in requests.values()}
    for path, method, op in ops:
        raw = "{{baseUrl}}/" + "/".join(postman_segment(s) for s in path.strip("/").split("/"))
        request = by_target[(method.upper(), raw)]
        security = op.get("security") or []
        if {"apiKey": []} in security and {} not in security:  # a key (or a member's session)
            assert "auth" not in request  # the collection's bearer {{apiKey}}
            assert request["url"]["variable"][0]["value"] == "{{liveHousehold}}"
        elif not security or security == [{"session": []}]:  # open, or the session's cookie
            assert request["auth"] == {"type": "noauth"}
        if "requestBody" in op and "application/json" in op["requestBody"]["content"]:
            json.loads(request["body"]["raw"])
        elif "requestBody" in op:  # an HTML form (OAuth's endpoints)
            assert request["body"]["mode"] == "urlencoded" and request["body"]["urlencoded"]
    stats = by_target[("GET", "{{baseUrl}}/api/v1/households/:household/stats")]
    assert stats["url"]["raw"].endswith("?interval=5")
    assert stats["url"]["variable"][0]["value"] == "{{household}}"


def test_collection_file_name() -> None:
    assert (POSTMAN_DIR / COLLECTION_FILE).name.endswith(".postman_collection.json")


def _script(item: dict) -> str:
    (event,) = item["event"]
    assert event["listen"] == "test"
    return "\n".join(event["script"]["exec"])


def _responses(script: str) -> dict:
    line = next(line for line in script.split("\n") if line.startswith("const RESPONSES = "))
    return json.loads(line.removeprefix("const RESPONSES = ").removesuffix(";"))


def test_every_request_tests_status_content_type_and_schema() -> None:
    spec = build_spec()
    doc = collection(spec)
    items = [r for folder in doc["item"] for r in folder["item"]]
    operations = [m for item in spec["paths"].values() for m in item if m in METHODS]
    assert len(items) == len(operations) + len(TRY_IT)  # every operation, and the "Try it" ones
    for item in items:
        script = _script(item)
        assert "pm.response.to.have.jsonSchema(documented.schema)" in script
        assert "pm.expect(SUCCESS).to.include(status" in script
        assert "pm.expect(mediaType).to.eql(documented.type)" in script
        responses = _responses(script)
        assert "$ref" not in json.dumps(responses), item["name"]  # resolved
        # a success, or (the consent form) a redirect back to the app
        assert any(s.startswith(("2", "302")) for s in responses), item["name"]
    stats = next(r for r in items if r["name"].startswith("Quick statistics"))
    schema = _responses(_script(stats))["200"]["schema"]
    assert schema == inline(spec, spec["components"]["schemas"]["QuickStats"])
    assert "25p" in schema["required"] and "description" not in schema


def test_stream_requests_are_bounded_and_check_each_event() -> None:
    doc = collection(build_spec())
    streams = [
        r
        for folder in doc["item"]
        for r in folder["item"]
        if "/stream" in r["request"]["url"]["raw"]
        and r["request"]["method"] == "GET"
        and "qstats" not in r["request"]["url"]["raw"]
    ]
    assert len(streams) == 4  # Try it (2), v1, compat
    for item in streams:
        assert "limit=3" in item["request"]["url"]["raw"]
        script = _script(item)
        assert "const LIMIT = 3;" in script
        events = _responses(script)["200"]["events"]
        assert "end" in events and ("reading" in events or "message" in events)
        assert "ajv.compile(documented.events[e.event])" in script


def test_try_it_runs_end_to_end_carrying_variables() -> None:
    doc = collection(build_spec())
    folder = doc["item"][0]
    steps = [(r["request"]["method"], r["request"]["url"]["raw"]) for r in folder["item"]]
    assert steps == [
        ("GET", "{{baseUrl}}/api/v1/households"),
        ("GET", "{{baseUrl}}/api/v1/households/:household/stats?interval=5"),
        ("GET", "{{baseUrl}}/api/v1/households/:household/stream?interval=5&limit=3"),
        (
            "GET",
            "{{baseUrl}}/api/v1/households/:household/stream?interval=5&limit=3"
            "&last_event_id={{lastEventId}}",
        ),
        ("GET", "{{baseUrl}}/api/v1/households/:household/widget"),
    ]
    read, resume = _script(folder["item"][2]), _script(folder["item"][3])
    assert 'pm.collectionVariables.set("lastEventId"' in read
    assert 'pm.collectionVariables.get("lastEventTs")' in resume
    variables = {v["key"] for v in doc["variable"]}
    assert {"streamId", "lastEventId", "lastEventTs", "liveHousehold"} <= variables


def test_compat_setup_runs_first_and_saves_the_stream_id() -> None:
    doc = collection(build_spec())
    (compat,) = [f for f in doc["item"] if f["name"] == "compatibility"]
    setup, *rest = compat["item"]
    assert setup["request"]["method"] == "POST"
    assert 'pm.collectionVariables.set("streamId"' in _script(setup)
    body = json.loads(setup["request"]["body"]["raw"])
    assert body["household"] == "{{household}}" and body["speed"] == 60
    for item in rest:
        assert "stream_id={{streamId}}" in item["request"]["url"]["raw"]


@pytest.mark.parametrize(
    "name", ["local.postman_environment.json", "demo.postman_environment.json"]
)
def test_environments_name_a_live_household_and_a_secret_key(name: str) -> None:
    env = json.loads((POSTMAN_DIR / name).read_text())
    values = {v["key"]: v for v in env["values"]}
    assert values["liveHousehold"]["value"] == "H1"
    assert values["apiKey"] == {"key": "apiKey", "value": "", "type": "secret", "enabled": True}


def test_collection_says_how_to_get_a_key() -> None:
    doc = collection(build_spec())
    assert (
        "python -m server households add H1 --channels AC,Geyser,Overall"
        in (doc["info"]["description"])
    )
