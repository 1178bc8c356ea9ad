"""The services object: ``create_app`` wires and starts nothing; ``start()`` starts every
registered job, ``stop()`` stops leader-only jobs first, then the hub, then the rest."""

from __future__ import annotations

import threading
from pathlib import Path

from server import create_app
from server.services import Services


def _threads() -> set[str]:
    return {t.name for t in threading.enumerate()}


def test_create_app_starts_no_thread_and_services_start_and_stop_them(
    server_data_dir: Path, stats_cache_dir: Path
) -> None:
    before = _threads()
    app = create_app(
        {
            "TESTING": True,
            "DATA_DIR": str(server_data_dir),
            "STATS_CACHE_DIR": str(stats_cache_dir),
            "REDIS_URL": None,
            "DEMO": True,  # the embedded replay and the statistics warm-up are jobs
            "WARM_STATS": True,
            "ALERTS_ENABLED": True,
            "ALERTS_SYNC_S": 0.05,
        }
    )
    services: Services = app.extensions["gridlight"]
    assert _threads() == before, "create_app started threads"
    names = [r.name for r in services._jobs]
    assert {"embedded-replay", "stats-warm", "ingest", "alerts"} <= set(names)
    order: list[str] = []

    class Recorder:
        def __init__(self, name: str) -> None:
            self.name = name

        def start(self) -> None:
            order.append(f"start {self.name}")

        def stop(self) -> None:
            order.append(f"stop {self.name}")

    services.add("plain", Recorder("plain"))
    services.add("leader", Recorder("leader"), leader=True)
    hub_stop = services.hub.stop
    services.hub.stop = lambda: (order.append("stop hub"), hub_stop())[-1]  # type: ignore[method-assign]
    services.start()
    assert services.start() is services  # a second start does nothing
    assert order == ["start plain", "start leader"]
    assert "alerts-control" in _threads() and "embedded-replay" in _threads()
    late = Recorder("late")
    services.add("late", late)  # added once started: starts at once
    assert order[-1] == "start late"
    services.stop()
    services.stop()  # idempotent
    assert order[3:] == ["stop leader", "stop hub", "stop late", "stop plain"]
    for name in ("alerts-control", "embedded-replay", "stats-warm"):
        assert name not in _threads(), f"{name} still running after stop()"
