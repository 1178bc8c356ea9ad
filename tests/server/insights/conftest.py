"""Fixtures of the insights' server tests: an app factory over the server tests' small dataset
(2 days of synthetic A/B/C), and a live household ``L1`` registered with a key."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from server import create_app
from server.storage import KeyStore, command_database

CHANNELS = ("AC", "Geyser", "Overall")


@pytest.fixture
def make_app(server_data_dir: Path, stats_cache_dir: Path) -> Iterator[Callable[..., Flask]]:
    made: list[Flask] = []

    def make(**config: object) -> Flask:
        app = create_app(
            {
                "TESTING": True,
                "DATA_DIR": str(server_data_dir),
                "STATS_CACHE_DIR": str(stats_cache_dir),
                "REDIS_URL": None,
                "DEMO": True,
                "EMBEDDED_REPLAY": False,
                "WARM_STATS": False,
                **config,
            }
        )
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["gridlight"].stop()


@pytest.fixture
def live_key(server_data_dir: Path) -> str:
    """Register live household ``L1`` (Europe/Paris); its API key."""
    _, key = KeyStore(command_database(server_data_dir)).add_household(
        "L1", CHANNELS, timezone="Europe/Paris"
    )
    return key
