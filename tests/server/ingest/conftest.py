"""Fixtures of the ingest tests: a live household registered with a key in the app's database."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.storage import KeyStore
from server.storage.database import Database, database_url, open_database

CHANNELS = ("AC", "Geyser", "Overall")


def app_database(data_dir: Path, url: str | None = None) -> Database:
    """The database an app with ``DATA_DIR`` ``data_dir`` (and ``DATABASE_URL`` ``url``) uses."""
    return open_database(database_url({"DATABASE_URL": url, "DATA_DIR": data_dir}))


def keys_of(data_dir: Path, db: Database | None = None) -> KeyStore:
    """The key store of that installation (``db``: its database, already open)."""
    return KeyStore(db if db is not None else app_database(data_dir))


@pytest.fixture
def live_key(server_data_dir: Path) -> str:
    """Register live household ``L1`` (AC, Geyser, Overall); its API key."""
    db = app_database(server_data_dir)
    try:
        _, key = KeyStore(db).add_household("L1", CHANNELS)
    finally:
        db.dispose()
    return key
