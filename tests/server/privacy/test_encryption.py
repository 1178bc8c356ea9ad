"""Personal data at rest: sealed with AES-256-GCM under wrapped data keys, so neither the SQLite
file nor PostgreSQL's rows (pg_dump, raw SELECTs) hold a plaintext email, phone number, webhook
URL, name or push token; the master key rotates while requests are served."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from server.cli import main as server_main
from server.storage.crypto import (
    CryptoError,
    Keyring,
    MasterKey,
    MasterKeyMismatch,
    read_master_key,
    rotate_master,
)
from server.storage.database import open_database
from server.storage.sealing import seal_plaintext_rows
from tests.server.accounts.conftest import create_household, make_app, person

EMAIL = "ada.lovelace.secret@example.org"
NAME = "Augusta Ada Secretname"
PHONE = "+15557654321"
ALERT_EMAIL = "alerts.inbox.secret@example.org"
WEBHOOK = "https://hooks.secret-host.example/notify/abc"
WEBHOOK_SECRET = "whsec-very-secret-value-123"
TOKEN = "device-secret-token:APA91b" + "q" * 140
PLAINTEXTS = (EMAIL, NAME, PHONE, ALERT_EMAIL, WEBHOOK, WEBHOOK_SECRET, TOKEN, "secret-host")


def fill(app, smtp) -> tuple[object, str]:  # noqa: ANN001
    """A user, a household with alert settings naming an email, a phone and a webhook, and a
    push device; the owner and the household's key."""
    ada = person(app, smtp, EMAIL, NAME)
    key = create_household(ada, "H1")
    auth = {"Authorization": f"Bearer {key}"}
    client = app.test_client()
    doc = {
        "channels": {
            "email": {"enabled": True, "to": [ALERT_EMAIL]},
            "sms": {"enabled": True, "to": [PHONE]},
            "webhook": {"enabled": True, "url": WEBHOOK, "secret": WEBHOOK_SECRET},
        }
    }
    r = client.put("/api/v1/households/H1/alert-settings", json=doc, headers=auth)
    assert r.status_code == 200, r.json
    r = client.post(
        "/api/v1/households/H1/devices",
        json={"token": TOKEN, "platform": "android"},
        headers=auth,
    )
    assert r.status_code == 201, r.json
    # and they read back whole
    got = client.get("/api/v1/households/H1/alert-settings", headers=auth).json["settings"]
    assert got["channels"]["sms"]["to"] == [PHONE] and got["channels"]["webhook"]["url"] == WEBHOOK
    assert app.extensions["gridlight"].devices.devices("H1") == [(TOKEN, "android")]
    assert ada.get("/api/v1/me").json["user"]["email"] == EMAIL
    return ada, key


def test_the_sqlite_file_holds_no_plaintext(server_data_dir, stats_cache_dir, smtp):  # noqa: ANN001
    app = make_app(server_data_dir, stats_cache_dir, smtp)
    try:
        fill(app, smtp)
    finally:
        app.extensions["gridlight"].stop()
    files = [p for p in server_data_dir.iterdir() if p.name.startswith("gridlight.sqlite3")]
    assert files, list(server_data_dir.iterdir())
    raw = b"".join(p.read_bytes() for p in files)  # the database, its WAL and shared memory
    assert b"gl1:d1:" in raw  # sealed values are there
    for text in PLAINTEXTS:
        assert text.encode() not in raw, f"{text!r} is stored in plaintext"
        assert text.lower().encode() not in raw.lower()


