"""A Postman collection (v2.1) generated from the OpenAPI document, and its environments.

One folder per tag, one request per operation, named by its summary. Paths use ``{{baseUrl}}``
and the ``:household`` path variable bound to ``{{household}}``; requests that need the key
inherit the collection's bearer auth (``{{apiKey}}``), the others are ``noauth``. Query
parameters carry their examples; optional ones are present but disabled. Bodies are the schema's
first example. The output is deterministic (ids are UUID5s of the names), so the committed files
can be checked to be current: ``python -m server.openapi postman --out docs/postman``.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

__all__ = ["COLLECTION_FILE", "ENVIRONMENTS", "collection", "environments", "render", "write"]

SCHEMA_URL = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
NAMESPACE = uuid.UUID("6f1f6b1e-4f7e-4c57-9a43-6772696c6967")  # fixed: stable ids
COLLECTION_FILE = "gridlight.postman_collection.json"
#: Environment name → file name and values. The demo URL is Render's address for the
#: ``gridlight-web`` service of render.yaml.
ENVIRONMENTS: dict[str, tuple[str, dict[str, str]]] = {
    "Gridlight local": (
        "local.postman_environment.json",
        {"baseUrl": "http://127.0.0.1:5000", "household": "A", "apiKey": "", "fcmToken": ""},
    ),
    "Gridlight demo": (
        "demo.postman_environment.json",
        {
            "baseUrl": "https://gridlight-web.onrender.com",
            "household": "A",
            "apiKey": "",
            "fcmToken": "",
        },
    ),
}
SECRETS = {"apiKey", "fcmToken"}
#: Body fields filled from environment variables instead of the spec's example.
BODY_VARIABLES = {"token": "{{fcmToken}}"}
METHODS = ("get", "post", "put", "delete", "patch")


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


def _body(spec: dict[str, Any], op: dict[str, Any]) -> dict[str, Any] | None:
    request_body = op.get("requestBody")
    if request_body is None:
        return None
    schema = _resolve(spec, request_body["content"]["application/json"]["schema"])
    example = dict((schema.get("examples") or [{}])[0])
    for field, variable in BODY_VARIABLES.items():
        if field in example:
            example[field] = variable
    return {
        "mode": "raw",
        "raw": json.dumps(example, indent=2),
        "options": {"raw": {"language": "json"}},
    }


def _request(spec: dict[str, Any], path: str, method: str, op: dict[str, Any], item: dict) -> dict:
    params = [_resolve(spec, p) for p in item.get("parameters", []) + op.get("parameters", [])]
    segments = [s for s in path.strip("/").split("/") if s]
    segments = [":" + s[1:-1] if s.startswith("{") else s for s in segments]
    query = [
        {
            "key": p["name"],
            "value": _example(p),
            "description": p.get("description", ""),
            **({} if p.get("required") else {"disabled": True}),
        }
        for p in params
        if p["in"] == "query"
    ]
    headers = [
        {"key": p["name"], "value": "", "description": p.get("description", ""), "disabled": True}
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
    variables = [
        {
            "key": p["name"],
            "value": "{{" + p["name"] + "}}",
            "description": p.get("description", ""),
        }
        for p in params
        if p["in"] == "path"
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
    if op.get("security") != [{"apiKey": []}]:
        request["auth"] = {"type": "noauth"}
        if op.get("security"):
            request.pop("auth")  # open in demo mode, the key elsewhere: inherit the bearer key
    return request


def collection(spec: dict[str, Any]) -> dict[str, Any]:
    """The Postman v2.1 collection of ``spec``."""
    folders: dict[str, list[dict[str, Any]]] = {t["name"]: [] for t in spec.get("tags", [])}
    for path, item in spec["paths"].items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            tag = op.get("tags", ["other"])[0]
            folders.setdefault(tag, []).append(
                {
                    "id": _id(op["operationId"]),
                    "name": op.get("summary", op["operationId"]),
                    "request": _request(spec, path, method, op, item),
                    "response": [],
                }
            )
    tag_docs = {t["name"]: t.get("description", "") for t in spec.get("tags", [])}
    return {
        "info": {
            "_postman_id": _id(spec["info"]["title"]),
            "name": spec["info"]["title"],
            "description": spec["info"].get("description", ""),
            "schema": SCHEMA_URL,
        },
        "auth": {
            "type": "bearer",
            "bearer": [{"key": "token", "value": "{{apiKey}}", "type": "string"}],
        },
        "item": [
            {
                "id": _id("folder", tag),
                "name": tag,
                "description": tag_docs.get(tag, ""),
                "item": items,
            }
            for tag, items in folders.items()
            if items
        ],
        "variable": [
            {"key": "baseUrl", "value": "http://127.0.0.1:5000"},
            {"key": "household", "value": "A"},
        ],
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
