"""The account pages with Flask's test client: each renders its form, ``next`` keeps only paths
of this site, ``GET /`` sends the signed-out to the sign-in page outside demo mode (and serves
the demo to everyone in it), and the pages are never cached nor leak their token by Referer."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from server.dashboard.views import PAGES, safe_next
from tests.dashboard.test_views import config_of
from tests.server.accounts.conftest import PASSWORD, last_mail


def _page_config(html: str) -> dict:
    return config_of(html)


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("/", "/"),
        ("/?household=H1", "/?household=H1"),
        ("/dashboard/sign-out", "/dashboard/sign-out"),
        (None, "/"),
        ("", "/"),
        ("https://evil.example/", "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("\\\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/ok\r\nSet-Cookie: x=1", "/"),
        ("evil.example", "/"),
    ],
)
def test_next_keeps_only_paths_of_this_site(given, kept):  # noqa: ANN001
    assert safe_next(given) == kept


@pytest.mark.parametrize(("endpoint", "url", "template"), PAGES)
def test_each_page_renders_its_form(accounts_app, endpoint, url, template):  # noqa: ANN001
    r = accounts_app.test_client().get(url)
    assert r.status_code == 200 and r.mimetype == "text/html"
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    html = r.get_data(as_text=True)
    cfg = _page_config(html)
    assert cfg["page"] == endpoint and cfg["api"] == "/api/v1" and cfg["next"] == "/"
    assert "/dashboard/static/js/auth.js" in html
    assert '<html lang="en">' in html and 'id="main"' in html
    forms = {
        "sign_in": 'data-form="sign-in"',
        "sign_up": 'data-form="sign-up"',
        "verify_email": 'data-form="verify-email"',
        "reset_password": 'data-form="reset-request"',
        "sign_out": 'data-form="sign-out"',
    }
    assert forms[endpoint] in html


def test_sign_in_page_keeps_a_safe_next_and_drops_another(accounts_app):  # noqa: ANN001
    client = accounts_app.test_client()
    html = client.get("/dashboard/sign-in?next=/%3Fhousehold%3DH1").get_data(as_text=True)
    assert _page_config(html)["next"] == "/?household=H1"
    html = client.get("/dashboard/sign-in?next=https://evil.example/").get_data(as_text=True)
    assert _page_config(html)["next"] == "/"
    assert "evil.example" not in html


def test_reset_page_with_a_token_asks_for_the_new_password(accounts_app):  # noqa: ANN001
    html = accounts_app.test_client().get("/dashboard/reset-password?token=abc").get_data(True)
    assert 'data-form="reset-confirm"' in html and 'data-form="reset-request"' not in html
    assert 'autocomplete="new-password"' in html
    assert "abc" not in html  # the token stays in the URL; the page does not repeat it


def test_root_sends_the_signed_out_to_sign_in_outside_demo_mode(accounts_app, smtp):  # noqa: ANN001
    client = accounts_app.test_client()
    r = client.get("/?household=H1")
    assert r.status_code == 302
    location = urlsplit(r.headers["Location"])
    assert location.path == "/dashboard/sign-in"
    assert parse_qs(location.query)["next"] == ["/?household=H1"]

    email = "page@example.org"
    assert (
        client.post(
            "/api/v1/users", json={"email": email, "password": PASSWORD, "name": "Page"}
        ).status_code
        == 201
    )
    token = token_in_any(last_mail(smtp, email))
    assert client.post("/api/v1/users/verify", json={"token": token}).status_code == 200
    assert (
        client.post("/api/v1/session", json={"email": email, "password": PASSWORD}).status_code
        == 200
    )
    r = client.get("/")
    assert r.status_code == 200
    cfg = config_of(r.get_data(as_text=True))
    assert cfg["accounts"] is True and cfg["demo"] is False
    assert cfg["sign_in"] == "/dashboard/sign-in" and cfg["sign_out"] == "/dashboard/sign-out"


def test_root_serves_the_demo_signed_out_in_demo_mode(make_app, smtp):  # noqa: ANN001
    from tests.dashboard.conftest import accounts_config

    app = make_app(**accounts_config(smtp, demo=True))
    r = app.test_client().get("/")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert config_of(html)["demo_households"] == ["A"]
    assert 'id="sign-in-link" href="/dashboard/sign-in"' in html
    for panel in ("set-alerts", "set-tariff", "set-members", "set-keys", "set-consent"):
        assert f'id="{panel}"' in html


def test_emailed_links_open_the_dashboard_pages(accounts_app, smtp):  # noqa: ANN001
    """The links the accounts API emails lead to pages that exist (verify, reset)."""
    client = accounts_app.test_client()
    email = "links@example.org"
    client.post("/api/v1/users", json={"email": email, "password": PASSWORD, "name": "L"})
    link = _link(last_mail(smtp, email))
    assert urlsplit(link).path == "/dashboard/verify-email"
    assert client.get(urlsplit(link).path + "?" + urlsplit(link).query).status_code == 200
    client.post("/api/v1/password-reset", json={"email": email})
    link = _link(last_mail(smtp, email))
    assert urlsplit(link).path == "/dashboard/reset-password"
    html = client.get(urlsplit(link).path + "?" + urlsplit(link).query).get_data(as_text=True)
    assert 'data-form="reset-confirm"' in html


def _link(mail) -> str:  # noqa: ANN001
    for word in mail.get_content().split():
        if word.startswith("http://") or word.startswith("https://"):
            return word
    raise AssertionError(mail.get_content())


def token_in_any(mail) -> str:  # noqa: ANN001
    """The ``token=…`` of the email's link, whatever host it names."""
    return parse_qs(urlsplit(_link(mail)).query)["token"][0]


def test_page_config_is_json(accounts_app):  # noqa: ANN001
    html = accounts_app.test_client().get("/dashboard/sign-up").get_data(as_text=True)
    cfg = json.loads(html.split('id="config">', 1)[1].split("</script>", 1)[0])
    assert cfg["password_min"] == 10
