"""Fixtures of the API-description tests: a small demo dataset (household A, one day), a live
household L1, API keys for both, and the app served for real on loopback (werkzeug in a thread).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from werkzeug.serving import make_server

from generator.dataset import write_dataset
from generator.synth import generate
from server import create_app
from server.storage import KeyStore, command_database

CHANNELS = ("AC", "Geyser", "Overall")


@dataclass(frozen=True)
class Served:
    base_url: str
    keys: dict[str, str]  # household → API key


@pytest.fixture(scope="session")
def openapi_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("openapi-data")
    write_dataset(generate(households=("A",), days=1, seed=11, fault_rate=0.01), root / "demo")
    return root


@pytest.fixture(scope="session")
def served(openapi_data_dir: Path) -> Iterator[Served]:
    """The app on 127.0.0.1 (demo mode for A; L1 live), shared by the module's tests."""
    store = KeyStore(command_database(openapi_data_dir))
    keys = {
        "A": store.add_household("A", CHANNELS, timezone="Asia/Kolkata")[1],
        "L1": store.add_household("L1", CHANNELS)[1],
    }
    app = create_app(
        {
            "TESTING": True,
            "DATA_DIR": str(openapi_data_dir),
            "STATS_CACHE_DIR": str(openapi_data_dir / "stats-cache"),
            "REDIS_URL": None,
            "DEMO": True,
            "DEMO_HOUSEHOLDS": ["A"],
            "EMBEDDED_REPLAY": False,
            "WARM_STATS": False,
        }
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="openapi-served", daemon=True)
    thread.start()
    try:
        yield Served(f"http://127.0.0.1:{server.server_port}", keys)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        app.extensions["gridlight"].stop()


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session
