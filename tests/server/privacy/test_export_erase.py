"""The user's own data: ``GET /api/v1/me/export`` (JSON, or a zip with every reading) and
``DELETE /api/v1/me`` (erasure: every table, the Redis stream, the report files), each audited;
a household with another owner survives."""

from __future__ import annotations

import csv
import io
import json
import time
import zipfile

import redis
import sqlalchemy as sa

from server.broker.redis import stream_key
from server.reports.store import ReportStore
from server.storage.erase import rows_about
from tests.server.accounts.conftest import PASSWORD, create_household, make_app, person

PHONE = "+15550001111"
TOKEN = "device-export-token:APA91b" + "z" * 140


def seed(app, key: str, now: int) -> None:  # noqa: ANN001
    """Readings, alert settings, a device, an alert with a delivery, a control device, a
    tariff and a report for H1."""
    client = app.test_client()
    auth = {"Authorization": f"Bearer {key}"}
    r = client.post(
        "/api/v1/households/H1/readings",
        json={
            "readings": [{"ts": now - 60 + i, "power_kw": {"Overall": 1.0 + i}} for i in range(3)]
        },
        headers=auth,
    )
    assert r.status_code == 200, r.json
    r = client.put(
        "/api/v1/households/H1/alert-settings",
        json={"channels": {"sms": {"enabled": True, "to": [PHONE]}}},
        headers=auth,
    )
    assert r.status_code == 200, r.json
    r = client.post(
        "/api/v1/households/H1/devices", json={"token": TOKEN, "platform": "web"}, headers=auth
    )
    assert r.status_code == 201, r.json
    gl = app.extensions["gridlight"]
    with gl.db.write() as c:
        alert_id = c.execute(
            sa.text(
                "INSERT INTO alerts (household, rule, kind, level, ts_s, created_s, message,"
                " values_json, quiet) VALUES ('H1', 'spike', 'alert', 'red', :ts, :ts, 'spike',"
                " '{}', 0) RETURNING id"
            ),
            {"ts": now},
        ).scalar_one()
        c.execute(
            sa.text(
                "INSERT INTO alert_deliveries (alert_id, channel, target, attempt, status, ts_s)"
                " VALUES (:a, 'sms', '+1555…', 1, 'sent', :ts)"
            ),
            {"a": alert_id, "ts": now},
        )
        c.execute(
            sa.text(
                "INSERT INTO control_devices (household, id, kind, doc, source, updated_s)"
                " VALUES ('H1', 'boiler', 'relay', '{\"id\": \"boiler\"}', 'http', :ts)"
            ),
            {"ts": now},
        )
        c.execute(
            sa.text(
                "INSERT INTO tariffs (household, document, revision, updated_s)"
                " VALUES ('H1', '{\"kind\": \"flat\"}', 1, :ts)"
            ),
            {"ts": now},
        )
    ReportStore(gl.db, app.config["DATA_DIR"]).save("H1", "2026-11", b"%PDF-1.4 fake", {"kwh": 1})


