"""``POST|DELETE /api/v1/households/{h}/devices``: keys, validation, idempotence, no token in logs."""

from __future__ import annotations

import logging

import pytest

from server.push.devices import token_ref

URL = "/api/v1/households/A/devices"
TOKEN = "dXk3Zq9RTxe0:APA91bH" + "x" * 140


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def rows(app) -> list[tuple[str, str]]:  # noqa: ANN001
    return app.extensions["widget_api"].devices.devices("A")


def test_register_is_idempotent_and_delete_removes(app, keys):
    client = app.test_client()
    r = client.post(URL, json={"token": TOKEN, "platform": "android"}, headers=auth(keys["A"]))
    assert r.status_code == 201
    assert r.json == {"household": "A", "platform": "android", "registered": True, "created": True}
    again = client.post(URL, json={"token": TOKEN, "platform": "ios"}, headers=auth(keys["A"]))
    assert again.status_code == 200
    assert again.json["created"] is False
    assert rows(app) == [(TOKEN, "ios")]
    gone = client.delete(URL, json={"token": TOKEN}, headers=auth(keys["A"]))
    assert gone.status_code == 200
    assert gone.json == {"household": "A", "removed": True}
    assert rows(app) == []
    assert (
        client.delete(URL, json={"token": TOKEN}, headers=auth(keys["A"])).json["removed"] is False
    )


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "household 'A' needs its API key"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "got the scheme 'Basic'"),
        ({"Authorization": "Bearer"}, "Bearer needs the API key after it"),
        ({"Authorization": "Bearer gl_000000000000_nope"}, "not a live key of household 'A'"),
        ({"Authorization": "Bearer not-a-key"}, "not a live key of household 'A'"),
    ],
)
def test_registration_needs_the_household_key(app, keys, headers, message):
    client = app.test_client()
    for method in (client.post, client.delete):
        r = method(URL, json={"token": TOKEN, "platform": "android"}, headers=headers)
        assert r.status_code == 401
        assert r.json["error"]["code"] == "unauthorized"
        assert message in r.json["error"]["message"]
        assert r.headers["WWW-Authenticate"] == 'Bearer realm="gridlight"'
    assert rows(app) == []


def test_another_households_key_is_refused(app, keys):
    r = app.test_client().post(
        URL, json={"token": TOKEN, "platform": "android"}, headers=auth(keys["Z"])
    )
    assert r.status_code == 401


def test_demo_households_still_need_a_key_to_register(make_app, keys):
    client = make_app(DEMO=True).test_client()
    assert client.get("/api/v1/households/A/widget").status_code == 200  # reads are open
    assert client.post(URL, json={"token": TOKEN, "platform": "android"}).status_code == 401
    ok = client.post(URL, json={"token": TOKEN, "platform": "android"}, headers=auth(keys["A"]))
    assert ok.status_code == 201


def test_unknown_household(app, keys):
    r = app.test_client().post(
        "/api/v1/households/Q/devices",
        json={"token": TOKEN, "platform": "android"},
        headers=auth(keys["A"]),
    )
    assert r.status_code == 404
    assert r.json["error"]["code"] == "unknown_household"


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({"platform": "android"}, "invalid_parameter", "token is required"),
        ({"token": 12345, "platform": "android"}, "invalid_parameter", "must be a string, got int"),
        ({"token": "short", "platform": "android"}, "invalid_parameter", "got 5"),
        ({"token": "x" * 5000, "platform": "android"}, "invalid_parameter", "got 5000"),
        (
            {"token": TOKEN[:40] + " " + TOKEN[41:], "platform": "android"},
            "invalid_parameter",
            "invalid character ' ' at position 40",
        ),
        ({"token": TOKEN}, "invalid_parameter", "platform is required: one of android, ios, web"),
        ({"token": TOKEN, "platform": "symbian"}, "invalid_parameter", "got 'symbian'"),
        ({"token": TOKEN, "platform": 1}, "invalid_parameter", "got 1"),
        ([TOKEN], "invalid_json", "must be a JSON object, got list"),
    ],
)
def test_bad_bodies(app, keys, body, code, message):
    r = app.test_client().post(URL, json=body, headers=auth(keys["A"]))
    assert r.status_code == 400
    assert r.json["error"]["code"] == code
    assert message in r.json["error"]["message"]
    assert TOKEN not in r.get_data(as_text=True)
    assert rows(app) == []


def test_not_json(app, keys):
    r = app.test_client().post(URL, data="token=abc", headers=auth(keys["A"]))
    assert r.status_code == 400
    assert r.json["error"]["code"] == "invalid_json"


def test_tokens_are_never_logged_whole(app, keys, caplog):
    caplog.set_level(logging.DEBUG)
    client = app.test_client()
    client.post(URL, json={"token": TOKEN, "platform": "web"}, headers=auth(keys["A"]))
    client.delete(URL, json={"token": TOKEN}, headers=auth(keys["A"]))
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert token_ref(TOKEN) in logged
    assert TOKEN[:6] in logged
    assert TOKEN not in logged
    assert TOKEN[:20] not in logged
