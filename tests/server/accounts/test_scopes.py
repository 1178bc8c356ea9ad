"""Every operation of the OpenAPI document that takes an OAuth access token is walked with
tokens of the household's owner: one without the scope the document names (403
``insufficient_scope`` naming that scope), one with exactly that scope (past the check), and a
revoked one (401 ``invalid_token``). So the document's scopes are the ones the code asks for. A
viewer's token with every scope still cannot do what a viewer may not, and the access matrix
walks every such operation with each role (owner, member, viewer, another household's owner)
and with no credentials."""

from __future__ import annotations

import re
from typing import Any

import pytest
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from server.openapi import build_spec
from tests.server.accounts.conftest import (
    Person,
    create_household,
    last_mail,
    make_app,
    person,
    token_in,
)

H = "H1"
CALLBACK = "http://127.0.0.1:9/callback"
SCOPES = ("read", "write", "control", "admin")
METHODS = ("get", "put", "post", "delete", "patch")


def oauth_token(app: Any, who: Person, client_id: str, scope: str) -> str:
    """An access token of ``who`` for ``scope``, through the consent page and the token
    endpoint (the Flask test client keeps ``who``'s session cookie)."""
    verifier = generate_token(64)
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": CALLBACK,
        "scope": scope,
        "state": "s",
        "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256",
    }
    page = who.client.get("/oauth/authorize", query_string=query)
    assert page.status_code == 200, page.get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert csrf is not None
    r = who.client.post(
        "/oauth/authorize",
        query_string=query,
        data={"csrf_token": csrf[1], "decision": "approve"},
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    code = re.search(r"code=([^&]+)", r.headers["Location"])
    assert code is not None
    r = app.test_client().post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code[1],
            "redirect_uri": CALLBACK,
            "client_id": client_id,
            "code_verifier": verifier,
        },
    )
    assert r.status_code == 200, r.json
    assert r.json["scope"] == scope
    return str(r.json["access_token"])


def _operations() -> list[tuple[str, str, str]]:
    """(method, path, the scope the document names) of every operation taking tokens."""
    out = []
    for path, item in build_spec()["paths"].items():
        for method, op in item.items():
            if method not in METHODS:
                continue
            scopes = [s["oauth2"] for s in op.get("security", []) if "oauth2" in s]
            if scopes:
                out.append((method, path, scopes[0][0]))
    return out


OPERATIONS = _operations()


@pytest.fixture
def walk(server_data_dir, stats_cache_dir, smtp):  # noqa: ANN001, ANN201
    # dead tokens are failed credential checks: a high limit, so the walk is not held up
    app = make_app(
        server_data_dir, stats_cache_dir, smtp, RATELIMIT_KEY_FAILURES="10000 per minute"
    )
    owner = person(app, smtp, "owner@example.org", "Owner")
    create_household(owner, H)
    client, _ = app.extensions["oauth"].store.add_client("Matrix", [CALLBACK], public=True)
    tokens = {scope: oauth_token(app, owner, client.client_id, scope) for scope in SCOPES}
    # a household made over HTTP consents to collection only: forecasts and recommendations
    # would answer consent_required whatever the token
    version = app.extensions["gridlight"].consent.version
    r = app.test_client().put(
        f"/api/v1/households/{H}/consent",
        json={"version": version, "analytics": True, "recommendations": True},
        headers={"Authorization": f"Bearer {tokens['admin']}"},
    )
    assert r.status_code == 200, r.get_json()
    # without the one scope each route needs: all the others
    tokens.update(
        {
            f"not {scope}": oauth_token(
                app, owner, client.client_id, " ".join(s for s in SCOPES if s != scope)
            )
            for scope in SCOPES
        }
    )
    yield app, owner, client.client_id, tokens
    app.extensions["gridlight"].stop()


def _url(path: str, owner: Person) -> str:
    values = {
        "household": H,
        "device": "heater",
        "command_id": "c1",
        "user_id": str(owner.user["id"]),
        "recommendation_id": "r1",
        "month": "2026-01",
        "key_id": "0123456789ab",
        "appliance": "AC",
    }
    url = re.sub(r"{(\w+)}", lambda m: values[m[1]], path)
    return url + ("?interval=5" if url.endswith(("/stats", "/stream", "/widget")) else "")


def _call(app: Any, method: str, url: str, token: str | None) -> Any:
    client = app.test_client()
    kw: dict[str, Any] = {"headers": {"Authorization": f"Bearer {token}"} if token else {}}
    if method in ("put", "post", "patch", "delete"):
        kw["json"] = {}
    if url.startswith("/stream_setup"):
        kw["json"] = {"household": H, "interval": 5}
    response = client.open(url, method=method.upper(), buffered=False, **kw)
    response.close()  # a stream: its status and headers are all this needs
    return response


def _code(response: Any) -> str | None:
    """The error code of a versioned route's answer; the seed's routes (``{"error": message}``)
    name none."""
    error = (response.get_json(silent=True) or {}).get("error")
    return error.get("code") if isinstance(error, dict) else None


def test_every_operation_asks_for_the_scope_its_document_names(walk) -> None:  # noqa: ANN001
    app, owner, _client_id, tokens = walk
    assert len(OPERATIONS) >= 30
    wrong, passed = [], []
    for method, path, scope in OPERATIONS:
        url = _url(path, owner)
        r = _call(app, method, url, tokens[f"not {scope}"])
        compat = path.startswith("/stream_")
        if r.status_code != 403 or (_code(r) != "insufficient_scope" and not compat):
            wrong.append((method, path, scope, r.status_code, r.get_json(silent=True)))
        elif f'scope="{scope}"' not in r.headers.get("WWW-Authenticate", ""):
            wrong.append((method, path, scope, r.headers.get("WWW-Authenticate")))
        r = _call(app, method, url, tokens[scope])
        if r.status_code in (401, 403):
            passed.append((method, path, scope, r.status_code, r.get_json(silent=True)))
    assert not wrong, f"without its scope, these did not answer 403 insufficient_scope: {wrong}"
    assert not passed, f"with its scope, the owner's token was refused: {passed}"