def test_export_then_erasure_empties_every_place(
    server_data_dir,
    stats_cache_dir,
    smtp,
    redis_server,  # noqa: ANN001
):
    app = make_app(server_data_dir, stats_cache_dir, smtp, REDIS_URL=redis_server.url)
    try:
        ada = person(app, smtp, "ada@example.org", "Ada Export")
        bob = person(app, smtp, "bob@example.org", "Bob")
        key = create_household(ada, "H1")  # Ada alone owns it
        create_household(ada, "H2")  # Bob co-owns it
        ada.write(
            "POST",
            "/api/v1/households/H2/members",
            json={"email": "bob@example.org", "role": "owner"},
        )
        create_household(bob, "H3")  # Ada is a viewer there
        bob.write(
            "POST",
            "/api/v1/households/H3/members",
            json={"email": "ada@example.org", "role": "viewer"},
        )
        now = int(time.time())
        seed(app, key, now)
        r_client = redis.Redis.from_url(redis_server.url)
        assert r_client.xlen(stream_key("H1")) == 3
        report = server_data_dir / "reports" / "H1" / "2026-11.pdf"
        assert report.exists()

        # -- export
        r = ada.get("/api/v1/me/export")
        assert r.status_code == 200, r.json
        doc = r.json
        assert doc["user"]["email"] == "ada@example.org" and doc["user"]["name"] == "Ada Export"
        assert {(m["household"], m["role"]) for m in doc["memberships"]} == {
            ("H1", "owner"),
            ("H2", "owner"),
            ("H3", "viewer"),
        }
        assert set(doc["households"]) == {"H1", "H2"}  # owned ones only
        h1 = doc["households"]["H1"]
        assert h1["household"]["timezone"] == "Europe/Paris"
        assert h1["alert_settings"]["channels"]["sms"]["to"] == [PHONE]
        assert h1["devices"][0]["platform"] == "web" and TOKEN not in json.dumps(doc)
        assert h1["readings"]["count"] == 3
        assert h1["consents"]["collection"]["granted"] is True and h1["consent_log"]
        assert [d["id"] for d in h1["control_devices"]] == ["boiler"]
        assert h1["tariffs"][0]["document"] == {"kind": "flat"}
        assert h1["reports"][0]["month"] == "2026-11"
        assert h1["alerts"][0]["rule"] == "spike"
        assert len(h1["keys"]) == 1 and "secret_hash" not in json.dumps(h1["keys"])
        assert any(e["event"] == "sign_in" for e in doc["audit"])
        z = ada.get("/api/v1/me/export?format=zip")
        assert z.status_code == 200 and z.mimetype == "application/zip"
        with zipfile.ZipFile(io.BytesIO(z.data)) as archive:
            assert json.loads(archive.read("export.json"))["user"]["id"] == ada.user["id"]
            rows = list(csv.DictReader(io.StringIO(archive.read("readings/H1.csv").decode())))
        assert [float(row["power_kw"]) for row in rows] == [1.0, 2.0, 3.0]
        assert ada.get("/api/v1/me/export?format=xml").status_code == 400
        assert app.test_client().get("/api/v1/me/export").status_code == 401

        # -- erasure
        assert ada.client.delete("/api/v1/me").status_code == 403  # no CSRF token
        r = ada.write("DELETE", "/api/v1/me")
        assert r.status_code == 200, r.json
        assert r.json["households_erased"] == ["H1"]
        assert sorted(r.json["memberships_removed"]) == ["H2", "H3"]
        gl = app.extensions["gridlight"]
        left = {t: n for t, n in rows_about(gl.db, "H1").items() if n}
        assert left == {}, left
        assert not r_client.exists(stream_key("H1"))
        assert [k for k in r_client.keys("*") if b"H1" in k] == []
        assert not report.exists() and not report.parent.exists()
        with gl.db.read() as c:
            assert (
                c.execute(
                    sa.text("SELECT count(*) FROM users WHERE id = :u"), {"u": ada.user["id"]}
                ).scalar_one()
                == 0
            )
            assert (
                c.execute(
                    sa.text("SELECT count(*) FROM memberships WHERE user_id = :u"),
                    {"u": ada.user["id"]},
                ).scalar_one()
                == 0
            )
            events = [
                r[0]
                for r in c.execute(
                    sa.text("SELECT event FROM audit_log WHERE user_id = :u AND household IS NULL"),
                    {"u": ada.user["id"]},
                )
            ]
        assert events == ["user_erased"]  # her sign-ins went; the erasure is recorded
        # the household she shared survives with its other owner; the session is over
        assert [m["user_id"] for m in bob.get("/api/v1/households/H2/members").json["members"]] == [
            bob.user["id"]
        ]
        assert bob.get("/api/v1/households/H3/members").status_code == 200
        assert ada.get("/api/v1/me").status_code == 401
        again = app.test_client().post(
            "/api/v1/session", json={"email": "ada@example.org", "password": PASSWORD}
        )
        assert again.status_code == 401
        assert (
            app.test_client()
            .get("/api/v1/households/H1/consent", headers={"Authorization": f"Bearer {key}"})
            .status_code
            == 404
        )
    finally:
        app.extensions["gridlight"].stop()
