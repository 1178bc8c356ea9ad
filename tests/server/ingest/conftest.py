"""Fixtures of the ingest tests: a live household registered with a key in the app's database."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.ingest import key_store
from server.storage import KeyStore
from server.storage.database import Database, database_url, open_database

CHANNELS = ("AC", "Geyser", "Overall")


def app_database(data_dir: Path, url: str | None = None) -> Database:
    """The database an app with ``DATA_DIR`` ``data_dir`` (and ``DATABASE_URL`` ``url``) uses."""
    return open_database(database_url({"DATABASE_URL": url, "DATA_DIR": data_dir}))


def keys_of(data_dir: Path, db: Database | None = None) -> KeyStore:
    """The key store of that installation (``db``: its database, already open)."""
    return key_store(db if db is not None else app_database(data_dir), data_dir)


@pytest.fixture
def live_key(server_data_dir: Path) -> str:
    """Register live household ``L1`` (AC, Geyser, Overall); its API key."""
    _, key = keys_of(server_data_dir).add_household("L1", CHANNELS)
    return key
