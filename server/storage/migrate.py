"""Schema upgrades with alembic, safe when several processes start at once.

:func:`upgrade` brings a database to the newest revision under ``server/storage/migrations``.
It runs at every start (``open_database``) and from ``python -m server db upgrade``; one process
at a time holds the migration lock (``pg_advisory_lock`` on PostgreSQL, an ``flock`` on a file
beside the SQLite database), the others wait and then find nothing to do.

An installation made before alembic (an SQLite file versioned with ``PRAGMA user_version``, as
Gridlight wrote until migration 8) is adopted in place: its remaining legacy steps are applied,
it is stamped with the baseline revision, and the newer revisions follow.
"""

from __future__ import annotations

import fcntl
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from server.storage.database import Database

__all__ = ["BASELINE", "alembic_config", "current", "head", "upgrade"]

log = logging.getLogger(__name__)
#: The revision equal to the legacy schema at ``PRAGMA user_version = 8``.
BASELINE = "0001"
#: pg_advisory_lock key of schema upgrades ("gridlight" in ASCII, folded to 63 bits).
_PG_LOCK = 0x677269646C69676874 & 0x7FFFFFFFFFFFFFFF


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "server.storage:migrations")
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head() -> str:
    """The newest revision."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head() or ""


def current(db: Database) -> str | None:
    """The database's revision (None: not created yet)."""
    with db.read() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(db: Database, revision: str = "head") -> None:
    """Migrate ``db`` to ``revision`` (idempotent; waits for another process's upgrade)."""
    with _exclusive(db):
        if db.is_sqlite and db.path is not None:
            _adopt_legacy(db.path)
        with db.engine.begin() as conn:
            if MigrationContext.configure(conn).get_current_revision() == _target(revision):
                return
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
        log.info("database %r at revision %s", db, revision)


def _target(revision: str) -> str:
    return head() if revision == "head" else revision


@contextmanager
def _exclusive(db: Database) -> Iterator[None]:
    if db.is_postgres:
        with db.engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK})
                conn.commit()
        return
    assert db.path is not None
    db.path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = db.path.with_name(db.path.name + ".migrate.lock")
    with open(lock_path, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _adopt_legacy(path: Path) -> None:
    """A pre-alembic SQLite file: finish its legacy migrations and stamp the baseline."""
    if not path.exists():
        return
    from server.storage.legacy import MIGRATIONS, apply_legacy

    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        has_alembic = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
        ).fetchone()
        if has_alembic or version == 0:
            return
        if version < len(MIGRATIONS):
            apply_legacy(conn)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES (?)", (BASELINE,))
        conn.execute("COMMIT")
        log.info("adopted the pre-alembic database %s (legacy version %d)", path, version)
    finally:
        conn.close()
