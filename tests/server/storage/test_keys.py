"""Live household registry and API keys (hashed at rest), on SQLite and PostgreSQL; and the
dead-letter table."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from server.storage import (
    Database,
    DeadLetters,
    KeyStore,
    RegistryError,
    open_database,
)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    db = open_database(database_url)
    yield db
    db.dispose()


def test_add_check_and_revoke(db: Database):
    keys = KeyStore(db, clock=lambda: 1_700_000_000)
    info, key = keys.add_household("flat-7", ["Overall", "AC"], timezone="Europe/Paris")
    assert info.channels == ("Overall", "AC") and keys.get("flat-7") == info
    assert keys.list() == [info]
    assert keys.check("flat-7", key)
    assert not keys.check("other", key)
    assert not keys.check("flat-7", key[:-1] + ("A" if key[-1] != "A" else "B"))
    assert not keys.check("flat-7", None) and not keys.check("flat-7", "Bearer x")
    second = keys.create_key("flat-7")
    key_id = key.split("_")[1]
    assert keys.is_live("flat-7", key_id) and not keys.is_live("other", key_id)
    assert keys.revoke(key) and not keys.check("flat-7", key) and keys.check("flat-7", second)
    assert not keys.is_live("flat-7", key_id)
    assert not keys.revoke(key)  # revoked once
    # Only a hash is stored.
    with db.read() as conn:
        stored = [r[0] for r in conn.execute(sa.text("SELECT secret_hash FROM api_keys"))]
    assert len(stored) == 2
    assert all(key.split("_", 2)[2] not in s for s in stored)


@pytest.mark.parametrize(
    ("household", "channels", "timezone", "message"),
    [
        ("bad_id", ["Overall"], "UTC", "invalid household id"),
        ("h1", [], "UTC", "at least one channel"),
        ("h1", ["Overall", "Overall"], "UTC", "repeat"),
        ("h1", ["Over all"], "UTC", "invalid channel name"),
        ("h1", ["Overall"], "Mars/Olympus", "unknown time zone"),
    ],
)
def test_bad_registrations(db, household, channels, timezone, message):
    with pytest.raises(RegistryError, match=message):
        KeyStore(db).add_household(household, channels, timezone=timezone)
    assert KeyStore(db).list() == []


def test_duplicate_household_and_unknown_key_target(db):
    keys = KeyStore(db)
    _, first = keys.add_household("h1", ["Overall"])
    with pytest.raises(RegistryError, match="already registered"):
        keys.add_household("h1", ["AC"])
    assert keys.get("h1").channels == ("Overall",) and keys.check("h1", first)
    with pytest.raises(RegistryError, match="not registered"):
        keys.create_key("nobody")


def test_a_key_made_through_one_host_works_on_another(database_url: str, db: Database):
    """Two engines on one database (two hosts): registrations and revocations are shared."""
    other = open_database(database_url)
    try:
        _, key = KeyStore(db).add_household("h1", ["Overall"])
        assert KeyStore(other).check("h1", key)
        assert KeyStore(other).revoke(key)
        assert not KeyStore(db).check("h1", key)
    finally:
        other.dispose()


def test_concurrent_registrations_of_one_household_make_one(db: Database):
    """Eight workers register the same household at once: one wins, the others are told it is
    already registered, and exactly one key exists."""
    keys = KeyStore(db)
    start = threading.Barrier(8)
    outcomes: list[str] = []

    def register() -> None:
        start.wait(timeout=10)
        try:
            _, key = keys.add_household("h1", ["Overall"])
            outcomes.append(key)
        except RegistryError as err:
            outcomes.append(str(err))

    threads = [threading.Thread(target=register) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    won = [o for o in outcomes if o.startswith("gl_")]
    assert len(outcomes) == 8 and len(won) == 1
    assert all("already registered" in o for o in outcomes if o not in won)
    with db.read() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM api_keys")).scalar_one() == 1
    assert keys.check("h1", won[0])


def test_dead_letters_keep_reason_and_cut_payload(db: Database):
    dead = DeadLetters(db, clock=lambda: 100)
    dead.add("mqtt", "h1", "power_kw 'abc' is not a number", b"abc")
    dead.add("http", None, "body is not JSON", "x" * 10_000)
    recent = dead.recent()
    assert [d.source for d in recent] == ["http", "mqtt"]
    assert recent[1].reason.startswith("power_kw") and recent[1].payload == "abc"
    assert len(recent[0].payload) < 4200 and recent[0].payload.endswith("cut]")
    assert dead.purge(older_than_s=101) == 2


def _run(*args: str, env_url: str | None, data_dir) -> subprocess.CompletedProcess:  # noqa: ANN001
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "GRIDLIGHT_DATABASE_URL")
    }
    if env_url is not None:
        env["GRIDLIGHT_DATABASE_URL"] = env_url
    return subprocess.run(
        [sys.executable, "-m", "server", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_cli_add_prints_key_last_and_rejects_bad_input(database_url: str, tmp_path):
    """``GRIDLIGHT_DATABASE_URL`` names the database (SQLite file or PostgreSQL)."""

    def run(*args):
        return _run(*args, env_url=database_url, data_dir=tmp_path / "unused")

    ok = run(
        "households",
        "add",
        "home-1",
        "--channels",
        "AC,Geyser,Overall",
        "--timezone",
        "Asia/Kolkata",
    )
    assert ok.returncode == 0, ok.stderr
    key = ok.stdout.strip().splitlines()[-1]
    db = open_database(database_url)
    try:
        assert KeyStore(db).check("home-1", key)
        another = run("keys", "create", "home-1")
        assert another.returncode == 0
        assert another.stdout.strip().splitlines()[-1] != key
        assert KeyStore(db).check("home-1", another.stdout.strip().splitlines()[-1])
    finally:
        db.dispose()
    bad = run("households", "add", "home-1", "--channels", "Overall")
    assert bad.returncode == 2 and "already registered" in bad.stderr
    bad_tz = run("households", "add", "home-2", "--channels", "Overall", "--timezone", "Nowhere")
    assert bad_tz.returncode == 2 and "unknown time zone 'Nowhere'" in bad_tz.stderr
    unknown = run("keys", "create", "home-3")
    assert unknown.returncode == 2 and "not registered" in unknown.stderr
    assert not (tmp_path / "unused").exists()


def test_cli_uses_the_data_directory_without_a_database_url(tmp_path):
    ok = _run(
        "households", "add", "home-1", "--channels", "Overall", env_url=None, data_dir=tmp_path
    )
    assert ok.returncode == 0, ok.stderr
    key = ok.stdout.strip().splitlines()[-1]
    db = open_database(f"sqlite:///{tmp_path / 'gridlight.sqlite3'}")
    try:
        assert KeyStore(db).check("home-1", key)
    finally:
        db.dispose()
