"""The stream server's per-app state, created unbound and connected in :meth:`init_app`.

``app.extensions["gridlight"]`` holds the households, broker, hub, quick statistics, set-up
store and metrics of one worker. Nothing connects at import time; under gunicorn's gevent worker
``create_app`` runs after the fork and after gevent's patching, so the threads started here are
greenlets.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from server.broker import Broker, create_broker
from server.compat.setups import RedisSetups, SetupStore, SqliteSetups
from server.households.catalogue import Households
from server.households.quickstats import QuickStats, default_runner
from server.metrics import Metrics
from server.push.devices import DeviceStore
from server.push.fcm import FcmClient, FcmConfigError
from server.storage import KeyStore, connect, db_path
from server.streaming.bodies import StreamSettings
from server.streaming.hub import Hub

__all__ = ["Gridlight", "state"]

log = logging.getLogger(__name__)


class Gridlight:
    households: Households
    broker: Broker
    metrics: Metrics
    hub: Hub
    stats: QuickStats
    setups: SetupStore
    settings: StreamSettings
    keys: KeyStore
    devices: DeviceStore
    fcm: FcmClient | None

    def __init__(self, app: Flask | None = None) -> None:
        self.replay_thread: threading.Thread | None = None
        self._stopped = threading.Event()
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        cfg = app.config
        data_dir = Path(cfg["DATA_DIR"])
        self.households = Households(data_dir)
        self.broker = create_broker(cfg["REDIS_URL"], int(cfg["HISTORY_LEN"]))
        self.metrics = Metrics()
        self.hub = Hub(
            self.broker,
            self.metrics,
            queue_len=int(cfg["CLIENT_QUEUE_LEN"]),
            grace_s=float(cfg["SILENT_GRACE_S"]),
            ping_s=float(cfg["PING_INTERVAL_S"]),
        )
        cache_dir = cfg["STATS_CACHE_DIR"] or data_dir / ".cache" / "stats"
        self.stats = QuickStats(self.households, cache_dir, default_runner())
        self.setups = (
            RedisSetups(cfg["REDIS_URL"])
            if cfg["REDIS_URL"]
            else SqliteSetups(data_dir / "gridlight.sqlite3")
        )
        self.settings = StreamSettings(
            retry_ms=int(cfg["RETRY_MS"]),
            ping_s=float(cfg["PING_INTERVAL_S"]),
            queue_len=int(cfg["CLIENT_QUEUE_LEN"]),
        )
        # keys and push tokens share one connection, serialised by the device store's lock
        conn = connect(db_path(data_dir))
        self.devices = DeviceStore(conn)
        self.keys = KeyStore(conn)
        self.fcm = make_fcm_client(cfg)
        app.extensions["gridlight"] = self
        embedded = cfg["EMBEDDED_REPLAY"]
        if embedded is None:
            embedded = bool(cfg["DEMO"]) and not cfg["REDIS_URL"]
        if embedded:
            self.start_embedded_replay(
                data_dir / cfg["DEMO_DATASET"], list(cfg["DEMO_HOUSEHOLDS"]), cfg["REPLAY_SPEED"]
            )
        if cfg["DEMO"] and cfg["WARM_STATS"]:
            demo = list(cfg["DEMO_HOUSEHOLDS"])
            threading.Thread(
                target=self.stats.warm, args=(demo, self._stopped.is_set), daemon=True
            ).start()

    def start_embedded_replay(self, dataset_dir: Path, households: list[str], speed: float) -> None:
        """Replay the demo households into the in-process broker, in a thread of this worker."""
        from generator.dataset import DatasetError, read_meta
        from generator.replay import replay

        try:
            read_meta(dataset_dir)
        except DatasetError as err:
            log.error("no embedded replay: %s (run `python -m generator demo`)", err)
            return

        def run() -> None:
            from generator.dataset import read_dataset

            try:
                # read here and handed over: replay() keeps only its meters' arrays
                replay(
                    read_dataset(dataset_dir),
                    households,
                    self.broker.publish,
                    speed=float(speed),
                    should_stop=self._stopped.is_set,
                )
            except Exception:
                log.exception("the embedded replay stopped")

        self.replay_thread = threading.Thread(target=run, name="embedded-replay", daemon=True)
        self.replay_thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self.hub.stop()
        if self.replay_thread is not None:
            self.replay_thread.join(timeout=5)


def make_fcm_client(cfg: Any) -> FcmClient | None:
    """The deployment's one FCM client (widget pushes and alert pushes share it), or ``None``
    when pushes are off: ``PUSH_ENABLED`` false, or ``None`` and no credentials configured."""
    import os

    credentials = cfg["FCM_CREDENTIALS"] or os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    enabled = cfg["PUSH_ENABLED"]
    if enabled is None:
        enabled = bool(credentials)
    if not enabled:
        log.info("pushes off: GOOGLE_APPLICATION_CREDENTIALS is not set")
        return None
    if not credentials:
        raise FcmConfigError(
            "PUSH_ENABLED is set but no FCM credentials: set GOOGLE_APPLICATION_CREDENTIALS"
        )
    return FcmClient(
        credentials,
        cfg["FCM_BASE_URL"] or None,
        timeout_s=float(cfg["FCM_TIMEOUT_S"]),
        retries=int(cfg["FCM_RETRIES"]),
        backoff_s=float(cfg["FCM_BACKOFF_S"]),
    )


def state() -> Gridlight:
    return current_app.extensions["gridlight"]


def stop_with_worker(worker: Any) -> None:
    """Stop the app of a gunicorn gevent ``worker`` as soon as the worker is told to stop.

    On SIGTERM (a deploy, a restart) gunicorn stops accepting and waits ``graceful_timeout`` for
    open requests, but SSE streams never finish: the worker would hold them that long and then cut
    them. Instead, the single-instance jobs (alert evaluator, push sender) are told to stop first,
    each in its own greenlet (they release their leases, so another worker takes over), then the
    hub stops: every stream ends with its closing chunk at once (clients reconnect to another
    worker and resume with ``Last-Event-ID``), streams opened meanwhile end at once too, and the
    readers and the ingest pipeline stop. ``worker_exit`` in ``docker/gunicorn.conf.py`` waits for
    it all (:func:`wait_stopped`) before the process ends. Called by ``post_worker_init``.
    """
    import gevent

    def stop(name: str, ext: Any) -> None:
        try:
            ext.stop()
        except Exception:  # noqa: BLE001 - shutting down: log and go on with the rest
            log.exception("stopping %s", name)

    def watch() -> None:
        while worker.alive:
            gevent.sleep(0.2)
        extensions = getattr(worker.wsgi, "extensions", {})
        jobs = [
            gevent.spawn(stop, name, ext)
            for name, ext in extensions.items()
            if name not in ("gridlight", "gridlight_ingest")
            and callable(getattr(ext, "stop", None))
        ]
        if "gridlight" in extensions:
            stop("gridlight", extensions["gridlight"])
        gevent.joinall(jobs)

    worker.gridlight_stopping = gevent.spawn(watch)


def wait_stopped(worker: Any, timeout_s: float) -> None:
    """Wait (at most ``timeout_s``) for :func:`stop_with_worker`'s stop to finish."""
    stopping = getattr(worker, "gridlight_stopping", None)
    if stopping is not None:
        stopping.join(timeout=timeout_s)
