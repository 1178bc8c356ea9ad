"""The settings and log routes: keys, validation errors naming the field, cursor pages, and the
six-month retention."""

from __future__ import annotations

import pytest

from server.alerts.rules import SPIKE_MESSAGE, Alert
from server.alerts.store import RETENTION_S, Attempt

T0 = 1_763_792_760
URL = "/api/v1/households/A/alert-settings"


@pytest.fixture
def app(app):  # noqa: ANN001, ANN201 - the shared app, where A is not an open demo household
    app.config["DEMO"] = False
    return app


@pytest.fixture
def key_a(app) -> str:  # noqa: ANN001
    _, key = app.extensions["gridlight"].keys.add_household("A", ["AC", "Geyser", "Overall"])
    return key


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_settings_need_the_household_key(client, key_a):  # noqa: ANN001
    assert client.get(URL).status_code == 401
    assert client.put(URL, json={"cooldown_min": 5}).status_code == 401
    assert client.get(URL, headers=auth("gl_000000000000_nope")).status_code == 401
    r = client.get(URL, headers=auth(key_a))
    assert r.status_code == 200
    doc = r.json["settings"]
    assert doc["timezone"] == "Asia/Kolkata"  # the household's zone by default
    assert doc["rules"]["spike"] == {"enabled": True, "channels": ["Overall"], "threshold": 2.0}
    assert client.get("/api/v1/households/NOPE/alert-settings").status_code == 404


def test_settings_round_trip_and_the_webhook_secret_is_write_only(app, client, key_a):  # noqa: ANN001
    body = {
        "quiet_hours": {"start": "22:30", "end": "06:45"},
        "rules": {"spike": {"threshold": 3.5}},
        "channels": {
            "email": {"enabled": True, "to": ["owner@example.org"]},
            "webhook": {"enabled": True, "url": "https://hooks.example.org/g", "secret": "x" * 20},
        },
    }
    r = client.put(URL, json=body, headers=auth(key_a))
    assert r.status_code == 200, r.json
    doc = client.get(URL, headers=auth(key_a)).json["settings"]
    assert doc["quiet_hours"] == {"start": "22:30", "end": "06:45"}
    assert doc["rules"]["spike"]["threshold"] == 3.5
    assert doc["rules"]["spike"]["channels"] == ["Overall"]  # merged, not replaced
    assert doc["channels"]["webhook"]["secret"] is None
    assert doc["channels"]["webhook"]["secret_set"] is True
    # a PUT without the secret keeps it
    r = client.put(
        URL,
        json={"channels": {"webhook": {"url": "https://other.example.org/"}}},
        headers=auth(key_a),
    )
    assert r.status_code == 200, r.json
    assert r.json["settings"]["channels"]["webhook"]["secret_set"] is True
    # a GET's document sent back as it is (secret null, secret_set) is accepted and keeps it
    got = client.get(URL, headers=auth(key_a)).json["settings"]
    r = client.put(URL, json=got, headers=auth(key_a))
    assert r.status_code == 200, r.json
    stored = app.extensions["alerts"].settings.get("A")
    assert stored["channels"]["webhook"]["secret"] == "x" * 20


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"rules": {"spike": {"threshold": 0.5}}},
            r"rules\.spike\.threshold: expected a number in \[1\.01",
        ),
        ({"rules": {"spike": {"threshold": "2"}}}, r"rules\.spike\.threshold"),
        (
            {"rules": {"spike": {"channels": ["Kitchen"]}}},
            r"rules\.spike\.channels\[0\]: .*AC, Geyser, Overall",
        ),
        (
            {"rules": {"level": {"min_level": "yellow"}}},
            r"rules\.level\.min_level: expected 'red' or 'critical'",
        ),
        (
            {"rules": {"level": {"intervals": 2.5}}},
            r"rules\.level\.intervals: expected a whole number",
        ),
        ({"rules": {"offline": {"after_min": 0}}}, r"rules\.offline\.after_min"),
        ({"timezone": "Mars/Olympus"}, r"timezone: expected an IANA time zone"),
        (
            {"quiet_hours": {"start": "25:00", "end": "07:00"}},
            r"quiet_hours\.start: expected a local time",
        ),
        ({"quiet_hours": {"start": "07:00", "end": "07:00"}}, r"quiet_hours: start and end"),
        ({"cooldown_min": -1}, r"cooldown_min: expected a whole number"),
        ({"colour": "red"}, r"unknown field colour"),
        ({"channels": {"fax": {}}}, r"unknown field channels\.fax"),
        (
            {"channels": {"email": {"enabled": True, "to": []}}},
            r"channels\.email\.to: an enabled channel",
        ),
        (
            {"channels": {"email": {"to": ["not-an-address"]}}},
            r"channels\.email\.to\[0\]: expected email",
        ),
        (
            {"channels": {"sms": {"to": ["0151 1234"]}}},
            r"channels\.sms\.to\[0\]: expected phone number in E\.164",
        ),
        (
            {"channels": {"webhook": {"enabled": True, "url": "ftp://x", "secret": "y" * 20}}},
            r"channels\.webhook\.url: expected an http",
        ),
        (
            {"channels": {"webhook": {"enabled": True, "url": "https://x.org", "secret": "short"}}},
            r"channels\.webhook\.secret: expected a string of 16",
        ),
        ({"enabled": "yes"}, r"enabled: expected true or false"),
        (
            {"channels": {"webhook": {"enabled": True, "url": "https://x.org"}}},
            r"channels\.webhook\.secret: expected a string of 16 to 256 characters, got None",
        ),
        ({"rules": None}, r"rules: expected a JSON object, got None"),
        (
            {"cooldown_min": "5", "notify_recovery": 1},
            r"cooldown_min: expected a whole number .*; notify_recovery: expected true or false",
        ),
    ],
)
def test_bad_settings_are_400_naming_the_field(client, key_a, body, message):  # noqa: ANN001
    import re

    r = client.put(URL, json=body, headers=auth(key_a))
    assert r.status_code == 400, r.json
    assert r.json["error"]["code"] == "invalid_parameter"
    assert re.search(message, r.json["error"]["message"]), r.json["error"]["message"]


