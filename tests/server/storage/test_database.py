"""The database layer: URLs, alembic migrations on SQLite and PostgreSQL, legacy adoption, and
upgrades started by several processes at once."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from server.storage.database import (
    Database,
    database_url,
    normalize_url,
    open_database,
)
from server.storage.legacy import MIGRATIONS
from server.storage.migrate import BASELINE, current, head, upgrade
from server.storage.schema import metadata

ROOT = Path(__file__).resolve().parents[3]


def test_urls() -> None:
    assert normalize_url("postgres://u:p@h:5/db") == "postgresql+psycopg://u:p@h:5/db"
    assert normalize_url("postgresql://h/db") == "postgresql+psycopg://h/db"
    assert normalize_url("sqlite:////x/y.db") == "sqlite:////x/y.db"
    with pytest.raises(ValueError, match="DATABASE_URL must be"):
        normalize_url("mysql://h/db")
    assert database_url({"DATA_DIR": "/srv/g", "DATABASE_URL": None}) == (
        "sqlite:////srv/g/gridlight.sqlite3"
    )
    assert database_url({"DATA_DIR": "/srv/g", "DATABASE_URL": "postgresql://h/db"}) == (
        "postgresql+psycopg://h/db"
    )
    assert "secret" not in repr(Database("postgresql://u:secret@h/db"))


def test_upgrade_creates_the_schema_that_schema_py_describes(database_url: str) -> None:
    db = open_database(database_url)
    try:
        assert current(db) == head()
        with db.read() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diffs == []
        upgrade(db)  # a second time: nothing to do
        assert current(db) == head()
    finally:
        db.dispose()


def test_postgres_partitions_readings_and_rollups_by_month(postgres_url: str) -> None:
    db = open_database(postgres_url)
    try:
        with db.read() as conn:
            kinds = dict(
                conn.execute(
                    sa.text(
                        "SELECT relname, relkind FROM pg_class"
                        " WHERE relname IN ('readings', 'rollups_1m', 'households')"
                    )
                ).all()
            )
        assert kinds == {"readings": "p", "rollups_1m": "p", "households": "r"}
    finally:
        db.dispose()


def test_write_and_read_transactions(database_url: str) -> None:
    db = open_database(database_url)
    try:
        with db.write() as conn:
            conn.execute(
                sa.text("INSERT INTO job_runs (name, last_run_s) VALUES (:n, :s)"),
                {"n": "x", "s": 1},
            )
        with pytest.raises(RuntimeError, match="boom"), db.write() as conn:
            conn.execute(sa.text("UPDATE job_runs SET last_run_s = 2"))
            raise RuntimeError("boom")
        with db.read() as conn:
            assert conn.execute(sa.text("SELECT last_run_s FROM job_runs")).scalar_one() == 1
        db.ping()
    finally:
        db.dispose()


def test_a_pre_alembic_sqlite_file_is_adopted_in_place(tmp_path: Path) -> None:
    path = tmp_path / "gridlight.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    for number, script in enumerate(MIGRATIONS[:5], start=1):  # an installation at version 5
        conn.executescript(script)
        conn.execute(f"PRAGMA user_version = {number}")
    conn.execute("INSERT INTO households VALUES ('H1', 'Home', 'Europe/Paris', '[\"Overall\"]', 1)")
    conn.execute("INSERT INTO readings VALUES ('H1', 'Overall', 1000, 0.5)")
    conn.execute(
        "CREATE TABLE stream_setups (stream_id TEXT PRIMARY KEY, setup TEXT NOT NULL,"
        " created_at REAL NOT NULL)"
    )
    conn.execute("INSERT INTO stream_setups VALUES ('s1', '{}', 1.0)")
    conn.close()

    db = open_database(f"sqlite:///{path}")
    try:
        assert current(db) == head()
        with db.read() as c:
            assert c.execute(sa.text("SELECT count(*) FROM readings")).scalar_one() == 1
            assert c.execute(sa.text("SELECT count(*) FROM stream_setups")).scalar_one() == 1
            assert c.execute(sa.text("SELECT count(*) FROM control_devices")).scalar_one() == 0
            assert c.execute(sa.text("PRAGMA user_version")).scalar_one() == len(MIGRATIONS)
            diffs = compare_metadata(MigrationContext.configure(c), metadata)
        # SQLite stores REAL/FLOAT and INTEGER/BIGINT alike, and the legacy scripts left primary
        # key columns without NOT NULL; everything else (tables, columns, indexes, foreign
        # keys) must be as a fresh installation has it. SQLAlchemy does not read ON DELETE from
        # the legacy inline REFERENCES clauses: SQLite's own foreign_key_list does.
        ignored = ("modify_type", "modify_nullable", "remove_fk", "add_fk")
        assert [d for d in _flat(diffs) if d[0] not in ignored] == []
        with db.read() as c:
            on_delete = {
                (table, row[3]): row[6]
                for table in ("api_keys", "alert_deliveries", "alert_digests")
                for row in c.exec_driver_sql(f"PRAGMA foreign_key_list({table})").all()
            }
        assert on_delete == {
            ("api_keys", "household"): "CASCADE",
            ("alert_deliveries", "alert_id"): "CASCADE",
            ("alert_digests", "alert_id"): "SET NULL",
        }
    finally:
        db.dispose()
    assert BASELINE < head()


def _flat(diffs: list) -> list:
    return [d for item in diffs for d in (item if isinstance(item, list) else [item])]


def test_several_processes_upgrading_at_once_all_succeed(database_url: str) -> None:
    code = (
        "import sys; from server.storage.database import open_database; "
        "open_database(sys.argv[1]).dispose()"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, database_url],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(4)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()[-2000:]
    db = Database(database_url)
    try:
        assert current(db) == head()
    finally:
        db.dispose()
