"""The installation's database: one SQLAlchemy engine per URL and process, SQLite or PostgreSQL.

``DATABASE_URL`` names it: ``sqlite:///{DATA_DIR}/gridlight.sqlite3`` by default (the embedded
installation, nothing to run), or ``postgresql://…`` shared by every host of a deployment.
Stores take a :class:`Database` and run each unit of work in its own pooled connection:

* ``with db.write() as c:`` — one transaction that will write. On SQLite it starts with
  ``BEGIN IMMEDIATE`` (it takes the write lock first, waiting up to ``busy_timeout``), so a
  transaction never has to upgrade a read snapshot to a write, which SQLite refuses at once
  with "database is locked" when another connection wrote in between.
* ``with db.read() as c:`` — a read-only snapshot (a deferred ``BEGIN`` on SQLite).

SQL is written once for both backends with :func:`sqlalchemy.text` and named parameters
(``ON CONFLICT … DO UPDATE``, ``RETURNING`` and ``excluded.`` exist on both); the few places
that differ ask :attr:`Database.is_postgres`. Timestamps are integer UTC epoch seconds, powers
kW, JSON documents text.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url

__all__ = [
    "DB_FILE",
    "Database",
    "DatabaseUnavailable",
    "command_database",
    "database_url",
    "normalize_url",
    "open_database",
    "sqlite_url",
]

DB_FILE = "gridlight.sqlite3"
#: Errors that mean "the database cannot be reached now" (down, restarting, network).
_UNAVAILABLE = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.DisconnectionError)


class DatabaseUnavailable(RuntimeError):
    """The database could not be reached; the request may be retried later (HTTP 503)."""


def database_url(cfg: Any) -> str:
    """The configured ``DATABASE_URL``, or the embedded SQLite file under ``DATA_DIR``."""
    url = cfg.get("DATABASE_URL") if hasattr(cfg, "get") else None
    if url:
        return normalize_url(str(url))
    data_dir = cfg["DATA_DIR"] if hasattr(cfg, "__getitem__") else cfg
    return sqlite_url(Path(data_dir) / DB_FILE)


def sqlite_url(path: str | os.PathLike[str]) -> str:
    return f"sqlite:///{Path(path).resolve()}"


def normalize_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` (as hosting providers print them) use psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif parsed.drivername not in ("postgresql+psycopg", "sqlite", "sqlite+pysqlite"):
        raise ValueError(
            f"DATABASE_URL must be sqlite:///… or postgresql://…, got {parsed.drivername}://"
        )
    return parsed.render_as_string(hide_password=False)


class Database:
    """An engine and the two ways to use it (:meth:`write`, :meth:`read`)."""

    def __init__(self, url: str, *, engine: Engine | None = None) -> None:
        self.url = normalize_url(url)
        parsed: URL = make_url(self.url)
        self.is_postgres = parsed.get_backend_name() == "postgresql"
        self.is_sqlite = not self.is_postgres
        if engine is None:
            engine = _make_engine(parsed)
        self.engine = engine

    def __repr__(self) -> str:
        return f"Database({make_url(self.url).render_as_string(hide_password=True)!r})"

    @property
    def path(self) -> Path | None:
        """The SQLite file (None on PostgreSQL)."""
        if self.is_postgres:
            return None
        return Path(make_url(self.url).database or "")

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: committed when the block ends, rolled back on an error."""
        with _unavailable_as_503(), self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only snapshot; nothing written in it is kept."""
        with (
            _unavailable_as_503(),
            self.engine.connect().execution_options(gridlight_read=True) as conn,
        ):
            try:
                yield conn
            finally:
                conn.rollback()

    def ping(self) -> None:
        """Raise :class:`DatabaseUnavailable` unless the database answers."""
        with self.read() as conn:
            conn.execute(sa.text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


@contextmanager
def _unavailable_as_503() -> Iterator[None]:
    """A lost or refused connection becomes :class:`DatabaseUnavailable`; other errors pass."""
    try:
        yield
    except _UNAVAILABLE as exc:
        if _is_unavailable(exc):
            raise DatabaseUnavailable(str(exc.orig or exc)) from exc
        raise


def _is_unavailable(exc: Exception) -> bool:
    """A lost or refused connection (not a constraint or a syntax error)."""
    if isinstance(exc, (sa.exc.InterfaceError, sa.exc.DisconnectionError)):
        return True
    if getattr(exc, "connection_invalidated", False):
        return True
    orig = getattr(exc, "orig", None)
    name = type(orig).__name__ if orig is not None else ""
    # psycopg: OperationalError for refused/lost connections, AdminShutdown when the server stops
    if name in ("OperationalError", "AdminShutdown", "CannotConnectNow", "ConnectionTimeout"):
        return "database is locked" not in str(orig)
    return False


def _make_engine(url: URL) -> Engine:
    if url.get_backend_name() == "postgresql":
        return sa.create_engine(
            url,
            pool_pre_ping=True,  # a connection that died with the server is replaced, not used
            pool_size=int(os.environ.get("GRIDLIGHT_DB_POOL_SIZE", "5")),
            max_overflow=10,
            pool_timeout=30,
            connect_args={"connect_timeout": 5},
        )
    path = Path(url.database or "")
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url,
        connect_args={"timeout": 30, "check_same_thread": False},
        pool_size=5,
        max_overflow=20,
        pool_timeout=60,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, record: Any) -> None:
        # SQLAlchemy emits BEGIN itself (below); the driver must not
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        read = conn.get_execution_options().get("gridlight_read", False)
        conn.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")

    return engine


def open_database(url: str, *, upgrade: bool = True) -> Database:
    """A :class:`Database` for ``url`` (its own engine and pool: one per app or command), its
    schema upgraded to the newest revision first (``upgrade``; safe when several processes
    start at once). Its owner disposes it when done."""
    db = Database(url)
    if upgrade:
        from server.storage.migrate import upgrade as run_upgrade

        try:
            run_upgrade(db)
        except BaseException:
            db.dispose()
            raise
    return db


def command_database(data_dir: str | os.PathLike[str] | None = None) -> Database:
    """The database a command-line tool works on: ``DATABASE_URL`` (or ``GRIDLIGHT_DATABASE_URL``)
    when set, else the SQLite file under ``data_dir`` (or ``GRIDLIGHT_DATA_DIR``, or ``data``);
    upgraded."""
    url = os.environ.get("DATABASE_URL") or os.environ.get("GRIDLIGHT_DATABASE_URL") or None
    if data_dir is None:
        data_dir = os.environ.get("GRIDLIGHT_DATA_DIR", "data")
    return open_database(database_url({"DATABASE_URL": url, "DATA_DIR": data_dir}))
