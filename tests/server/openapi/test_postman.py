"""The committed Postman collection and environments are what the spec generates today, and the
collection has one request per operation with the right auth."""

from __future__ import annotations

import json
from pathlib import Path

from server.openapi import build_spec
from server.openapi.postman import COLLECTION_FILE, collection, render

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
    requests = {r["id"]: r["request"] for folder in doc["item"] for r in folder["item"]}
    ops = [
        (path, m, op)
        for path, item in spec["paths"].items()
        for m, op in item.items()
        if m in METHODS
    ]
    assert len(requests) == len(ops)
    by_target = {(r["method"], r["url"]["raw"].split("?")[0]): r for r in requests.values()}
    for path, method, op in ops:
        raw = "{{baseUrl}}" + path.replace("{household}", ":household")
        request = by_target[(method.upper(), raw)]
        if op.get("security") == [{"apiKey": []}]:
            assert "auth" not in request  # the collection's bearer {{apiKey}}
        elif not op.get("security"):
            assert request["auth"] == {"type": "noauth"}
        if "requestBody" in op:
            json.loads(request["body"]["raw"])
    stats = by_target[("GET", "{{baseUrl}}/api/v1/households/:household/stats")]
    assert stats["url"]["raw"].endswith("?interval=5")
    assert stats["url"]["variable"][0]["value"] == "{{household}}"


def test_collection_file_name() -> None:
    assert (POSTMAN_DIR / COLLECTION_FILE).name.endswith(".postman_collection.json")