def test_secrets_are_not_repeated_and_whole_numbers_may_be_written_as_decimals(client, key_a):  # noqa: ANN001
    hook = {"enabled": True, "url": "https://x.org", "secret": "hunter2-oops"}
    r = client.put(URL, json={"channels": {"webhook": hook}}, headers=auth(key_a))
    assert r.status_code == 400 and "hunter2" not in r.get_data(as_text=True)
    assert "got one of 12 characters" in r.json["error"]["message"]
    r = client.put(URL, json={"cooldown_min": 5.0}, headers=auth(key_a))
    assert r.status_code == 200 and r.json["settings"]["cooldown_min"] == 5


def test_the_defaults_are_the_models():
    from server.alerts.settings import AlertSettingsDocument, default_settings

    doc = default_settings("Asia/Kolkata", ("AC", "Overall"))
    assert doc == AlertSettingsDocument(timezone="Asia/Kolkata").model_dump(mode="json")
    assert default_settings("UTC", ("AC",))["rules"]["spike"]["channels"] == ["AC"]


def test_a_body_that_is_not_an_object_is_400(client, key_a):  # noqa: ANN001
    r = client.put(URL, data="[1]", content_type="application/json", headers=auth(key_a))
    assert r.status_code == 400
    assert "body: expected a JSON object" in r.json["error"]["message"]


def add(app, i: int, ts_s: int):  # noqa: ANN001, ANN201
    ext = app.extensions["alerts"]
    alert_id = ext.log.add(Alert("A", "spike", "alert", "red", ts_s, SPIKE_MESSAGE, {"n": i}))
    ext.log.record(alert_id, Attempt("email", "o***@example.org", 1, "sent", None, ts_s + 1))
    return alert_id


