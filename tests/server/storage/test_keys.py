"""Live household registry, API keys (hashed at rest) and the dead-letter table."""

from __future__ import annotations

import subprocess
import sys

import pytest

from server.storage import DeadLetters, KeyStore, RegistryError, connect, db_path


@pytest.fixture
def conn(tmp_path):
    return connect(db_path(tmp_path))


def test_add_check_and_revoke(conn):
    keys = KeyStore(conn, clock=lambda: 1_700_000_000)
    info, key = keys.add_household("flat-7", ["Overall", "AC"], timezone="Europe/Paris")
    assert info.channels == ("Overall", "AC") and keys.get("flat-7") == info
    assert keys.check("flat-7", key)
    assert not keys.check("other", key)
    assert not keys.check("flat-7", key[:-1] + ("A" if key[-1] != "A" else "B"))
    assert not keys.check("flat-7", None) and not keys.check("flat-7", "Bearer x")
    second = keys.create_key("flat-7")
    assert keys.revoke(key) and not keys.check("flat-7", key) and keys.check("flat-7", second)
    # Only a hash is stored.
    stored = [r[0] for r in conn.execute("SELECT secret_hash FROM api_keys")]
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
def test_bad_registrations(conn, household, channels, timezone, message):
    with pytest.raises(RegistryError, match=message):
        KeyStore(conn).add_household(household, channels, timezone=timezone)


def test_duplicate_household_and_unknown_key_target(conn):
    keys = KeyStore(conn)
    keys.add_household("h1", ["Overall"])
    with pytest.raises(RegistryError, match="already registered"):
        keys.add_household("h1", ["Overall"])
    with pytest.raises(RegistryError, match="not registered"):
        keys.create_key("nobody")


def test_dead_letters_keep_reason_and_cut_payload(conn):
    dead = DeadLetters(conn, clock=lambda: 100)
    dead.add("mqtt", "h1", "power_kw 'abc' is not a number", b"abc")
    dead.add("http", None, "body is not JSON", "x" * 10_000)
    recent = dead.recent()
    assert [d.source for d in recent] == ["http", "mqtt"]
    assert recent[1].reason.startswith("power_kw") and recent[1].payload == "abc"
    assert len(recent[0].payload) < 4200 and recent[0].payload.endswith("cut]")
    assert dead.purge(older_than_s=101) == 2


def test_cli_add_prints_key_last_and_rejects_bad_input(tmp_path):
    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "server", *args, "--data-dir", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
        )

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
    assert KeyStore(connect(db_path(tmp_path))).check("home-1", key)
    another = run("keys", "create", "home-1")
    assert another.returncode == 0
    assert another.stdout.strip().splitlines()[-1] != key
    bad = run("households", "add", "home-1", "--channels", "Overall")
    assert bad.returncode == 2 and "already registered" in bad.stderr
    bad_tz = run("households", "add", "home-2", "--channels", "Overall", "--timezone", "Nowhere")
    assert bad_tz.returncode == 2 and "unknown time zone 'Nowhere'" in bad_tz.stderr
