"""Fixtures of the widget API tests: a small synthetic dataset (household A, 2 days) with its
statistics at 5 s and 60 s computed once per session, an app factory, API keys, a local FCM
stand-in, and helpers that publish readings window by window."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from generator.dataset import write_dataset
from generator.synth import generate
from generator.times import format_ts
from server import create_app
from server.stats import StatsCache
from server.storage import KeyStore, command_database
from tests.server.push.fcm_server import FakeFcm, FakeFcmServer

CHANNELS = ("AC", "Geyser", "Overall")
#: Power per level for household A's statistics (AC and Geyser idle are green; None: no reading).
OVERALL_KW = {"green": 0.1, "yellow": 1.0, "red": 3.0, "critical": None}


@pytest.fixture(scope="session")
def widget_dataset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("widget-dataset")
    return write_dataset(generate(households=("A",), days=2, seed=7), root / "demo")


@pytest.fixture(scope="session")
def widget_stats_dir(tmp_path_factory: pytest.TempPathFactory, widget_dataset_dir: Path) -> Path:
    from generator.dataset import read_dataset

    path = tmp_path_factory.mktemp("widget-stats")
    cache = StatsCache(path)
    dataset = read_dataset(widget_dataset_dir)
    for interval_s in (5, 60):
        cache.for_dataset(dataset, "A", interval_s)
    return path


@pytest.fixture
def widget_data_dir(tmp_path: Path, widget_dataset_dir: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    (path / "demo").symlink_to(widget_dataset_dir, target_is_directory=True)
    return path


@pytest.fixture
def make_app(widget_data_dir: Path, widget_stats_dir: Path) -> Iterator[Callable[..., Flask]]:
    apps: list[Flask] = []

    def make(**config: object) -> Flask:
        base = {
            "TESTING": True,
            "DATA_DIR": str(widget_data_dir),
            "STATS_CACHE_DIR": str(widget_stats_dir),
            "REDIS_URL": None,
            "DEMO": False,
            "DEMO_HOUSEHOLDS": ["A"],
            "EMBEDDED_REPLAY": False,
            "WARM_STATS": False,
            "PUSH_ENABLED": False,
        }
        base.update(config)
        app = create_app(base)
        app.extensions["gridlight"].start()  # the push sender, the alert evaluator
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["widget_api"].stop()
        app.extensions["gridlight"].stop()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask):  # noqa: ANN201
    return app.test_client()


@pytest.fixture
def keys(widget_data_dir: Path) -> dict[str, str]:
    """API keys of households A (the dataset's) and Z (another), registered in the database."""
    db = command_database(widget_data_dir)
    try:
        store = KeyStore(db)
        _, key_a = store.add_household("A", list(CHANNELS))
        _, key_z = store.add_household("Z", ["Overall"])
    finally:
        db.dispose()
    return {"A": key_a, "Z": key_z}


@pytest.fixture
def fcm(tmp_path: Path) -> Iterator[FakeFcm]:
    with FakeFcmServer(tmp_path) as fake:
        yield fake


def reading(ts_s: int, overall_kw: float | None, **others: float | None) -> dict:
    power = {"AC": 0.0, "Geyser": 0.0, "Overall": overall_kw}
    power.update(others)
    return {"ts": format_ts(ts_s), "power_kw": power}


def publish_window(
    broker, start_s: int, interval_s: int, overall_kw: float | None, **others: float | None
) -> list[str]:
    """One reading per second over ``[start_s, start_s + interval_s)``; their ids."""
    return [
        broker.publish("A", reading(start_s + i, overall_kw, **others)) for i in range(interval_s)
    ]