def test_a_revoked_token_is_refused_everywhere(walk) -> None:  # noqa: ANN001
    app, owner, client_id, tokens = walk
    token = tokens["read"]
    r = app.test_client().post("/oauth/revoke", data={"token": token, "client_id": client_id})
    assert r.status_code == 200
    refused = []
    for method, path, _scope in OPERATIONS:
        r = _call(app, method, _url(path, owner), token)
        code = _code(r)
        if r.status_code != 401 or (code != "invalid_token" and not path.startswith("/stream_")):
            refused.append((method, path, r.status_code, code))
        elif not r.headers["WWW-Authenticate"].startswith(
            'Bearer realm="gridlight", error="invalid_token"'
        ):
            refused.append((method, path, r.headers["WWW-Authenticate"]))
    assert not refused, refused


def test_a_viewers_token_keeps_the_viewers_limits(walk, smtp) -> None:  # noqa: ANN001
    app, owner, client_id, _tokens = walk
    viewer = person(app, smtp, "viewer@example.org", "Viewer")
    r = owner.write(
        "POST", f"/api/v1/households/{H}/members", json={"email": viewer.email, "role": "viewer"}
    )
    assert r.status_code == 201
    token = oauth_token(app, viewer, client_id, " ".join(SCOPES))
    assert _call(app, "get", f"/api/v1/households/{H}/readings", token).status_code == 200
    for method, url in (
        ("put", f"/api/v1/households/{H}/alert-settings"),
        ("post", f"/api/v1/households/{H}/controls/heater/commands"),
        ("post", f"/api/v1/households/{H}/members"),
        ("get", f"/api/v1/households/{H}/audit"),
    ):
        r = _call(app, method, url, token)
        assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden", (url, r.json)


def test_a_password_reset_revokes_the_apps_tokens(walk, smtp) -> None:  # noqa: ANN001
    app, owner, _client_id, tokens = walk
    assert _call(app, "get", "/api/v1/me", tokens["read"]).status_code == 200
    client = app.test_client()
    assert client.post("/api/v1/password-reset", json={"email": owner.email}).status_code == 202
    link = token_in(last_mail(smtp, owner.email))
    r = client.post(
        "/api/v1/password-reset/confirm", json={"token": link, "password": "a whole new password"}
    )
    assert r.status_code == 200
    for token in tokens.values():
        r = _call(app, "get", "/api/v1/me", token)
        assert r.status_code == 401 and r.get_json()["error"]["code"] == "invalid_token"


#: Reads for those who may change what they read: alert settings (their contacts: emails, phone
#: numbers, webhook URL and secret) and the control details (automations, schedule, commands).
MEMBERS_READ = (
    "/api/v1/households/{household}/alert-settings",
    "/api/v1/households/{household}/automations",
    "/api/v1/households/{household}/schedule",
    "/api/v1/households/{household}/controls/{device}/commands/{command_id}",
)


def _household_scoped(path: str) -> bool:
    """Whether the operation acts on household H (its path, or the seed's set-up's body)."""
    return "{household}" in path or path.startswith("/stream_")


def test_access_matrix_of_every_route_by_role(walk, smtp) -> None:  # noqa: ANN001
    """Every operation taking tokens, walked with tokens of every scope of: the owner, a
    member, a viewer, another household's owner, and with no credentials. Owners pass every
    check; members read and write but do not administer (``admin``-scoped routes); viewers only
    read, and not what only those who may change it read (:data:`MEMBERS_READ`); another
    household's owner and nobody get nothing of H (403 and 401)."""
    app, owner, client_id, tokens = walk
    everyone = " ".join(SCOPES)
    people: dict[str, str] = {"owner": oauth_token(app, owner, client_id, everyone)}
    for role in ("member", "viewer"):
        someone = person(app, smtp, f"{role}@example.org", role.title())
        r = owner.write(
            "POST", f"/api/v1/households/{H}/members", json={"email": someone.email, "role": role}
        )
        assert r.status_code == 201, r.json
        people[role] = oauth_token(app, someone, client_id, everyone)
    stranger = person(app, smtp, "stranger@example.org", "Stranger")
    create_household(stranger, "H2")
    people["another household's owner"] = oauth_token(app, stranger, client_id, everyone)

    def allowed(who: str, method: str, path: str, scope: str) -> bool:
        if not _household_scoped(path) or who == "owner":
            return True
        if who == "another household's owner":
            return False
        reading = method == "get" or path.startswith("/stream_")
        if who == "viewer":
            return reading and scope != "admin" and path not in MEMBERS_READ
        return scope != "admin"  # a member

    wrong = []
    for method, path, scope in OPERATIONS:
        url = _url(path, owner)
        for who, token in people.items():
            status = _call(app, method, url, token).status_code
            refused = status in (401, 403)
            if refused == allowed(who, method, path, scope) or (refused and status != 403):
                wrong.append((who, method, path, status))
        r = _call(app, method, url, None)
        if r.status_code != 401 and _household_scoped(path):
            wrong.append(("nobody", method, path, r.status_code))
    assert not wrong, "\n".join(map(str, wrong))
