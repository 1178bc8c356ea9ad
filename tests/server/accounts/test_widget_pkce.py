"""The Android widget's sign-in against the real server, byte for byte as its core builds it
(``android-widget/core/.../OAuthClient.kt``, ``Pkce.kt``): the app registered by the documented
command as a public client with the redirect URI ``org.gridlight.widget:/oauth``; the
authorization URL with RFC 7636's example verifier and the challenge the Kotlin tests compute
for it (``PkceTest.kt``), the same parameters in the same order and encoding; the redirect read
back; the form the core posts; the token answer in the shape its parser expects; the widget
state fetched with ``Authorization: Bearer``; a refresh that rotates, and an old refresh token
refused with ``invalid_grant`` (the core's cue to sign in again)."""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Iterator
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest
import requests
from werkzeug.serving import make_server

from server.cli import main as cli_main
from tests.server.accounts.conftest import make_app
from tests.server.accounts.test_oauth import Served, consent
from tests.services import free_port

REDIRECT = "org.gridlight.widget:/oauth"  # OAuthClient.DEFAULT_REDIRECT_URI
SCOPE = "read write"  # OAuthClient.DEFAULT_SCOPE
#: RFC 7636 appendix B (PkceTest.kt: RFC7636_VERIFIER, RFC7636_CHALLENGE)
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def kotlin_form(params: dict[str, str]) -> str:
    """``OAuthClient.formEncode``: URLEncoder (UTF-8) with ``+`` written ``%20``."""
    return urlencode(params, quote_via=quote, safe="*-._")


def token_request(base: str, fields: dict[str, str]) -> requests.Response:
    """OAuthClient's token request: a form POST to the token endpoint, JSON expected back."""
    return requests.post(
        f"{base}/oauth/token",
        data=kotlin_form(fields),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        },
        timeout=10,
    )


def authorization_url(base: str, client_id: str, scope: str, state: str) -> str:
    """``OAuthClient.authorizationUrl``, parameter for parameter (OAuthClientTest holds the
    Kotlin side)."""
    return f"{base}/oauth/authorize?" + kotlin_form(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT,
            "scope": scope,
            "state": state,
            "code_challenge": CHALLENGE,
            "code_challenge_method": "S256",
        }
    )


def exchange(base: str, client_id: str, code: str, verifier: str) -> requests.Response:
    """``OAuthClient.tokenRequest`` for a code: a form, with the verifier of the challenge."""
    return token_request(
        base,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": client_id,
            "code_verifier": verifier,
        },
    )


@pytest.fixture
def served(server_data_dir, stats_cache_dir, smtp, tmp_path) -> Iterator[Served]:  # noqa: ANN001
    database_url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    app = make_app(server_data_dir, stats_cache_dir, smtp, DATABASE_URL=database_url)
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    served = Served(app, f"http://127.0.0.1:{port}")
    served.database_url = database_url  # type: ignore[attr-defined]
    yield served
    server.shutdown()
    thread.join(timeout=10)
    app.extensions["gridlight"].stop()


def test_the_rfc_vector_is_what_s256_gives() -> None:
    digest = hashlib.sha256(VERIFIER.encode("ascii")).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == CHALLENGE


def test_the_widget_signs_in_as_its_core_does(  # noqa: ANN001
    served: Served, smtp, server_data_dir, capsys, monkeypatch
) -> None:
    base = served.base
    monkeypatch.setenv("DATABASE_URL", served.database_url)  # type: ignore[attr-defined]
    # registered as android-widget/README.md says
    status = cli_main(
        ["oauth-clients", "add", "Gridlight widget", "--public", "--redirect-uri", REDIRECT]
        + ["--scope", SCOPE, "--data-dir", str(server_data_dir)]
    )
    assert status == 0
    out = capsys.readouterr().out.splitlines()
    client_id = next(line.split(": ", 1)[1] for line in out if line.startswith("client_id: "))

    web, csrf = served.browser("ada@example.org", "Ada", smtp)
    served.household(web, csrf, "H1")
    # discovery (OAuthEndpoints.parseMetadata): S256 offered, the endpoints the core assumes
    meta = requests.get(f"{base}/.well-known/oauth-authorization-server", timeout=10).json()
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["authorization_endpoint"] == f"{base}/oauth/authorize"
    assert meta["token_endpoint"] == f"{base}/oauth/token"
    assert meta["revocation_endpoint"] == f"{base}/oauth/revoke"

    # OAuthClient.authorizationUrl
    state = "st4te-from-Pkce.newState"
    url = authorization_url(base, client_id, SCOPE, state)
    assert "redirect_uri=org.gridlight.widget%3A%2Foauth&scope=read%20write" in url
    location = consent(web, url).headers["Location"]
    # what the intent filter receives and OAuthClient.parseRedirect reads
    assert location.startswith(REDIRECT + "?")
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == [state]
    code = query["code"][0]

    r = exchange(base, client_id, code, VERIFIER)
    assert r.status_code == 200, r.text
    token = r.json()
    # OAuthClient.parseTokenResponse's expectations
    assert token["token_type"].lower() == "bearer"
    assert token["access_token"].startswith("glat_") and token["refresh_token"].startswith("glrt_")
    assert isinstance(token["expires_in"], int) and token["expires_in"] > 0
    assert set(token["scope"].split()) == {"read", "write"}

    # the widget state with the access token (WidgetApi.widgetRequest with a bearer)
    r = requests.get(
        f"{base}/api/v1/households/H1/widget?interval=60",
        headers={"Authorization": f"Bearer {token['access_token']}", "Accept": "application/json"},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    assert r.json()["household"] == "H1"

    # TokenHolder's refresh: rotated; the old refresh token is refused with invalid_grant
    refresh = {"grant_type": "refresh_token", "client_id": client_id}
    r = token_request(base, {**refresh, "refresh_token": token["refresh_token"]})
    assert r.status_code == 200, r.text
    rotated = r.json()
    assert rotated["refresh_token"] != token["refresh_token"]
    r = token_request(base, {**refresh, "refresh_token": token["refresh_token"]})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_a_verifier_that_does_not_match_the_challenge_is_refused(  # noqa: ANN001
    served: Served, smtp
) -> None:
    base = served.base
    client_id, _ = served.client(uris=(REDIRECT,), scope=SCOPE)
    web, csrf = served.browser("bob@example.org", "Bob", smtp)
    served.household(web, csrf, "H2")
    url = authorization_url(base, client_id, "read", "s")
    code = parse_qs(urlsplit(consent(web, url).headers["Location"]).query)["code"][0]
    r = exchange(base, client_id, code, VERIFIER[:-1] + "l")  # another verifier
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text