def test_log_pages_with_a_cursor_stable_under_inserts(app, client, key_a):  # noqa: ANN001
    for i in range(5):
        add(app, i, T0 + 60 * i)
    add(app, 5, T0 + 60 * 4)  # same second as the previous one: the id breaks the tie
    url = "/api/v1/households/A/alerts"
    assert client.get(url).status_code == 401  # not a demo household here
    r = client.get(url + "?limit=2", headers=auth(key_a))
    assert r.status_code == 200
    assert [a["values"]["n"] for a in r.json["alerts"]] == [5, 4]
    first = r.json["alerts"][0]
    assert (
        first["rule"] == "spike" and first["level"] == "red" and first["message"] == SPIKE_MESSAGE
    )
    assert first["deliveries"] == [
        {
            "channel": "email",
            "target": "o***@example.org",
            "attempt": 1,
            "status": "sent",
            "error": None,
            "at": "2025-11-22T06:30:01Z",
        }
    ]
    add(app, 6, T0 + 600)  # a new alert between pages does not shift the next page
    seen = [5, 4]
    cursor = r.json["next_cursor"]
    while cursor:
        r = client.get(f"{url}?limit=2&cursor={cursor}", headers=auth(key_a))
        seen += [a["values"]["n"] for a in r.json["alerts"]]
        cursor = r.json["next_cursor"]
    assert seen == [5, 4, 3, 2, 1, 0]
    r = client.get(f"{url}?from={T0 + 60}&to=2025-11-22T06:30:01Z", headers=auth(key_a))
    assert [a["values"]["n"] for a in r.json["alerts"]] == [5, 4, 3, 2, 1]
    for query, message in [
        ("cursor=%%%", "cursor: "),
        ("from=yesterday", "from: expected ISO 8601"),
        ("from=2025-11-22T06:00:00", "has no time zone"),
        (f"from={T0}&to={T0}", "must be before"),
        ("limit=0", "limit: expected a whole number in [1, 500]"),
    ]:
        r = client.get(f"{url}?{query}", headers=auth(key_a))
        assert r.status_code == 400, query
        assert message in r.json["error"]["message"]


def test_demo_households_logs_are_open_in_demo_mode(server_data_dir, stats_cache_dir):  # noqa: ANN001
    from server import create_app

    app = create_app(
        {
            "TESTING": True,
            "DATA_DIR": str(server_data_dir),
            "STATS_CACHE_DIR": str(stats_cache_dir),
            "DEMO": True,
            "DEMO_HOUSEHOLDS": ["A"],
            "EMBEDDED_REPLAY": False,
            "WARM_STATS": False,
        }
    )
    try:
        client = app.test_client()
        assert client.get("/api/v1/households/A/alerts").status_code == 200
        assert client.get(URL).status_code == 401  # settings hold addresses: always a key
    finally:
        app.extensions["gridlight"].stop()


def test_retention_keeps_six_months(app):  # noqa: ANN001
    log = app.extensions["alerts"].log
    now = T0 + 400 * 86_400
    old = add(app, 0, now - RETENTION_S - 1)
    kept = add(app, 1, now - RETENTION_S + 1)
    assert log.purge(now) == 1
    assert log.attempts(old) == []
    assert [a.status for a in log.attempts(kept)] == ["sent"]
    alerts, _ = log.page("A")
    assert [a["id"] for a in alerts] == [kept]


def test_the_log_and_settings_use_the_apps_database_and_hold_no_connection(app):  # noqa: ANN001
    ext = app.extensions["alerts"]
    db = app.extensions["gridlight"].db
    assert ext.log.db is db and ext.settings.db is db
    add(app, 0, T0)
    ext.settings.put("A", {"enabled": False})
    assert ext.settings.get("A") == {"enabled": False}
    assert db.engine.pool.checkedout() == 0  # every call returned its connection
    app.extensions["gridlight"].stop()  # disposes the pool with the worker
    assert db.engine.pool.checkedout() == 0
