"""Fixtures of the dashboard tests: the app with the dashboard registered, demo household A (the
widget tests' small synthetic dataset and its precomputed statistics), live household L1
with a key and a stored history that gives it statistics, and the app with accounts (demo mode
off) whose emails the local SMTP stand-in catches."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import requests
from flask import Flask
from playwright.sync_api import Page
from werkzeug.serving import make_server

from server import create_app
from server.storage import KeyStore, command_database
from tests.server.accounts.conftest import FAST_ARGON2
from tests.server.alerts.servers import SmtpServer
from tests.widget_api.browser import chromium_page, ensure_chromium
from tests.widget_api.conftest import (  # noqa: F401  (fixtures shared with the widget tests)
    widget_data_dir,
    widget_dataset_dir,
    widget_stats_dir,
)

CHANNELS = ("AC", "Geyser", "Overall")
INTERVAL_S = 5
#: Seconds of back-dated history posted for L1: statistics (min_history_s = 600) and complete
#: hours for a forecast.
HISTORY_S = 7200


@pytest.fixture
def make_app(widget_data_dir: Path, widget_stats_dir: Path) -> Iterator[Callable[..., Flask]]:  # noqa: F811
    apps: list[Flask] = []

    def make(**config: object) -> Flask:
        base = {
            "TESTING": True,
            "DATA_DIR": str(widget_data_dir),
            "STATS_CACHE_DIR": str(widget_stats_dir),
            "REDIS_URL": None,
            "DEMO": True,
            "DEMO_HOUSEHOLDS": ["A"],
            "EMBEDDED_REPLAY": False,
            "WARM_STATS": False,
            "PUSH_ENABLED": False,
        }
        base.update(config)
        app = create_app(base)  # the dashboard comes in by its entry point
        assert "dashboard" in app.extensions
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["gridlight"].stop()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask):  # noqa: ANN201
    return app.test_client()


@pytest.fixture
def live_key(widget_data_dir: Path) -> str:  # noqa: F811
    """Register live household ``L1`` (AC, Geyser, Overall); its API key."""
    db = command_database(widget_data_dir)
    try:
        _, key = KeyStore(db).add_household("L1", CHANNELS)
    finally:
        db.dispose()
    return key


def closing(app: Flask):  # noqa: ANN201 - a WSGI application
    """``app`` whose responses are closed however the request ends. werkzeug's server skips
    ``close()`` when reading the rest of a request the browser reset raises (a page left
    while its scripts load), leaving a static file open until collected: a ResourceWarning
    in whichever test runs then."""

    def wsgi(environ, start_response):  # noqa: ANN001, ANN202
        body = app(environ, start_response)
        try:
            yield from body
        finally:
            if hasattr(body, "close"):
                body.close()

    return wsgi


class Served:
    """The app served for real on loopback in a thread: ``url``, ``app``."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.server = make_server("127.0.0.1", 0, closing(app), threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> Served:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)
        self.server.server_close()


@pytest.fixture
def served(app: Flask) -> Iterator[Served]:
    with Served(app) as served:
        yield served


def usual_history(first_s: int, *, seed: int, seconds: int = HISTORY_S) -> list[dict]:
    """``seconds`` of a home's usual readings from ``first_s`` (as the ingest tests')."""
    rng = np.random.default_rng(seed)
    return [
        {
            "ts": first_s + i,
            "power_kw": {
                "AC": float(1.5 * (i % 300 < 120)),
                "Geyser": float(2.0 * (i % 600 < 60)),
                "Overall": float(0.3 + rng.gamma(2.0, 0.2)),
            },
        }
        for i in range(seconds)
    ]


def post_readings(base: str, key: str, readings: list[dict], household: str = "L1") -> None:
    r = requests.post(
        f"{base}/api/v1/households/{household}/readings",
        json={"readings": readings},
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    )
    assert r.ok, r.text


@pytest.fixture
def live_household(served: Served, live_key: str) -> dict:
    """L1 with :data:`HISTORY_S` seconds of back-dated history (statistics at 5 s follow): its
    key and the history's first second."""
    served.app.extensions["gridlight_ingest"].pipeline.live.min_history_s = 600
    first_s = int(time.time()) - HISTORY_S - 60
    post_readings(served.url, live_key, usual_history(first_s, seed=5))
    return {"key": live_key, "first_s": first_s}


# -- accounts (#21): sign-in pages, settings, keys --------------------------------------------
@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """The local SMTP stand-in that catches the accounts' emails (as in tests/server/accounts)."""
    with SmtpServer() as server:
        yield server


def accounts_config(smtp: SmtpServer, *, demo: bool = False) -> dict:
    """Accounts on (a fixed secret, emails to ``smtp``, cheap argon2id), demo mode as asked;
    links in emails point at whichever host the request came to (no ACCOUNTS_BASE_URL)."""
    return {
        "DEMO": demo,
        "SECRET_KEY": "dashboard-test-secret-" + "x" * 32,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": smtp.port,
        "SMTP_FROM": "accounts@gridlight.test",
        **FAST_ARGON2,
    }


@pytest.fixture
def accounts_app(make_app: Callable[..., Flask], smtp: SmtpServer) -> Flask:
    """The dashboard with accounts and demo mode off: every household needs sign-in or a key."""
    return make_app(**accounts_config(smtp))


# -- the browser tests ----------------------------------------------------------------------
@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    """Where screenshots and figures go: ``$GRIDLIGHT_SCREENSHOTS_DIR``, else a temporary one."""
    wanted = os.environ.get("GRIDLIGHT_SCREENSHOTS_DIR")
    path = Path(wanted) if wanted else tmp_path / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def page() -> Iterator[Page]:
    with chromium_page(ensure_chromium(), timeout_s=20.0) as page:
        yield page
