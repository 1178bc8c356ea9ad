"""Shared fixtures: real Redis, Mosquitto and PostgreSQL servers, temporary data directories,
and ``database_url`` that runs a storage test on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import MosquittoServer, PostgresServer, RedisServer

REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """``../shared/data/real``: slices of public meter data sets (see its README)."""
    if not REAL_DATA.is_dir():
        pytest.fail(f"real meter data not found at {REAL_DATA}")
    return REAL_DATA


@pytest.fixture
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A fresh ``redis-server`` for one test; ``.url``, ``.port``, ``.restart()``."""
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def mosquitto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoServer]:
    """A fresh ``mosquitto`` broker for one test; ``.url``, ``.port``, ``.restart()``."""
    with MosquittoServer(tmp_path_factory.mktemp("mosquitto")) as server:
        yield server


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty Gridlight data directory (also set as ``GRIDLIGHT_DATA_DIR``)."""
    path = tmp_path / "data"
    path.mkdir()
    monkeypatch.setenv("GRIDLIGHT_DATA_DIR", str(path))
    return path


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """One PostgreSQL cluster for the session (each test takes its own database from it)."""
    with PostgresServer(tmp_path_factory.mktemp("postgres")) as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test; dropped afterwards."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database, once SQLite (a file under ``tmp_path``) and once PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db' / 'gridlight.sqlite3'}"
    return request.getfixturevalue("postgres_url")
