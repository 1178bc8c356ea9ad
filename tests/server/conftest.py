"""Fixtures of the server tests: one small synthetic dataset (2 days of A/B/C, generated once per
session), its statistics precomputed into a shared cache, a fresh data directory per test that
links to it, and the Flask app with its test client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from generator.dataset import Dataset, write_dataset
from generator.synth import generate
from server import create_app
from server.stats import StatsCache

SEED = 7
DAYS = 2
WARM = (("A", 5), ("B", 5))


@pytest.fixture(scope="session")
def dataset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dataset")
    dataset = generate(households=("A", "B", "C"), days=DAYS, seed=SEED, fault_rate=0.01)
    return write_dataset(dataset, root / "demo")


@pytest.fixture(scope="session")
def dataset(dataset_dir: Path) -> Dataset:
    from generator.dataset import read_dataset

    return read_dataset(dataset_dir)


@pytest.fixture(scope="session")
def stats_cache_dir(tmp_path_factory: pytest.TempPathFactory, dataset: Dataset) -> Path:
    """Statistics of the households/intervals the stream tests use, computed once."""
    path = tmp_path_factory.mktemp("stats-cache")
    cache = StatsCache(path)
    for household, interval_s in WARM:
        cache.for_dataset(dataset, household, interval_s)
    return path


@pytest.fixture
def server_data_dir(tmp_path: Path, dataset_dir: Path) -> Path:
    """A fresh data directory whose ``demo`` dataset is the session's."""
    path = tmp_path / "data"
    path.mkdir()
    (path / "demo").symlink_to(dataset_dir, target_is_directory=True)
    return path


@pytest.fixture
def app(server_data_dir: Path, stats_cache_dir: Path) -> Iterator:
    app = create_app(
        {
            "TESTING": True,
            "DATA_DIR": str(server_data_dir),
            "STATS_CACHE_DIR": str(stats_cache_dir),
            "REDIS_URL": None,
            # the demo's households are readable without a key (test_auth.py checks the rest)
            "DEMO": True,
            "EMBEDDED_REPLAY": False,
            "WARM_STATS": False,
            "PING_INTERVAL_S": 15.0,
        }
    )
    yield app
    app.extensions["gridlight"].stop()


@pytest.fixture
def client(app):  # noqa: ANN201
    return app.test_client()
