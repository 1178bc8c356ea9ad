"""Property-based fuzzing of the running server against its OpenAPI document (schemathesis).

Every non-streaming operation is driven with generated requests: for arbitrary household ids,
for the demo household ``A`` and for the live household ``L1`` (each with its key), and for ``A``
without a key. No response may be a 5xx, each must have a documented status, content type and
headers and match its schema, and ``/healthz`` must still answer 200 afterwards. The number of
examples per operation is bounded so the whole run stays well under a minute and a half.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from server.openapi import build_spec
from tests.server.openapi.conftest import Served

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
#: Examples per operation and run: free households, A with key, L1 with key, A without key;
#: data that fits the schema (positive) and data that does not (negative).
RUNS = (
    ("free", GenerationMode.POSITIVE, 10),
    ("A", GenerationMode.POSITIVE, 20),
    ("L1", GenerationMode.POSITIVE, 20),
    ("A-nokey", GenerationMode.POSITIVE, 5),
    ("A", GenerationMode.NEGATIVE, 15),
    ("L1", GenerationMode.NEGATIVE, 15),
)


def _operations(spec: dict[str, Any]) -> list[Any]:
    schema = schemathesis.openapi.from_dict(spec)
    ops = []
    for result in schema.get_all_operations():
        op = result.ok()
        streaming = any(
            "text/event-stream" in (resp.get("content") or {})
            for resp in op.definition.raw.get("responses", {}).values()
        )
        if not streaming:
            ops.append(op)
    return ops


def _negatable(op: Any) -> bool:
    """Whether the operation has something a negative case can get wrong: a body, or a
    parameter other than the path's with a constraint (an unconstrained header string, like
    the CSRF token, has no invalid value to generate)."""
    raw = op.definition.raw

    def constrained(p: dict) -> bool:
        return p.get("in") != "path" and p.get("schema", {}) != {"type": "string"}

    return (
        "requestBody" in raw
        or any(constrained(p) for p in raw.get("parameters", []) if "$ref" not in p)
        or any(p.get("$ref", "").endswith("/interval") for p in raw.get("parameters", []))
    )


def _fuzz(
    op: Any,
    served: Served,
    run: str,
    mode: GenerationMode,
    n: int,
    session: requests.Session,
    seen: Counter,
) -> None:
    household = "A" if run == "free" else run.split("-")[0]
    fixed = {} if run == "free" or "{household}" not in op.path else {"household": household}
    headers = {} if run == "A-nokey" else {"Authorization": f"Bearer {served.keys[household]}"}

    @settings(
        max_examples=n,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=op.as_strategy(mode, path_parameters=fixed or None))
    def run_case(case: Any) -> None:
        response = case.call(base_url=served.base_url, session=session, headers=headers, timeout=30)
        seen[(op.label, response.status_code)] += 1
        case.validate_response(response, checks=CHECKS)

    run_case()


@pytest.mark.slow
def test_fuzz_every_route_against_the_spec(served: Served, http: requests.Session) -> None:
    ops = _operations(build_spec())
    assert len(ops) >= 17, [op.label for op in ops]
    seen: Counter = Counter()
    started = time.monotonic()
    for op in ops:
        for run, mode, n in RUNS:
            if run != "free" and "{household}" not in op.path:
                continue
            if mode is GenerationMode.NEGATIVE and not _negatable(op):
                continue  # nothing but the fixed household to get wrong
            try:
                _fuzz(op, served, run, mode, n, http, seen)
            except Exception as err:  # name the operation the fuzzer was on
                raise AssertionError(f"{op.label} ({run}, {mode.name}): {err}") from err
    elapsed = time.monotonic() - started
    total = sum(seen.values())
    by_status = Counter()
    for (_, status), count in seen.items():
        by_status[status] += count
    print(
        f"\nschemathesis: {total} cases over {len(ops)} operations in {elapsed:.1f} s; "
        f"statuses {dict(sorted(by_status.items()))}"
    )
    assert total >= 200
    # The fuzzing reached past validation: real successes on the household routes.
    assert by_status[200] >= 30
    health = http.get(f"{served.base_url}/healthz", timeout=10)
    assert health.status_code == 200, health.text
    assert health.json()["status"] == "ok"
