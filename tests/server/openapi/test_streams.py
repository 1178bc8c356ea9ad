"""The streams against their description: bad parameters get the documented JSON errors before
any stream starts; a valid request starts a ``text/event-stream`` with the documented headers and
events. Streams are not held open: each test reads the first events and closes."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests
from jsonschema import Draft202012Validator

from server.openapi import build_spec
from tests.server.openapi.conftest import Served

SPEC = build_spec()


def _validator(name: str) -> Draft202012Validator:
    schema = {"$ref": f"#/components/schemas/{name}", "components": SPEC["components"]}
    return Draft202012Validator(schema)


def _events(response: requests.Response, count: int) -> list[dict[str, Any]]:
    """The first ``count`` blocks of an SSE body as {field: value} (comments skipped)."""
    blocks: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    for line in response.iter_lines(decode_unicode=True):
        if line == "":
            if current:
                blocks.append(current)
                current = {}
            if len(blocks) >= count:
                break
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(": ")
        current[field] = value
    return blocks


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("interval=5", 404, "unknown_household"),
        ("interval=0", 400, "invalid_parameter"),
        ("interval=x", 400, "invalid_parameter"),
        ("", 400, "invalid_parameter"),
        ("interval=5&speed=10", 400, "invalid_parameter"),
        ("interval=5&start_index=-1", 400, "invalid_parameter"),
        ("interval=5&start_index=999999999", 400, "invalid_parameter"),
        ("interval=5&start_index=0&speed=0", 400, "invalid_parameter"),
        ("interval=5&start_index=0&last_event_id=7", 400, "invalid_parameter"),
        ("interval=5&last_event_id=not-an-id", 400, "invalid_parameter"),
        ("interval=5&limit=0", 400, "invalid_parameter"),
        ("interval=5&limit=-2", 400, "invalid_parameter"),
        ("interval=5&limit=2.5", 400, "invalid_parameter"),
        ("interval=5&limit=100001", 400, "invalid_parameter"),
        ("interval=5&until=soon", 400, "invalid_parameter"),
        ("interval=5&until=2030-01-01T00:00:00", 400, "invalid_parameter"),  # no zone
        ("interval=5&until=2000-01-01T00:00:00Z", 400, "invalid_parameter"),  # past
        ("interval=5&until=4102444800", 400, "invalid_parameter"),  # 2100: too far
        ("interval=5&start_index=0&limit=x", 400, "invalid_parameter"),
    ],
)
def test_v1_stream_rejects_bad_parameters(
    served: Served, http: requests.Session, query: str, status: int, code: str
) -> None:
    household = "nobody" if code == "unknown_household" else "A"
    url = f"{served.base_url}/api/v1/households/{household}/stream?{query}"
    response = http.get(url, timeout=10)
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    _validator("Error").validate(body)
    assert body["error"]["code"] == code
    for name in ("limit", "until"):  # the message names the bad value
        if f"{name}=" in query:
            bad = query.split(f"{name}=")[1]
            assert name in body["error"]["message"] and bad in body["error"]["message"]


def _whole(response: requests.Response) -> list[dict[str, Any]]:
    """Every block of an SSE body that ends by itself (bounded by the request's timeout)."""
    blocks = _events(response, 10**6)
    return [b for b in blocks if b]


def test_v1_bounded_replay_ends_after_limit_with_end_event(
    served: Served, http: requests.Session
) -> None:
    url = f"{served.base_url}/api/v1/households/A/stream?interval=5&start_index=100&speed=1000"
    with http.get(f"{url}&limit=3", stream=True, timeout=10) as response:
        assert response.status_code == 200
        retry, *readings, end = _whole(response)
    assert [r["id"] for r in readings] == ["100", "105", "110"]
    assert end["event"] == "end" and "id" not in end
    body = json.loads(end["data"])
    _validator("EndEvent").validate(body)
    assert (body["reason"], body["events"], body["last_event_id"]) == ("limit", 3, "110")
    headers = {"Last-Event-ID": "110"}
    with http.get(f"{url}&limit=2", headers=headers, stream=True, timeout=10) as response:
        _, *readings, end = _whole(response)
    assert [r["id"] for r in readings] == ["115", "120"]
    for reading in readings:
        _validator("ReadingEvent").validate(json.loads(reading["data"]))


def test_v1_bounded_live_stream_ends_at_until(served: Served, http: requests.Session) -> None:
    """Nothing is published to A here: the stream ends at ``until`` with no readings."""
    until = int(time.time()) + 2
    url = f"{served.base_url}/api/v1/households/A/stream?interval=5&until={until}&limit=5"
    began = time.monotonic()
    with http.get(url, stream=True, timeout=10) as response:
        assert response.status_code == 200
        blocks = _whole(response)
    assert time.time() >= until and time.monotonic() - began < 8
    end = blocks[-1]
    assert end["event"] == "end"
    body = json.loads(end["data"])
    _validator("EndEvent").validate(body)
    assert body == {"reason": "until", "events": 0, "last_event_id": None}


def test_compat_stream_rejects_a_bad_limit(served: Served) -> None:
    with requests.Session() as session:
        setup = session.post(
            f"{served.base_url}/stream_setup",
            json={"household": "A", "interval": 5, "start_index": 100, "speed": 1000},
            timeout=30,
        )
        assert setup.status_code == 200, setup.text
        response = session.get(f"{served.base_url}/stream_data?limit=nope", timeout=10)
        assert response.status_code == 400
        assert response.json() == {"error": "limit must be a positive integer, got 'nope'"}
        with session.get(f"{served.base_url}/stream_data?limit=2", stream=True, timeout=10) as r:
            _, first, second, end = _whole(r)
    assert "status: " in first["data"] and "status: " in second["data"]
    body = json.loads(end["data"])
    _validator("EndEvent").validate(body)
    assert body["reason"] == "limit" and body["last_event_id"] == second["id"]


def test_v1_replay_stream_starts_with_documented_headers_and_events(
    served: Served, http: requests.Session
) -> None:
    url = f"{served.base_url}/api/v1/households/A/stream?interval=5&start_index=100&speed=1000"
    with http.get(url, stream=True, timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        for name, header in SPEC["paths"]["/api/v1/households/{household}/stream"]["get"][
            "responses"
        ]["200"]["headers"].items():
            assert name in response.headers
            if "const" in header["schema"]:
                assert response.headers[name] == header["schema"]["const"]
        retry, first, second = _events(response, 3)
    assert retry == {"retry": "3000"}
    assert (first["id"], first["event"], second["id"]) == ("100", "reading", "105")
    for event in (first, second):
        _validator("ReadingEvent").validate(json.loads(event["data"]))


def test_v1_live_stream_starts_at_once(served: Served, http: requests.Session) -> None:
    url = f"{served.base_url}/api/v1/households/A/stream?interval=5"
    with http.get(url, stream=True, timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        assert response.headers["Cache-Control"] == "no-cache"
        assert _events(response, 1) == [{"retry": "3000"}]


def test_v1_live_stream_resumes_too_old_id_with_resync(
    served: Served, http: requests.Session
) -> None:
    url = f"{served.base_url}/api/v1/households/A/stream?interval=5"
    headers = {"Last-Event-ID": "1000-0"}
    with http.get(url, headers=headers, stream=True, timeout=10) as response:
        assert response.status_code == 200
        retry, resync = _events(response, 2)
    assert resync["event"] == "resync" and "id" not in resync
    _validator("ResyncEvent").validate(json.loads(resync["data"]))


def test_compat_stream_needs_a_setup(served: Served, http: requests.Session) -> None:
    response = http.get(f"{served.base_url}/stream_data", timeout=10)
    assert response.status_code == 404
    assert response.json() == {"error": "First try stream_setup."}
    response = http.get(f"{served.base_url}/stream_data?stream_id=%20bad%20", timeout=10)
    assert response.status_code == 400
    _validator("CompatError").validate(response.json())


def test_compat_stream_after_setup_speaks_the_seed_lines(served: Served) -> None:
    with requests.Session() as session:  # its own cookie jar
        setup = session.post(
            f"{served.base_url}/stream_setup",
            json={"household": "A", "interval": 5, "start_index": 100, "speed": 1000},
            timeout=30,
        )
        assert setup.status_code == 200, setup.text
        _validator("StreamSetupDone").validate(setup.json())
        with session.get(f"{served.base_url}/stream_data", stream=True, timeout=10) as response:
            assert response.status_code == 200
            assert response.headers["X-Accel-Buffering"] == "no"
            _, first = _events(response, 2)
    values, _, status = first["data"].partition(" status: ")
    assert set(json.loads(values)) == {"AC", "Geyser", "Overall"}
    assert set(json.loads(status).values()) <= {"Green", "Yellow", "Red", "Critical Red"}
