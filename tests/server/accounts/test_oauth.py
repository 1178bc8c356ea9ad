"""OAuth 2.0 end to end, with authlib's own client (``OAuth2Session`` over ``requests``)
against the app served on loopback, on SQLite and PostgreSQL: a user signs up and in, an app
asks for access (PKCE S256), the user approves on the consent page, the app exchanges the code,
calls the API with the access token, refreshes (rotation: the old refresh token is refused, and
presenting it again revokes the chain), revokes; wrong scope, wrong verifier, wrong redirect URI
and a missing CSRF token are refused."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import sqlalchemy as sa
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from werkzeug.serving import make_server

from server.accounts.oauth.store import digest
from server.cli import main as cli_main
from tests.server.accounts.conftest import PASSWORD, last_mail, make_app, token_in
from tests.services import free_port

CALLBACK = "http://127.0.0.1:9/callback"  # loopback: nothing listens, the test reads Location
OTHER_CALLBACK = "http://127.0.0.1:9/other"


class Served:
    def __init__(self, app: Any, base: str) -> None:
        self.app, self.base = app, base

    def browser(self, email: str, name: str, smtp: Any) -> tuple[requests.Session, str]:
        """A signed-up, verified, signed-in browser; returns it and its CSRF token."""
        web = requests.Session()
        r = web.post(
            f"{self.base}/api/v1/users", json={"email": email, "password": PASSWORD, "name": name}
        )
        assert r.status_code == 201, r.text
        r = web.post(
            f"{self.base}/api/v1/users/verify", json={"token": token_in(last_mail(smtp, email))}
        )
        assert r.status_code == 200, r.text
        r = web.post(f"{self.base}/api/v1/session", json={"email": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return web, r.json()["csrf_token"]

    def household(self, web: requests.Session, csrf: str, household: str) -> str:
        r = web.post(
            f"{self.base}/api/v1/households",
            json={"id": household, "channels": ["Overall", "Geyser"]},
            headers={"X-CSRF-Token": csrf},
        )
        assert r.status_code == 201, r.text
        return r.json()["key"]

    def client(
        self,
        *,
        public: bool = True,
        uris: tuple[str, ...] = (CALLBACK,),
        scope: str = "read write control admin",
    ) -> tuple[str, str | None]:
        client, secret = self.app.extensions["oauth"].store.add_client(
            "Gridlight Widget", list(uris), public=public, scope=scope
        )
        return client.client_id, secret


@pytest.fixture
def served(server_data_dir, stats_cache_dir, smtp, database_url) -> Iterator[Served]:  # noqa: ANN001
    app = make_app(server_data_dir, stats_cache_dir, smtp, DATABASE_URL=database_url)
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Served(app, f"http://127.0.0.1:{port}")
    server.shutdown()
    thread.join(timeout=10)
    app.extensions["gridlight"].stop()


def consent(web: requests.Session, url: str, decision: str = "approve") -> requests.Response:
    """Open the consent page as the signed-in browser and press a button; returns the redirect."""
    page = web.get(url, allow_redirects=False)
    assert page.status_code == 200, page.text
    assert page.headers["X-Frame-Options"] == "DENY"
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert csrf and action, page.text
    r = web.post(
        urlsplit(url)._replace(path="", query="").geturl() + unescape(action[1]),
        data={"csrf_token": unescape(csrf[1]), "decision": decision},
        allow_redirects=False,
    )
    assert r.status_code == 302, r.text
    return r


def authorize(
    served: Served, web: requests.Session, client_id: str, scope: str, **kw: Any
) -> tuple[OAuth2Session, dict]:
    """The whole dance for a public client; returns its session and the token."""
    verifier = generate_token(64)
    app = OAuth2Session(client_id, redirect_uri=CALLBACK, scope=scope, code_challenge_method="S256")
    url, _state = app.create_authorization_url(
        f"{served.base}/oauth/authorize", code_verifier=verifier
    )
    back = consent(web, url)
    token = app.fetch_token(
        f"{served.base}/oauth/token",
        authorization_response=back.headers["Location"],
        code_verifier=verifier,
    )
    return app, token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_pkce_flow_scopes_refresh_rotation_and_revocation(served: Served, smtp) -> None:  # noqa: ANN001
    base = served.base
    web, csrf = served.browser("ada@example.org", "Ada", smtp)
    served.household(web, csrf, "H1")
    client_id, secret = served.client()
    assert secret is None

    # the consent page names the app and each scope; the code comes back with the state
    verifier = generate_token(64)
    app = OAuth2Session(
        client_id, redirect_uri=CALLBACK, scope="read write", code_challenge_method="S256"
    )
    url, state = app.create_authorization_url(f"{base}/oauth/authorize", code_verifier=verifier)
    page = web.get(url, allow_redirects=False)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert "Gridlight Widget" in page.text and "ada@example.org" in page.text
    assert "<strong>read</strong>" in page.text and "<strong>write</strong>" in page.text
    assert "<strong>control</strong>" not in page.text
    back = consent(web, url)
    location = urlsplit(back.headers["Location"])
    assert location.geturl().startswith(CALLBACK)
    assert parse_qs(location.query)["state"] == [state]
    token = app.fetch_token(
        f"{base}/oauth/token",
        authorization_response=back.headers["Location"],
        code_verifier=verifier,
    )
    assert token["token_type"].lower() == "bearer" and token["scope"] == "read write"
    assert token["expires_in"] == 3600 and token["access_token"].startswith("glat_")
    assert token["refresh_token"].startswith("glrt_")

    # only hashes are stored: no column of any OAuth row holds a token or code as given
    with served.app.extensions["gridlight"].db.read() as c:
        rows = [
            tuple(r)
            for t in ("oauth_tokens", "oauth_codes", "oauth_clients")
            for r in c.execute(sa.text(f"SELECT * FROM {t}"))
        ]
        hashed = c.execute(
            sa.text(
                "SELECT count(*) FROM oauth_tokens WHERE access_hash = :h AND refresh_hash = :r"
            ),
            {"h": digest(token["access_token"]), "r": digest(token["refresh_token"])},
        ).scalar()
    flat = " ".join(str(v) for row in rows for v in row)
    assert token["access_token"] not in flat and token["refresh_token"] not in flat
    assert hashed == 1

    # the token acts as Ada: reads and writes of her household, her own account
    access = token["access_token"]
    r = requests.get(f"{base}/api/v1/me", headers=bearer(access))
    assert r.status_code == 200 and r.json()["user"]["email"] == "ada@example.org"
    assert r.json()["households"] == [{"household": "H1", "role": "owner"}]
    r = requests.get(f"{base}/api/v1/households/H1/readings", headers=bearer(access))
    assert r.status_code == 200, r.text
    r = requests.get(f"{base}/api/v1/households/H1/alert-settings", headers=bearer(access))
    assert r.status_code == 200, r.text
    settings = r.json()["settings"]
    r = requests.put(
        f"{base}/api/v1/households/H1/alert-settings", headers=bearer(access), json=settings
    )
    assert r.status_code == 200, r.text

    # scope: device commands need "control", member administration "admin" (RFC 6750 §3.1)
    r = requests.post(
        f"{base}/api/v1/households/H1/controls/heater/commands",
        headers=bearer(access),
        json={"action": "off"},
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "insufficient_scope"
    challenge = r.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="gridlight", error="insufficient_scope"')
    assert 'scope="control"' in challenge
    r = requests.get(f"{base}/api/v1/households/H1/audit", headers=bearer(access))
    assert r.status_code == 403 and 'scope="admin"' in r.headers["WWW-Authenticate"]
    # a meter's readings stay key-only
    r = requests.post(
        f"{base}/api/v1/households/H1/readings", headers=bearer(access), json={"readings": []}
    )
    assert r.status_code == 401 and "API key" in r.json()["error"]["message"]

    # the user's role still applies: Bob's household is not Ada's to read
    bob, bob_csrf = served.browser("bob@example.org", "Bob", smtp)
    served.household(bob, bob_csrf, "H2")
    r = requests.get(f"{base}/api/v1/households/H2/readings", headers=bearer(access))
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"

    # refresh rotates: new tokens; the old access and refresh tokens stop working
    old_refresh = token["refresh_token"]
    fresh = app.refresh_token(f"{base}/oauth/token", refresh_token=old_refresh)
    assert fresh["access_token"] != access and fresh["refresh_token"] != old_refresh
    assert fresh["scope"] == "read write"
    r = requests.get(f"{base}/api/v1/me", headers=bearer(access))
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token"
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]
    assert (
        requests.get(f"{base}/api/v1/me", headers=bearer(fresh["access_token"])).status_code == 200
    )
    r = requests.post(
        f"{base}/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": old_refresh, "client_id": client_id},
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    # ...and presenting a used refresh token revokes its whole chain
    assert (
        requests.get(f"{base}/api/v1/me", headers=bearer(fresh["access_token"])).status_code == 401
    )
    r = requests.post(
        f"{base}/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": fresh["refresh_token"],
            "client_id": client_id,
        },
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"

    # revocation (RFC 7009): an access token alone, then a refresh token with its chain
    app2, token2 = authorize(served, web, client_id, "read")
    assert (
        requests.get(f"{base}/api/v1/me", headers=bearer(token2["access_token"])).status_code == 200
    )
    r = app2.revoke_token(
        f"{base}/oauth/revoke", token=token2["access_token"], token_type_hint="access_token"
    )
    assert r.status_code == 200
    r = requests.get(
        f"{base}/api/v1/households/H1/readings", headers=bearer(token2["access_token"])
    )
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token"
    fresh2 = app2.refresh_token(f"{base}/oauth/token", refresh_token=token2["refresh_token"])
    assert (
        requests.get(f"{base}/api/v1/me", headers=bearer(fresh2["access_token"])).status_code == 200
    )
    r = app2.revoke_token(
        f"{base}/oauth/revoke", token=fresh2["refresh_token"], token_type_hint="refresh_token"
    )
    assert r.status_code == 200
    assert (
        requests.get(f"{base}/api/v1/me", headers=bearer(fresh2["access_token"])).status_code == 401
    )
    r = requests.post(
        f"{base}/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": fresh2["refresh_token"],
            "client_id": client_id,
        },
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    # an unknown token is accepted silently (RFC 7009 §2.2)
    r = requests.post(
        f"{base}/oauth/revoke", data={"token": "glat_nothing", "client_id": client_id}
    )
    assert r.status_code == 200

    # a token with every scope a member has may control devices (the body is checked after)
    app3, token3 = authorize(served, web, client_id, "read control admin")
    r = requests.post(
        f"{base}/api/v1/households/H1/controls/heater/commands",
        headers=bearer(token3["access_token"]),
        json={"action": "off"},
    )
    assert r.status_code != 403 and r.status_code != 401, r.text
    r = requests.get(f"{base}/api/v1/households/H1/audit", headers=bearer(token3["access_token"]))
    assert r.status_code == 200 and any(
        e["event"] == "household_created" for e in r.json()["entries"]
    )

    # the audit log has the consents
    with served.app.extensions["gridlight"].db.read() as c:
        events = [
            r[0]
            for r in c.execute(sa.text("SELECT event FROM audit_log WHERE event LIKE 'oauth%'"))
        ]
    assert events.count("oauth_consent") == 3


def test_pkce_and_redirect_uri_are_enforced(served: Served, smtp) -> None:  # noqa: ANN001
    base = served.base
    web, _ = served.browser("ada@example.org", "Ada", smtp)
    client_id, _ = served.client(uris=(CALLBACK, OTHER_CALLBACK))

    # a code verifier that does not match the challenge is refused, and the code is spent
    verifier = generate_token(64)
    app = OAuth2Session(
        client_id, redirect_uri=CALLBACK, scope="read", code_challenge_method="S256"
    )
    url, _ = app.create_authorization_url(f"{base}/oauth/authorize", code_verifier=verifier)
    code = parse_qs(urlsplit(consent(web, url).headers["Location"]).query)["code"][0]
    token_form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "client_id": client_id,
    }
    r = requests.post(
        f"{base}/oauth/token", data={**token_form, "code_verifier": generate_token(64)}
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    r = requests.post(f"{base}/oauth/token", data={**token_form, "code_verifier": verifier})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"  # used once already

    # no verifier at all from a public client
    url, _ = app.create_authorization_url(f"{base}/oauth/authorize", code_verifier=verifier)
    code = parse_qs(urlsplit(consent(web, url).headers["Location"]).query)["code"][0]
    r = requests.post(f"{base}/oauth/token", data={**token_form, "code": code})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"

    # a public client must send an S256 challenge: the error goes back to its redirect URI
    plain = OAuth2Session(client_id, redirect_uri=CALLBACK, scope="read")
    url, state = plain.create_authorization_url(f"{base}/oauth/authorize")
    r = web.get(url, allow_redirects=False)
    assert r.status_code == 302
    query = parse_qs(urlsplit(r.headers["Location"]).query)
    assert query["error"] == ["invalid_request"] and query["state"] == [state]
    challenge = create_s256_code_challenge(verifier)
    r = web.get(
        f"{base}/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": CALLBACK,
            "code_challenge": verifier,
            "code_challenge_method": "plain",
        },
        allow_redirects=False,
    )
    assert r.status_code == 302 and "error=invalid_request" in r.headers["Location"]

    # a redirect URI the client did not register: 400 here, never a redirect to it
    r = web.get(
        f"{base}/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": "https://evil.example/cb",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
        allow_redirects=False,
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_request"
    assert "evil.example" in r.json()["error"]["message"]
    # the token request must name the redirect URI the code was issued for
    app = OAuth2Session(
        client_id, redirect_uri=CALLBACK, scope="read", code_challenge_method="S256"
    )
    url, _ = app.create_authorization_url(f"{base}/oauth/authorize", code_verifier=verifier)
    code = parse_qs(urlsplit(consent(web, url).headers["Location"]).query)["code"][0]
    r = requests.post(
        f"{base}/oauth/token",
        data={
            **token_form,
            "code": code,
            "redirect_uri": OTHER_CALLBACK,
            "code_verifier": verifier,
        },
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"

    # unknown client, unknown scope
    r = web.get(
        f"{base}/oauth/authorize",
        params={"response_type": "code", "client_id": "nobody", "redirect_uri": CALLBACK},
        allow_redirects=False,
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_client"
    r = web.get(
        f"{base}/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": CALLBACK,
            "scope": "read everything",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
        allow_redirects=False,
    )
    assert r.status_code == 302 and "error=invalid_scope" in r.headers["Location"]


def test_consent_needs_sign_in_csrf_and_may_be_denied(served: Served, smtp) -> None:  # noqa: ANN001
    base = served.base
    client_id, _ = served.client()
    verifier = generate_token(64)
    app = OAuth2Session(
        client_id, redirect_uri=CALLBACK, scope="read", code_challenge_method="S256"
    )
    url, state = app.create_authorization_url(f"{base}/oauth/authorize", code_verifier=verifier)

    # not signed in: to the dashboard's sign-in page, which comes back here
    r = requests.get(url, allow_redirects=False)
    assert r.status_code == 302
    where = urlsplit(r.headers["Location"])
    assert where.path == "/dashboard/sign-in"
    back = parse_qs(where.query)["next"][0]
    assert back.startswith("/oauth/authorize?") and client_id in back

    web, _ = served.browser("ada@example.org", "Ada", smtp)
    # approving without the session's CSRF token (a forged form) is refused
    r = web.post(url, data={"decision": "approve"}, allow_redirects=False)
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"
    r = requests.post(url, data={"decision": "approve", "csrf_token": "x"}, allow_redirects=False)
    assert r.status_code == 401 and r.json()["error"]["code"] == "not_signed_in"
    # deny: back to the app with access_denied and its state
    r = consent(web, url, decision="deny")
    query = parse_qs(urlsplit(r.headers["Location"]).query)
    assert query["error"] == ["access_denied"] and query["state"] == [state]
    assert "code" not in query


def test_confidential_client_registered_by_the_cli(
    served: Served, smtp, server_data_dir, capsys, database_url, monkeypatch
) -> None:  # noqa: ANN001
    base = served.base
    monkeypatch.setenv("DATABASE_URL", database_url)  # the command works on the app's database
    status = cli_main(
        [
            "oauth-clients",
            "add",
            "Energy Coach",
            "--redirect-uri",
            CALLBACK,
            "--scope",
            "read",
            "--data-dir",
            str(server_data_dir),
        ]
    )
    assert status == 0
    out = capsys.readouterr().out.splitlines()
    client_id = next(line.split(": ", 1)[1] for line in out if line.startswith("client_id: "))
    secret = out[-1]
    assert "confidential" in out[0] and len(secret) >= 40
    stored = served.app.extensions["oauth"].store.client(client_id)
    assert stored is not None and stored.secret_hash == digest(secret) and stored.scope == "read"
    bad = cli_main(
        [
            "oauth-clients",
            "add",
            "X",
            "--redirect-uri",
            "http://example.com/cb",
            "--data-dir",
            str(server_data_dir),
        ]
    )
    assert bad == 2
    assert "plain http is only for loopback" in capsys.readouterr().err

    web, _ = served.browser("ada@example.org", "Ada", smtp)
    app = OAuth2Session(client_id, secret, redirect_uri=CALLBACK, scope="read write")
    url, _ = app.create_authorization_url(f"{base}/oauth/authorize")
    page = web.get(url)
    assert "<strong>write</strong>" not in page.text  # the client may only ask for read
    back = consent(web, url)
    r = requests.post(
        f"{base}/oauth/token",
        auth=(client_id, "not-the-secret"),
        data={
            "grant_type": "authorization_code",
            "code": parse_qs(urlsplit(back.headers["Location"]).query)["code"][0],
            "redirect_uri": CALLBACK,
        },
    )
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    url, _ = app.create_authorization_url(f"{base}/oauth/authorize")
    token = app.fetch_token(
        f"{base}/oauth/token", authorization_response=consent(web, url).headers["Location"]
    )
    assert token["scope"] == "read"
    assert (
        requests.get(f"{base}/api/v1/me", headers=bearer(token["access_token"])).status_code == 200
    )


def test_metadata(served: Served) -> None:
    r = requests.get(f"{served.base}/.well-known/oauth-authorization-server")
    assert r.status_code == 200
    doc = r.json()
    assert doc["issuer"] == served.base
    assert doc["authorization_endpoint"] == f"{served.base}/oauth/authorize"
    assert doc["token_endpoint"] == f"{served.base}/oauth/token"
    assert doc["revocation_endpoint"] == f"{served.base}/oauth/revoke"
    assert doc["scopes_supported"] == ["read", "write", "control", "admin"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert set(doc["grant_types_supported"]) == {"authorization_code", "refresh_token"}
