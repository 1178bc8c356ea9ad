"""The OpenAPI document: valid OpenAPI 3.1, served at /openapi.json, and in step with the routes
the app registers (every route described, every described path served)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from server import create_app
from server.openapi import build_spec

METHODS = {"get", "put", "post", "delete", "patch"}
#: Flask's built-in static route: the app ships no static files, so there is nothing to describe.
#: Static files (Flask's, and the dashboard's scripts, styles and icons) are not API operations.
UNDESCRIBED = {("/static/{filename}", "get"), ("/dashboard/static/{filename}", "get")}
#: Writes open to anyone: signing up, in, and recovering an account (#15).
OPEN_WRITES = {
    ("/api/v1/users", "post"),
    ("/api/v1/users/verify", "post"),
    ("/api/v1/session", "post"),
    ("/api/v1/password-reset", "post"),
    ("/api/v1/password-reset/confirm", "post"),
    # OAuth clients authenticate in the request itself (a secret, or PKCE for public clients)
    ("/oauth/token", "post"),
    ("/oauth/revoke", "post"),
}
SCOPES = {"read", "write", "control", "admin"}


def _flask_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


@pytest.fixture
def app(tmp_path: Path):  # noqa: ANN201
    app = create_app(
        {"TESTING": True, "DATA_DIR": str(tmp_path), "REDIS_URL": None, "DEMO": False}
        | {"EMBEDDED_REPLAY": False, "WARM_STATS": False}
    )
    yield app
    app.extensions["gridlight"].stop()


def _registered(app) -> set[tuple[str, str]]:  # noqa: ANN001
    out = set()
    for rule in app.url_map.iter_rules():
        for method in rule.methods or ():
            if method.lower() in METHODS:
                out.add((_flask_path(rule.rule), method.lower()))
    return out


def _described(spec: dict) -> set[tuple[str, str]]:
    return {(path, m) for path, item in spec["paths"].items() for m in item if m in METHODS}


def test_spec_is_valid_openapi_3_1() -> None:
    spec = build_spec()
    assert spec["openapi"] == "3.1.0"
    validate(spec)


def test_every_registered_route_is_described(app) -> None:  # noqa: ANN001
    missing = _registered(app) - _described(build_spec()) - UNDESCRIBED
    assert not missing, f"routes without an OpenAPI operation: {sorted(missing)}"


def test_every_described_operation_is_served(app) -> None:  # noqa: ANN001
    extra = _described(build_spec()) - _registered(app)
    assert not extra, f"operations no route serves: {sorted(extra)}"


def test_every_operation_documents_its_responses_and_security() -> None:
    spec = build_spec()
    ids = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in METHODS:
                continue
            ids.append(op["operationId"])
            assert op["responses"], (path, method)
            writes = method in ("post", "put", "patch", "delete")
            if (path, method) in OPEN_WRITES:
                assert op["security"] == [], (path, method)
            elif writes and not path.startswith("/stream_"):
                # a household key, or the session of a user with the role, or an OAuth token of
                # one with a scope (but the session's own routes); never anonymous
                security = op.get("security")
                tokens = [s["oauth2"] for s in security if "oauth2" in s]
                rest = [s for s in security if "oauth2" not in s]
                assert rest in ([{"apiKey": []}, {"session": []}], [{"session": []}]) or (
                    rest == [{"apiKey": []}] and path.endswith("/readings")  # meters: key only
                ), f"{method} {path} needs the key or a session: {security}"
                # erasing one's account is the person's own act, signed in: never an app's token
                own = path.startswith(("/api/v1/session", "/oauth/")) or (
                    path == "/api/v1/me" and method == "delete"
                )
                if {"session": []} in rest and not own:
                    assert len(tokens) == 1 and len(tokens[0]) == 1 and tokens[0][0] in SCOPES, (
                        f"{method} {path}: an OAuth token needs one scope: {security}"
                    )
                if tokens:
                    assert "403" in op["responses"], f"{method} {path}: a scope may be missing"
                if {"apiKey": []} in rest:
                    assert "429" in op["responses"], f"{method} {path}: key checks are limited"
                if {"session": []} in security:
                    assert "403" in op["responses"], f"{method} {path}: a role may be missing"
            if "{household}" in path:
                assert any(code in op["responses"] for code in ("404",)), (path, method)
    assert len(ids) == len(set(ids)), "operationIds repeat"


def test_openapi_json_is_served(app) -> None:  # noqa: ANN001
    response = app.test_client().get("/openapi.json")
    assert response.status_code == 200
    assert response.get_json() == build_spec()
