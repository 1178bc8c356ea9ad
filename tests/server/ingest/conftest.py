"""Fixtures of the ingest tests: a live household registered with a key in the app's database."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.storage import KeyStore, command_database

CHANNELS = ("AC", "Geyser", "Overall")


@pytest.fixture
def live_key(server_data_dir: Path) -> str:
    """Register live household ``L1`` (AC, Geyser, Overall); its API key."""
    _, key = KeyStore(command_database(server_data_dir)).add_household("L1", CHANNELS)
    return key
