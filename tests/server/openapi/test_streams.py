"""The streams against their description: bad parameters get the documented JSON errors before
any stream starts; a valid request starts a ``text/event-stream`` with the documented headers and
events. Streams are not held open: each test reads the first events and closes."""

from __future__ import annotations

import json
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
