"""``python -m server users add``: a verified user who can sign in at once, the first owner of a
household made on the command line; bad input exits 2 with a message naming it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from server.cli import main
from server.storage import KeyStore, command_database
from tests.dashboard.conftest import accounts_config

PASSWORD = "a password from a file"


@pytest.fixture
def data_dir(widget_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The dashboard app's data directory, with the app's secret in the environment (the CLI
    reads ``GRIDLIGHT_SECRET_KEY`` as the server does) and no database URL."""
    monkeypatch.delenv("GRIDLIGHT_DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("GRIDLIGHT_SECRET_KEY", "dashboard-test-secret-" + "x" * 32)
    monkeypatch.setenv("GRIDLIGHT_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("GRIDLIGHT_ARGON2_MEMORY_KIB", "64")
    monkeypatch.setenv("GRIDLIGHT_ARGON2_PARALLELISM", "1")
    return widget_data_dir


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "password"
    path.write_text(PASSWORD + "\nignored second line\n", encoding="utf-8")
    return path


def _register(data_dir: Path, household: str) -> str:
    db = command_database(data_dir)
    try:
        return KeyStore(db).add_household(household, ["Overall"])[1]
    finally:
        db.dispose()


def test_users_add_makes_a_verified_owner_who_signs_in(
    data_dir, password_file, make_app, smtp, capsys
):  # noqa: ANN001
    _register(data_dir, "C1")
    _register(data_dir, "C2")
    argv = ["users", "add", "Admin@Example.org", "--password-file", str(password_file)]
    argv += ["--name", "Ada Admin", "--owner-of", "C1", "--owner-of", "C2", "--owner-of", "C1"]
    argv += ["--data-dir", str(data_dir)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "added verified user" in out and "<Admin@Example.org> (Ada Admin)" in out
    assert "owner of household C1" in out and "owner of household C2" in out

    app = make_app(**accounts_config(smtp))
    client = app.test_client()
    r = client.post("/api/v1/session", json={"email": "admin@example.org", "password": PASSWORD})
    assert r.status_code == 200, r.json
    assert r.json["user"]["email_verified"] is True and r.json["user"]["name"] == "Ada Admin"
    me = client.get("/api/v1/me").json
    assert me["households"] == [
        {"household": "C1", "role": "owner"},
        {"household": "C2", "role": "owner"},
    ]
    # as an owner, they manage the CLI-made household's keys and members over HTTP
    assert client.get("/api/v1/households/C1/keys").status_code == 200
    audit = client.get("/api/v1/households/C1/audit").json["entries"]
    assert [(e["event"], e["detail"]) for e in audit] == [
        ("member_added", {"by": "cli", "member": me["user"]["id"], "role": "owner"})
    ]


def test_users_add_reads_the_password_from_stdin(data_dir, make_app, smtp):  # noqa: ANN001
    """``--password-file -``, as the module runs (``python -m server``)."""
    done = subprocess.run(
        [sys.executable, "-m", "server", "users", "add", "cli@example.org"]
        + ["--password-file", "-", "--data-dir", str(data_dir)],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "(cli)" in done.stdout  # the name defaults to the email's local part
    app = make_app(**accounts_config(smtp))
    r = app.test_client().post(
        "/api/v1/session", json={"email": "cli@example.org", "password": PASSWORD}
    )
    assert r.status_code == 200


@pytest.mark.parametrize(
    ("args", "content", "message"),
    [
        (["not-an-email"], PASSWORD, "email: expected an email address"),
        (["short@example.org"], "short", "password: expected a password of 10 to 1024"),
        (["empty@example.org"], "", "is empty: put the password on line 1"),
        (["x@example.org", "--owner-of", "NOPE"], PASSWORD, "household 'NOPE' is not registered"),
        (["x@example.org", "--name", "a\tb"], PASSWORD, "without control characters"),
    ],
)
def test_users_add_refuses_bad_input(data_dir, tmp_path, capsys, args, content, message):  # noqa: ANN001
    path = tmp_path / "pw"
    path.write_text(content, encoding="utf-8")
    argv = ["users", "add", *args, "--password-file", str(path), "--data-dir", str(data_dir)]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_users_add_refuses_a_taken_email_and_a_missing_file(
    data_dir, password_file, tmp_path, capsys
):  # noqa: ANN001
    argv = ["users", "add", "twice@example.org", "--password-file", str(password_file)]
    argv += ["--data-dir", str(data_dir)]
    assert main(argv) == 0
    capsys.readouterr()
    assert main(argv) == 2
    assert "exists already" in capsys.readouterr().err
    missing = ["users", "add", "y@example.org", "--password-file", str(tmp_path / "none")]
    assert main([*missing, "--data-dir", str(data_dir)]) == 2
    assert "cannot read the password file" in capsys.readouterr().err
