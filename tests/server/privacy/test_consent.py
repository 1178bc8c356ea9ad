"""Consent per household and purpose: defaults, owners' changes with the wording's version and a
log; without collection, ingest (HTTP and MQTT) refuses and stores nothing; without analytics or
recommendations, the insights skip the household."""

from __future__ import annotations

import time

import sqlalchemy as sa

from server.ingest.mqtt import MqttIngest
from tests.server.accounts.conftest import create_household, person

READING = {"ts": None, "power_kw": {"Overall": 1.5, "Geyser": 0.2}}


def readings_of(app, household: str) -> int:  # noqa: ANN001
    with app.extensions["gridlight"].db.read() as c:
        return c.execute(
            sa.text("SELECT count(DISTINCT ts_s) FROM readings WHERE household = :h"),
            {"h": household},
        ).scalar_one()


def post(app, key: str, ts: int):  # noqa: ANN001, ANN201
    return app.test_client().post(
        "/api/v1/households/H1/readings",
        json={"readings": [{**READING, "ts": ts}]},
        headers={"Authorization": f"Bearer {key}"},
    )


def test_owner_sets_consent_members_read_it_and_it_is_logged(app, smtp):  # noqa: ANN001
    ada = person(app, smtp, "ada@example.org", "Ada")
    bob = person(app, smtp, "bob@example.org", "Bob")
    key = create_household(ada, "H1")
    version = app.config["CONSENT_VERSION"]
    got = ada.get("/api/v1/households/H1/consent").json
    # created over HTTP: collection given by its creator, the rest not yet
    assert {p: c["granted"] for p, c in got["consents"].items()} == {
        "collection": True,
        "analytics": False,
        "recommendations": False,
        "sharing": False,
    }
    assert got["consents"]["collection"]["by"] == ada.user["id"]
    assert got["consents"]["collection"]["version"] == version == got["version"]
    assert [e["source"] for e in got["log"]] == ["household_created"] * 4
    r = ada.write(
        "PUT",
        "/api/v1/households/H1/consent",
        json={"version": version, "analytics": True, "recommendations": True},
    )
    assert r.status_code == 200, r.json
    assert r.json["consents"]["analytics"]["granted"] is True
    assert r.json["log"][0]["source"] == "api" and r.json["log"][0]["by"] == ada.user["id"]
    # the wording's version must be the current one; bad values are named
    r = ada.write(
        "PUT", "/api/v1/households/H1/consent", json={"version": "2001-01", "sharing": True}
    )
    assert r.status_code == 400 and "version" in r.json["error"]["message"]
    r = ada.write(
        "PUT", "/api/v1/households/H1/consent", json={"version": version, "sharing": "yes"}
    )
    assert r.status_code == 400 and "sharing" in r.json["error"]["message"]
    r = ada.write("PUT", "/api/v1/households/H1/consent", json={"version": version})
    assert r.status_code == 400 and "at least one purpose" in r.json["error"]["message"]
    r = ada.write("PUT", "/api/v1/households/H1/consent", json={"version": version, "fax": True})
    assert r.status_code == 400 and "fax" in r.json["error"]["message"]
    # members read, only owners write; the key reads; nobody else
    ada.write(
        "POST", "/api/v1/households/H1/members", json={"email": "bob@example.org", "role": "member"}
    )
    assert bob.get("/api/v1/households/H1/consent").status_code == 200
    r = bob.write(
        "PUT", "/api/v1/households/H1/consent", json={"version": version, "collection": False}
    )
    assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"
    anon = app.test_client()
    assert anon.get("/api/v1/households/H1/consent").status_code == 401
    assert (
        anon.get(
            "/api/v1/households/H1/consent", headers={"Authorization": f"Bearer {key}"}
        ).status_code
        == 200
    )
    assert anon.get("/api/v1/households/NOPE/consent").status_code == 404
    # the change is in the household's audit log
    events = [e["event"] for e in ada.get("/api/v1/households/H1/audit").json["entries"]]
    assert "consent_changed" in events


def test_without_collection_ingest_refuses_and_stores_nothing(app, smtp):  # noqa: ANN001
    ada = person(app, smtp, "ada@example.org", "Ada")
    key = create_household(ada, "H1")
    now = int(time.time())
    assert post(app, key, now - 10).status_code == 200
    assert readings_of(app, "H1") == 1
    version = app.config["CONSENT_VERSION"]
    assert (
        ada.write(
            "PUT", "/api/v1/households/H1/consent", json={"version": version, "collection": False}
        ).status_code
        == 200
    )
    r = post(app, key, now - 5)
    assert r.status_code == 403 and r.json["error"]["code"] == "consent_required"
    assert "collection" in r.json["error"]["message"]
    assert readings_of(app, "H1") == 1
    # MQTT: the message is dropped, not even kept as a dead letter
    ingest = app.extensions["gridlight_ingest"]
    mqtt = MqttIngest("mqtt://127.0.0.1:1", ingest.ingestor, writer=None)  # type: ignore[arg-type]
    rows = mqtt.handle(
        "gridlight/H1/readings", b'{"ts": %d, "power_kw": {"Overall": 1}}' % (now - 3)
    )
    assert rows == []
    with app.extensions["gridlight"].db.read() as c:
        assert c.execute(sa.text("SELECT count(*) FROM dead_letters")).scalar_one() == 0
    # given again: both paths store
    assert (
        ada.write(
            "PUT", "/api/v1/households/H1/consent", json={"version": version, "collection": True}
        ).status_code
        == 200
    )
    assert post(app, key, now - 2).status_code == 200
    assert (
        len(
            mqtt.handle(
                "gridlight/H1/readings", b'{"ts": %d, "power_kw": {"Overall": 1}}' % (now - 1)
            )
        )
        == 1
    )
    assert readings_of(app, "H1") == 2