def test_postgres_rows_and_dump_hold_no_plaintext(
    server_data_dir,
    stats_cache_dir,
    smtp,
    postgres_url,  # noqa: ANN001
):
    app = make_app(server_data_dir, stats_cache_dir, smtp, DATABASE_URL=postgres_url)
    try:
        fill(app, smtp)
        db = app.extensions["gridlight"].db
        with db.read() as c:
            tables = [
                r[0]
                for r in c.execute(
                    sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                )
            ]
            seen = []
            for table in tables:
                for row in c.execute(sa.text(f'SELECT * FROM "{table}"')):
                    seen.append(" ".join(str(v) for v in row))
        text = "\n".join(seen)
        assert "gl1:d1:" in text
        for plain in PLAINTEXTS:
            assert plain.lower() not in text.lower(), f"{plain!r} is in a row"
        pg_dump = shutil.which("pg_dump")
        if pg_dump is None:
            pytest.skip("pg_dump is not installed")
        url = sa.engine.make_url(postgres_url)
        dump = subprocess.run(
            [
                pg_dump,
                "--data-only",
                "-h",
                url.host,
                "-p",
                str(url.port),
                "-U",
                url.username,
                url.database,
            ],
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
        assert b"gl1:d1:" in dump
        for plain in PLAINTEXTS:
            assert plain.lower().encode() not in dump.lower(), f"{plain!r} is in pg_dump"
    finally:
        app.extensions["gridlight"].stop()


def test_sealed_values_are_bound_to_their_row(database_url):  # noqa: ANN001
    db = open_database(database_url)
    try:
        ring = Keyring.load(db, MasterKey.generate())
        sealed = ring.seal("ada@example.org", "users.email|h1")
        assert sealed.startswith("gl1:d1:") and ring.open(sealed, "users.email|h1") == (
            "ada@example.org"
        )
        assert ring.seal("x", "c") != ring.seal("x", "c")  # a fresh nonce each time
        with pytest.raises(CryptoError, match="does not open"):
            ring.open(sealed, "users.email|h2")  # copied to another row
        tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
        with pytest.raises(CryptoError):
            ring.open(tampered, "users.email|h1")
        with pytest.raises(CryptoError, match="not a sealed value"):
            ring.open("ada@example.org", "users.email|h1")
        assert ring.index("tok", "devices.token") == ring.index("tok", "devices.token")
        assert ring.index("tok", "devices.token") != ring.index("tok", "other")
    finally:
        db.dispose()


def test_rotation_rewraps_atomically_and_a_wrong_key_is_refused(database_url):  # noqa: ANN001
    db = open_database(database_url)
    try:
        old, new, stranger = MasterKey.generate(), MasterKey.generate(), MasterKey.generate()
        ring = Keyring.load(db, old)
        sealed = ring.seal("+15557654321", "ctx")
        with pytest.raises(MasterKeyMismatch, match="wrapped under master key"):
            Keyring.load(db, stranger)
        # a rotation from a key that is not in force changes nothing
        with pytest.raises(MasterKeyMismatch):
            rotate_master(db, stranger, new)
        assert Keyring.load(db, old).open(sealed, "ctx") == "+15557654321"
        assert rotate_master(db, old, new) == 2  # the data key and the index key
        assert rotate_master(db, old, new) == 0  # done already
        after = Keyring.load(db, new)
        assert after.open(sealed, "ctx") == "+15557654321"  # no value re-encrypted
        assert after.index("t", "p") == ring.index("t", "p")
        with pytest.raises(MasterKeyMismatch):
            Keyring.load(db, old)
        assert Keyring.load(db, [old, new]).master_id == new.id  # during a rotation: either
    finally:
        db.dispose()


def test_plaintext_left_by_an_older_version_is_sealed_on_start(tmp_path: Path):
    db = open_database(f"sqlite:///{tmp_path / 'g.sqlite3'}")
    try:
        with db.write() as c:
            c.execute(
                sa.text(
                    "INSERT INTO users (email_hash, email, name, password_hash, created_s)"
                    " VALUES ('eh', :e, :n, 'pw', 1)"
                ),
                {"e": EMAIL, "n": NAME},
            )
            c.execute(
                sa.text(
                    "INSERT INTO alert_settings (household, settings, updated_s)"
                    " VALUES ('H1', :s, 1)"
                ),
                {"s": json.dumps({"to": [PHONE]})},
            )
            c.execute(
                sa.text(
                    "INSERT INTO devices (household, token_hash, token, platform, created_s,"
                    " updated_s) VALUES ('H1', :ph, :t, 'android', 1, 1)"
                ),
                {"ph": "plain:" + TOKEN, "t": TOKEN},
            )
        ring = Keyring.load(db, MasterKey.generate())
        assert seal_plaintext_rows(db, ring) == 3
        assert seal_plaintext_rows(db, ring) == 0
        with db.read() as c:
            email, name = c.execute(sa.text("SELECT email, name FROM users")).one()
            (settings,) = c.execute(sa.text("SELECT settings FROM alert_settings")).one()
            token_hash, token = c.execute(sa.text("SELECT token_hash, token FROM devices")).one()
        assert ring.open(email, "users.email|eh") == EMAIL
        assert ring.open(name, "users.name|eh") == NAME
        assert PHONE in ring.open(settings, "alert_settings.settings|H1")
        assert token_hash == ring.index(TOKEN, "devices.token")
        assert ring.open(token, f"devices.token|H1|{token_hash}") == TOKEN
    finally:
        db.dispose()


def test_rotate_master_while_requests_decrypt(server_data_dir, stats_cache_dir, smtp, tmp_path):  # noqa: ANN001
    app = make_app(server_data_dir, stats_cache_dir, smtp)
    ada, key = fill(app, smtp)
    auth = {"Authorization": f"Bearer {key}"}
    old_id = read_master_key(server_data_dir / "master_key").id
    failures: list[str] = []
    served = [0]
    stop = threading.Event()

    def hammer() -> None:
        client = app.test_client()
        while not stop.is_set():
            r = client.get("/api/v1/households/H1/alert-settings", headers=auth)
            if r.status_code != 200 or r.json["settings"]["channels"]["sms"]["to"] != [PHONE]:
                failures.append(f"{r.status_code} {r.get_data(as_text=True)[:200]}")
            m = ada.get("/api/v1/me")
            if m.status_code != 200 or m.json["user"]["email"] != EMAIL:
                failures.append(f"{m.status_code} {m.get_data(as_text=True)[:200]}")
            served[0] += 1

    thread = threading.Thread(target=hammer, daemon=True)
    thread.start()
    try:
        new_file = tmp_path / "new_master_key"
        assert server_main(["keys", "new-master", "--out", str(new_file)]) == 0
        assert (new_file.stat().st_mode & 0o777) == 0o600
        before = served[0]
        rc = server_main(
            [
                "keys",
                "rotate-master",
                "--new-key-file",
                str(new_file),
                "--data-dir",
                str(server_data_dir),
            ]
        )
        assert rc == 0
        deadline = threading.Event()
        for _ in range(200):  # bounded: a few more requests after the commit
            if served[0] >= before + 5:
                break
            deadline.wait(0.05)
    finally:
        stop.set()
        thread.join(timeout=30)
        app.extensions["gridlight"].stop()
    assert not failures, failures[:3]
    assert served[0] >= before + 5
    # the new key is installed, the old one kept aside, and a fresh start opens everything
    assert read_master_key(server_data_dir / "master_key").id == read_master_key(new_file).id
    assert (server_data_dir / f"master_key.retired-{old_id}").exists()
    assert not (server_data_dir / "master_key.next").exists()
    again = make_app(server_data_dir, stats_cache_dir, smtp)
    try:
        got = again.test_client().get("/api/v1/households/H1/alert-settings", headers=auth)
        assert got.json["settings"]["channels"]["webhook"]["url"] == WEBHOOK
    finally:
        again.extensions["gridlight"].stop()
    # the retired key opens nothing any more
    with pytest.raises(MasterKeyMismatch, match="rotate-master"):
        make_app(
            server_data_dir,
            stats_cache_dir,
            smtp,
            MASTER_KEY_FILE=str(server_data_dir / f"master_key.retired-{old_id}"),
        )


def test_a_master_key_given_as_a_value(tmp_path: Path):
    import base64

    from server.storage.crypto import load_master_keys, master_key_from_value

    raw = bytes(range(32))
    assert master_key_from_value(base64.b64encode(raw).decode()).id == MasterKey(raw).id
    assert master_key_from_value(raw.hex()).id == MasterKey(raw).id
    generated = "x7Gq" * 10  # a platform's random text: stretched with HKDF
    assert master_key_from_value(generated).id == master_key_from_value(generated + "\n").id
    with pytest.raises(CryptoError, match="at least 32 characters"):
        master_key_from_value("short")
    cfg = {"MASTER_KEY": base64.b64encode(raw).decode(), "DATA_DIR": str(tmp_path)}
    assert [k.id for k in load_master_keys(cfg)] == [MasterKey(raw).id]
    assert not (tmp_path / "master_key").exists()  # nothing written when given
    bad = tmp_path / "bad"
    bad.write_text("not a key\n")
    with pytest.raises(CryptoError, match="must hold 32 bytes"):
        read_master_key(bad)
