"""``db copy``: an SQLite installation moved to PostgreSQL, interrupted and resumed, counts
checked; and the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from server.storage.copy import copy_database
from server.storage.database import open_database

ROOT = Path(__file__).resolve().parents[3]
MONTH_S = 31 * 86_400


def _fill(db) -> None:  # noqa: ANN001
    with db.write() as c:
        c.execute(
            sa.text(
                "INSERT INTO households VALUES ('H1', 'Maison Élodie', 'Europe/Paris', :ch, 1)"
            ),
            {"ch": json.dumps(["Overall"])},
        )
        c.execute(
            sa.text(
                "INSERT INTO api_keys (key_id, household, secret_hash, created_s, revoked_s)"
                " VALUES ('k1', 'H1', 'abc', 1, NULL)"
            )
        )
        # three months of readings, so several partitions on PostgreSQL
        c.execute(
            sa.text("INSERT INTO readings VALUES ('H1', 'Overall', :ts, :kw)"),
            [
                {"ts": 1_767_225_600 + i * 997, "kw": None if i % 50 == 0 else i / 1000}
                for i in range(3 * MONTH_S // 997)
            ],
        )
        c.execute(
            sa.text("INSERT INTO rollups_1m VALUES ('H1', 'Overall', :ts, 1.5, 0.1, 0.9, 3, 0)"),
            [{"ts": 1_767_225_600 + i * 60} for i in range(500)],
        )
        for i in range(30):
            alert_id = c.execute(
                sa.text(
                    "INSERT INTO alerts (household, rule, kind, level, ts_s, created_s, message,"
                    " values_json, quiet) VALUES ('H1', 'spike', 'alert', 'red', :ts, :ts, 'm',"
                    " '{}', 0) RETURNING id"
                ),
                {"ts": 1_767_225_600 + i},
            ).scalar_one()
            c.execute(
                sa.text(
                    "INSERT INTO alert_deliveries (alert_id, channel, target, attempt, status,"
                    " ts_s) VALUES (:a, 'webhook', 'example.org', 1, 'sent', 1.0)"
                ),
                {"a": alert_id},
            )


def _dump(db, table: str) -> list[tuple]:  # noqa: ANN001
    with db.read() as c:
        return [tuple(r) for r in c.execute(sa.text(f"SELECT * FROM {table} ORDER BY 1, 2, 3"))]


def test_copy_sqlite_to_postgres_interrupted_and_resumed(tmp_path: Path, postgres_url: str) -> None:
    source = open_database(f"sqlite:///{tmp_path / 'src.sqlite3'}")
    target = open_database(postgres_url)
    try:
        _fill(source)

        class Cut(Exception):
            pass

        def cut(table: str, rows: int) -> None:
            if table == "readings" and rows >= 3000:
                raise Cut

        with pytest.raises(Cut):
            copy_database(source, target, batch=1000, progress=cut)
        tables = {t.table: t for t in copy_database(source, target, batch=1000)}
        assert tables["readings"].copied == tables["readings"].source_rows - 3000
        assert tables["households"].copied == 0  # copied by the first run, not doubled
        for name in ("households", "api_keys", "readings", "rollups_1m", "alerts"):
            assert _dump(source, name) == _dump(target, name), name
        # new rows on the target take fresh ids after the copied ones
        with target.write() as c:
            new_id = c.execute(
                sa.text(
                    "INSERT INTO alerts (household, rule, kind, level, ts_s, created_s, message,"
                    " values_json, quiet) VALUES ('H1', 'spike', 'alert', 'red', 1, 1, 'm',"
                    " '{}', 0) RETURNING id"
                )
            ).scalar_one()
        assert new_id == 31
        with target.read() as c:
            partitions = c.execute(
                sa.text("SELECT count(*) FROM pg_inherits WHERE inhparent = 'readings'::regclass")
            ).scalar_one()
        assert partitions >= 3
    finally:
        source.dispose()
        target.dispose()


def test_db_commands(tmp_path: Path, postgres_url: str) -> None:
    src = f"sqlite:///{tmp_path / 'a.sqlite3'}"

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "server", "db", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )

    up = run("upgrade", "--url", src)
    assert up.returncode == 0, up.stderr
    assert "at revision" in up.stdout
    db = open_database(src)
    try:
        _fill(db)
    finally:
        db.dispose()
    done = run("copy", "--from", src, "--to", postgres_url)
    assert done.returncode == 0, done.stderr
    assert "every table's count matches" in done.stderr
    again = run("copy", "--from", src, "--to", postgres_url)  # nothing left to copy
    assert again.returncode == 0, again.stderr
    assert "copied 0 rows" in again.stderr
    same = run("copy", "--from", src, "--to", src)
    assert same.returncode == 2
    assert "same database" in same.stderr
