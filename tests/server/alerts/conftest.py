"""Fixtures of the alert engine tests: household A alone (2 days), its quick statistics at 5 s
computed once per session, and an app factory with the engine on."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from generator.dataset import read_dataset, write_dataset
from generator.synth import generate
from server import create_app
from server.stats import StatsCache

ENGINE_INTERVAL_S = 5


@pytest.fixture(scope="session")
def alerts_dataset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("alerts-dataset")
    return write_dataset(generate(households=("A",), days=2, seed=11), root / "demo")


@pytest.fixture(scope="session")
def alerts_stats_dir(tmp_path_factory: pytest.TempPathFactory, alerts_dataset_dir: Path) -> Path:
    path = tmp_path_factory.mktemp("alerts-stats")
    cache = StatsCache(path)
    dataset = read_dataset(alerts_dataset_dir)
    cache.for_dataset(dataset, "A", ENGINE_INTERVAL_S)
    return path


@pytest.fixture
def make_engine_app(
    tmp_path: Path, alerts_dataset_dir: Path, alerts_stats_dir: Path
) -> Iterator[Callable[..., Flask]]:
    data = tmp_path / "data"
    data.mkdir()
    (data / "demo").symlink_to(alerts_dataset_dir, target_is_directory=True)
    apps: list[Flask] = []

    def make(**config: object) -> Flask:
        base = {
            "TESTING": True,
            "DATA_DIR": str(data),
            "STATS_CACHE_DIR": str(alerts_stats_dir),
            "REDIS_URL": None,
            "DEMO": False,
            "EMBEDDED_REPLAY": False,
            "WARM_STATS": False,
            "PUSH_ENABLED": False,
            "ALERTS_ENABLED": True,
            "ALERTS_INTERVAL_S": ENGINE_INTERVAL_S,
            "ALERTS_SYNC_S": 0.05,
            "ALERTS_BACKOFF_S": 0.01,
        }
        base.update(config)
        app = create_app(base)
        app.extensions["gridlight"].start()  # the push sender, the alert evaluator
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["alerts"].stop()
        app.extensions["widget_api"].stop()
        app.extensions["gridlight"].stop()