def test_keys_only_households_keep_collecting_and_insights_skip_refusals(app, smtp):  # noqa: ANN001
    gl = app.extensions["gridlight"]
    _, key = gl.keys.add_household("CLI1", ["Overall"])  # the operator's meter: the defaults
    assert gl.consent.granted("CLI1", "collection") and gl.consent.granted("CLI1", "analytics")
    assert not gl.consent.granted("CLI1", "sharing")
    r = app.test_client().post(
        "/api/v1/households/CLI1/readings",
        json={"readings": [{"ts": int(time.time()) - 5, "power_kw": {"Overall": 1.0}}]},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert r.status_code == 200, r.json
    ada = person(app, smtp, "ada@example.org", "Ada")
    create_household(ada, "H1")
    # H1 has not given analytics nor recommendations: the refresh leaves it out, and its
    # forecast and recommendations answer 403 consent_required
    assert gl.consent.without("analytics", ["CLI1", "H1"]) == {"H1"}
    refresh = app.extensions["insights"]._make_refresh(app)
    assert "H1" not in refresh.every() and "CLI1" in refresh.every()
    for path in ("forecast", "recommendations"):
        r = ada.get(f"/api/v1/households/H1/{path}")
        assert r.status_code == 403 and r.json["error"]["code"] == "consent_required", r.json
    version = app.config["CONSENT_VERSION"]
    ada.write(
        "PUT",
        "/api/v1/households/H1/consent",
        json={"version": version, "analytics": True, "recommendations": True},
    )
    assert "H1" in refresh.every()
    assert ada.get("/api/v1/households/H1/recommendations").status_code != 403


def test_the_operator_records_consent_from_the_command_line(tmp_path, capsys):  # noqa: ANN001
    from server.cli import main as server_main

    data_dir = str(tmp_path / "data")
    assert (
        server_main(["households", "add", "M1", "--channels", "Overall", "--data-dir", data_dir])
        == 0
    )
    capsys.readouterr()
    assert server_main(["households", "consent", "M1", "--data-dir", data_dir]) == 0
    assert "sharing: not given (default)" in capsys.readouterr().out
    assert (
        server_main(
            [
                "households",
                "consent",
                "M1",
                "--give",
                "sharing",
                "--withdraw",
                "analytics",
                "--data-dir",
                data_dir,
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "sharing: given\n" in out and "analytics: not given\n" in out
    assert "collection: given (default)" in out
    assert server_main(["households", "consent", "NOPE", "--data-dir", data_dir]) == 2
    assert (
        server_main(
            [
                "households",
                "consent",
                "M1",
                "--give",
                "sharing",
                "--withdraw",
                "sharing",
                "--data-dir",
                data_dir,
            ]
        )
        == 2
    )


def test_who_may_read_and_change_consent(app, smtp):  # noqa: ANN001
    owner = person(app, smtp, "owner@example.org", "Owner")
    key = create_household(owner, "H1")
    people = {"owner": owner}
    for role in ("member", "viewer"):
        people[role] = person(app, smtp, f"{role}@example.org", role.title())
        owner.write(
            "POST",
            "/api/v1/households/H1/members",
            json={"email": f"{role}@example.org", "role": role},
        )
    people["stranger"] = person(app, smtp, "stranger@example.org", "Stranger")
    create_household(people["stranger"], "H9")  # an owner, of another household
    body = {"version": app.config["CONSENT_VERSION"], "sharing": True}
    got = {}
    for who, p in people.items():
        got[who] = (
            p.get("/api/v1/households/H1/consent").status_code,
            p.write("PUT", "/api/v1/households/H1/consent", json=body).status_code,
        )
    anon = app.test_client()
    bearer = {"Authorization": f"Bearer {key}"}
    got["key"] = (
        anon.get("/api/v1/households/H1/consent", headers=bearer).status_code,
        anon.put("/api/v1/households/H1/consent", json=body, headers=bearer).status_code,
    )
    got["nobody"] = (
        anon.get("/api/v1/households/H1/consent").status_code,
        anon.put("/api/v1/households/H1/consent", json=body).status_code,
    )
    assert got == {
        "owner": (200, 200),
        "member": (200, 403),
        "viewer": (200, 403),
        "stranger": (403, 403),
        "key": (200, 401),  # a meter's key reads; changing consent is a person's act
        "nobody": (401, 401),
    }
    # a cookie-authenticated change needs the CSRF token
    r = owner.client.put("/api/v1/households/H1/consent", json=body)
    assert r.status_code == 403 and r.json["error"]["code"] == "csrf_failed"
