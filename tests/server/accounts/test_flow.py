"""The accounts over HTTP, end to end: sign-up → verification email (caught by the local SMTP
stand-in) → verify → sign-in → a household (its key once, which works for ingest) → a viewer
invited → roles changed → the last owner cannot leave; password reset; the errors."""

from __future__ import annotations

import time

from server.accounts.sessions import CSRF_HEADER
from tests.server.accounts.conftest import (
    PASSWORD,
    create_household,
    last_mail,
    person,
    sign_in,
    sign_up,
    token_in,
)


def test_a_household_is_created_shared_and_kept_with_an_owner(app, smtp) -> None:  # noqa: ANN001
    client = app.test_client()
    r = client.post(
        "/api/v1/users", json={"email": "Ada@Example.org", "password": PASSWORD, "name": "Ada"}
    )
    assert r.status_code == 201 and r.json["verification_sent"] is True
    assert r.json["user"]["email_verified"] is False
    mail = last_mail(smtp, "Ada@Example.org")
    assert mail["Subject"] == "Confirm your Gridlight account"
    assert "https://gridlight.test/dashboard/verify-email?token=" in mail.get_content()
    # before verifying: refused
    r = client.post("/api/v1/session", json={"email": "ada@example.org", "password": PASSWORD})
    assert r.status_code == 403 and r.json["error"]["code"] == "email_not_verified"
    r = client.post("/api/v1/users/verify", json={"token": token_in(mail)})
    assert r.status_code == 200 and r.json["user"]["email_verified"] is True

    ada = sign_in(app, "ada@EXAMPLE.org")  # the email is found whatever its case
    cookie = ada.client.get_cookie("gridlight_session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    assert not cookie.secure  # plain HTTP here; see test_the_cookie_is_secure_behind_tls
    assert cookie.expires is not None  # the session ends (PERMANENT_SESSION_LIFETIME)
    r = ada.get("/api/v1/session")
    assert r.status_code == 200 and r.json["user"]["name"] == "Ada"
    assert r.json["csrf_token"] == ada.csrf

    key = create_household(ada, "H1")
    assert key.startswith("gl_")
    assert ada.get("/api/v1/me").json["households"] == [{"household": "H1", "role": "owner"}]
    # the key is shown once and works for the meter
    now = int(time.time())
    readings = {"readings": [{"ts": now - 5, "power_kw": {"Overall": 1.5, "Geyser": 0.5}}]}
    r = client.post(
        "/api/v1/households/H1/readings", json=readings, headers={"Authorization": f"Bearer {key}"}
    )
    assert r.status_code == 200 and r.json["accepted"] == 2
    # ingest stays key-only, even for the owner
    r = ada.write("POST", "/api/v1/households/H1/readings", json=readings)
    assert r.status_code == 401

    bob = person(app, smtp, "bob@example.org", "Bob")
    r = ada.write(
        "POST", "/api/v1/households/H1/members", json={"email": "bob@example.org", "role": "viewer"}
    )
    assert r.status_code == 201 and r.json["role"] == "viewer" and r.json["name"] == "Bob"
    # the viewer reads ...
    r = bob.get(f"/api/v1/households/H1/readings?from={now - 60}&to={now}&resolution=raw")
    assert r.status_code == 200, r.json
    r = bob.get("/api/v1/households/H1/stats?interval=5")
    assert r.status_code == 409 and r.json["error"]["code"] != "forbidden"  # too little history
    stream = bob.get("/api/v1/households/H1/stream?interval=5", buffered=False)
    assert stream.status_code == 200 and stream.mimetype == "text/event-stream"
    stream.close()
    # ... but does not write
    r = bob.write("PUT", "/api/v1/households/H1/alert-settings", json={})
    assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"
    assert "viewer" in r.json["error"]["message"]
    r = bob.write(
        "POST", "/api/v1/households/H1/members", json={"email": "ada@example.org", "role": "owner"}
    )
    assert r.status_code == 403
    members = bob.get("/api/v1/households/H1/members").json["members"]
    assert [(m["name"], m["role"]) for m in members] == [("Ada", "owner"), ("Bob", "viewer")]
    assert all("email" not in m for m in members)  # emails are for owners
    assert ada.get("/api/v1/households/H1/members").json["members"][1]["email"] == "bob@example.org"

    # the owner makes the viewer a member: now they write
    bob_id, ada_id = bob.user["id"], ada.user["id"]
    r = ada.write("PATCH", f"/api/v1/households/H1/members/{bob_id}", json={"role": "member"})
    assert r.status_code == 200 and r.json["role"] == "member"
    r = bob.write("PUT", "/api/v1/households/H1/alert-settings", json={})
    assert r.status_code == 200, r.json

    # the last owner cannot leave or be demoted; once Bob owns it too, Ada may leave
    r = ada.write("DELETE", f"/api/v1/households/H1/members/{ada_id}")
    assert r.status_code == 409 and r.json["error"]["code"] == "last_owner"
    r = ada.write("PATCH", f"/api/v1/households/H1/members/{ada_id}", json={"role": "viewer"})
    assert r.status_code == 409 and r.json["error"]["code"] == "last_owner"
    r = ada.write("PATCH", f"/api/v1/households/H1/members/{bob_id}", json={"role": "owner"})
    assert r.status_code == 200
    assert ada.write("DELETE", f"/api/v1/households/H1/members/{ada_id}").status_code == 204
    r = ada.get("/api/v1/households/H1/stats?interval=5")
    assert r.status_code == 403 and "no role" in r.json["error"]["message"]

    # the audit log, for owners
    r = bob.get("/api/v1/households/H1/audit")
    assert r.status_code == 200
    events = [(e["event"], e["detail"].get("to")) for e in r.json["entries"]]
    assert events == [
        ("member_removed", None),
        ("role_changed", "owner"),
        ("role_changed", "member"),
        ("member_added", None),
        ("household_created", None),
    ]
    # sign-out ends the session
    assert bob.write("DELETE", "/api/v1/session").status_code == 204
    assert bob.get("/api/v1/session").status_code == 401
    assert bob.get("/api/v1/households/H1/stats?interval=5").status_code == 401


def test_cookie_authenticated_writes_need_the_csrf_token(app, smtp) -> None:  # noqa: ANN001
    ada = person(app, smtp, "ada@example.org")
    body = {"id": "H2", "channels": ["Overall"]}
    for headers in ({}, {CSRF_HEADER: "not-the-token"}):
        r = ada.client.post("/api/v1/households", json=body, headers=headers)
        assert r.status_code == 403 and r.json["error"]["code"] == "csrf_failed"
    assert ada.client.delete("/api/v1/session").status_code == 403  # sign-out too
    key = create_household(ada, "H2")
    # a household write checked by server.auth (the core's write check) asks for it as well
    r = ada.client.put("/api/v1/households/H2/alert-settings", json={})
    assert r.status_code == 403 and r.json["error"]["code"] == "csrf_failed"
    assert ada.write("PUT", "/api/v1/households/H2/alert-settings", json={}).status_code == 200
    # reads do not; a bearer key never looks at the cookie
    assert ada.client.get("/api/v1/households/H2/alerts").status_code == 200
    r = ada.client.put(
        "/api/v1/households/H2/alert-settings",
        json={},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert r.status_code == 200
    # a new sign-in gets a new token; the old one is refused
    again = sign_in(app, "ada@example.org")
    assert again.csrf != ada.csrf
    r = again.client.put(
        "/api/v1/households/H2/alert-settings", json={}, headers={CSRF_HEADER: ada.csrf}
    )
    assert r.status_code == 403


def test_password_reset(app, smtp) -> None:  # noqa: ANN001
    ada = person(app, smtp, "ada@example.org")
    client = app.test_client()
    sent = len(smtp.messages)
    r = client.post("/api/v1/password-reset", json={"email": "nobody@example.org"})
    assert r.status_code == 202 and len(smtp.messages) == sent  # the same answer, no email
    r = client.post("/api/v1/password-reset", json={"email": "ADA@example.org"})
    assert r.status_code == 202 and len(smtp.messages) == sent + 1
    mail = last_mail(smtp, "ada@example.org")
    assert "https://gridlight.test/dashboard/reset-password?token=" in mail.get_content()
    token = token_in(mail)
    new = {"token": token, "password": "a whole new password"}
    r = client.post("/api/v1/password-reset/confirm", json={**new, "password": "short"})
    assert r.status_code == 400 and "10 to 1024 characters" in r.json["error"]["message"]
    assert "short" not in r.json["error"]["message"]  # a password is never repeated
    assert client.post("/api/v1/password-reset/confirm", json=new).status_code == 200
    # the link works once; the old password and the old session are gone
    r = client.post("/api/v1/password-reset/confirm", json=new)
    assert r.status_code == 400 and r.json["error"]["code"] == "invalid_token"
    r = client.post("/api/v1/session", json={"email": "ada@example.org", "password": PASSWORD})
    assert r.status_code == 401
    assert ada.get("/api/v1/session").status_code == 401
    sign_in(app, "ada@example.org", "a whole new password")
    r = client.post("/api/v1/password-reset/confirm", json={**new, "token": token[:-3] + "abc"})
    assert r.status_code == 400 and r.json["error"]["code"] == "invalid_token"


def test_sign_up_and_sign_in_errors(app, smtp) -> None:  # noqa: ANN001
    client = app.test_client()
    sign_up(app, smtp, "ada@example.org")
    r = client.post(
        "/api/v1/users", json={"email": "ADA@example.org", "password": PASSWORD, "name": "Again"}
    )
    assert r.status_code == 409 and r.json["error"]["code"] == "email_taken"
    r = client.post("/api/v1/session", json={"email": "ada@example.org", "password": "wrong!" * 3})
    assert r.status_code == 401 and r.json["error"]["code"] == "invalid_credentials"
    r = client.post("/api/v1/session", json={"email": "eve@example.org", "password": PASSWORD})
    assert r.status_code == 401 and r.json["error"]["code"] == "invalid_credentials"
    r = client.post("/api/v1/users", json={"email": "not-an-email", "password": PASSWORD})
    assert r.status_code == 400 and "name is required" in r.json["error"]["message"]
    r = client.post(
        "/api/v1/users", json={"email": "not-an-email", "password": PASSWORD, "name": "X"}
    )
    assert r.status_code == 400 and "email: expected an email address" in r.json["error"]["message"]
    r = client.post("/api/v1/users/verify", json={"token": "forged"})
    assert r.status_code == 400 and r.json["error"]["code"] == "invalid_token"
    assert client.get("/api/v1/me").status_code == 401
    assert (
        client.post("/api/v1/households", json={"id": "H", "channels": ["Overall"]}).status_code
        == 401
    )


def test_households_cannot_be_taken_twice_or_over_a_dataset(app, smtp) -> None:  # noqa: ANN001
    ada = person(app, smtp, "ada@example.org")
    create_household(ada, "H3")
    for household in ("H3", "A"):  # a live one, a dataset's
        r = ada.write("POST", "/api/v1/households", json={"id": household, "channels": ["Overall"]})
        assert r.status_code == 409 and r.json["error"]["code"] == "household_exists"
    r = ada.write(
        "POST",
        "/api/v1/households",
        json={"id": "H4", "channels": ["Overall"], "timezone": "Mars/Base"},
    )
    assert r.status_code == 400 and "Mars/Base" in r.json["error"]["message"]
    r = ada.write(
        "POST", "/api/v1/households", json={"id": "H4", "channels": ["Overall", "Overall"]}
    )
    assert r.status_code == 400


def test_inviting_needs_a_verified_account_once(app, smtp) -> None:  # noqa: ANN001
    ada = person(app, smtp, "ada@example.org")
    create_household(ada, "H5")
    app.test_client().post(
        "/api/v1/users", json={"email": "new@example.org", "password": PASSWORD, "name": "N"}
    )
    for email in ("new@example.org", "ghost@example.org"):
        r = ada.write(
            "POST", "/api/v1/households/H5/members", json={"email": email, "role": "member"}
        )
        assert r.status_code == 404 and r.json["error"]["code"] == "unknown_user"
    person(app, smtp, "bob@example.org")
    invite = {"email": "bob@example.org", "role": "member"}
    assert ada.write("POST", "/api/v1/households/H5/members", json=invite).status_code == 201
    r = ada.write("POST", "/api/v1/households/H5/members", json=invite)
    assert r.status_code == 409 and r.json["error"]["code"] == "already_member"
    r = ada.write("POST", "/api/v1/households/H5/members", json={**invite, "role": "admin"})
    assert r.status_code == 400 and "one of owner, member, viewer" in r.json["error"]["message"]


def test_the_cookie_is_secure_behind_tls(app, smtp) -> None:  # noqa: ANN001
    sign_up(app, smtp, "ada@example.org")
    client = app.test_client()
    r = client.post(
        "/api/v1/session",
        json={"email": "ada@example.org", "password": PASSWORD},
        headers={"X-Forwarded-Proto": "https"},
    )
    assert r.status_code == 200
    cookie = r.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    r = app.test_client().post(
        "/api/v1/session",
        json={"email": "ada@example.org", "password": PASSWORD},
        base_url="https://localhost",
    )
    assert "Secure" in r.headers["Set-Cookie"]


def test_a_secret_is_made_once_when_none_is_configured(  # noqa: ANN001
    server_data_dir, stats_cache_dir, smtp, caplog
) -> None:
    from tests.server.accounts.conftest import make_app

    apps = [make_app(server_data_dir, stats_cache_dir, smtp, SECRET_KEY=None) for _ in range(2)]
    path = server_data_dir / "secret_key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert apps[0].secret_key == apps[1].secret_key == path.read_text().strip()
    assert sum("back it up" in r.getMessage() for r in caplog.records) == 1
    for app in apps:
        app.extensions["gridlight"].stop()
