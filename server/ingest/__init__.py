"""Live ingestion over HTTP and MQTT into storage and the streams, with scheduled retention.

``Ingest(app)`` (one line in :func:`server.create_app`, after the services) opens the stores,
registers ``POST``/``GET /api/v1/households/{h}/readings``, makes the key store's live
households visible to :class:`server.households.catalogue.Households`, and registers with the
services (:class:`server.services.Services`, started with the worker) the retention job and, in
the embedded default (``MQTT_URL`` set, no ``REDIS_URL``: one worker, in-process broker), the MQTT
subscriber inside the worker. With ``REDIS_URL`` the subscriber is the dedicated process
``python -m server ingest`` (Procfile ``ingest:``; started by ``python -m server run`` when
``MQTT_URL`` is set), so there is exactly one per deployment.

Configuration: the ingest and storage section of :mod:`server.config` (``RAW_RETENTION_S``,
``INGEST_MAX_READINGS``, ``MQTT_CLIENT_ID``, ``LIVE_STATS_MIN_S``, …).

Mosquitto keeps at most ``max_queued_messages`` (1000 by default) per session while Gridlight is
away or busy; raise it (``max_queued_messages 0`` for no limit, ``persistence true``) on brokers
that carry many meters.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flask import Config, Flask

from server import config
from server.ingest.history import LiveHouseholds, NotEnoughHistory
from server.ingest.retention import RetentionJob
from server.ingest.writer import BatchWriter, Ingestor
from server.storage import DeadLetters, KeyStore, ReadingStore
from server.storage.consent import ConsentStore
from server.storage.database import Database, database_url, open_database
from server.storage.estimators import EstimatorStore

if TYPE_CHECKING:
    from server.households.removal import Removals

__all__ = ["Ingest", "NotEnoughHistory", "load_config", "open_pipeline"]

log = logging.getLogger(__name__)


def load_config() -> Config:
    """The configuration without an app (for ``python -m server ingest``): :func:`server.config.load`."""
    return config.load()


class Pipeline:
    """The stores, ingestor, retention job and (optionally) MQTT subscriber of one process.

    Every store works on ``db`` (the app's :class:`~server.storage.database.Database`, or one the
    pipeline opens from ``DATABASE_URL``/``DATA_DIR`` and disposes when it stops): each write is
    a transaction on a pooled connection of its own. ``stop()`` (or ``stopped`` being set: the
    worker's hub stopping) ends the threads.
    """

    def __init__(
        self,
        cfg: Mapping[str, Any],
        publish,  # noqa: ANN001
        count,  # noqa: ANN001
        stopped: threading.Event | None = None,
        *,
        db: Database | None = None,
    ) -> None:
        self._own_db = db is None
        self.db = db if db is not None else open_database(database_url(cfg))
        self.store = ReadingStore(
            self.db,
            raw_retention_s=int(cfg["RAW_RETENTION_S"]),
            rollup_retention_s=int(cfg["ROLLUP_RETENTION_S"]),
        )
        self.keys = KeyStore(self.db)
        self.dead_letters = DeadLetters(self.db)
        self.consent = ConsentStore(self.db, version=str(cfg["CONSENT_VERSION"]))
        self.ingestor = Ingestor(
            self.store, self.keys, self.dead_letters, publish, count, consent=self.consent
        )
        self.live = LiveHouseholds(
            self.keys,
            self.store,
            min_history_s=int(cfg["LIVE_STATS_MIN_S"]),
            refresh_s=float(cfg["LIVE_HISTORY_REFRESH_S"]),
            estimators=EstimatorStore(self.db),
        )
        self.retention = RetentionJob(
            self.db,
            self.store,
            self.dead_letters,
            every_s=float(cfg["RETENTION_EVERY_S"]),
            dead_letter_retention_s=int(cfg["DEAD_LETTER_RETENTION_S"]),
            count=count,
            stopped=stopped,
            on_exit=self.stop,
        )
        self.cfg = cfg
        self.writer: BatchWriter | None = None
        self.mqtt = None
        self._closed = False

    def forget_removed(self, removals: Removals) -> None:
        """Forget an erased household's channels and live history as soon as ``removals``
        announces it (erasures happen in the web workers; every process ingesting acts on them)."""
        removals.on_removed("ingest-channels", self.ingestor.forget)
        removals.on_removed("live-history", self.live.forget)

    def start_retention(self) -> None:
        if self.cfg["RETENTION_ENABLED"]:
            self.retention.start()

    def start_mqtt(self) -> None:
        from server.ingest.mqtt import MqttIngest
        from server.ingest.status import status_path

        cfg = self.cfg
        self.writer = BatchWriter(
            self.ingestor,
            max_rows=int(cfg["INGEST_BATCH_READINGS"]),
            max_delay_s=float(cfg["INGEST_BATCH_MS"]) / 1000,
        ).start()
        self.mqtt = MqttIngest(
            cfg["MQTT_URL"],
            self.ingestor,
            self.writer,
            client_id=str(cfg["MQTT_CLIENT_ID"]),
            session_expiry_s=int(cfg["MQTT_SESSION_EXPIRY_S"]),
            receive_maximum=int(cfg["MQTT_RECEIVE_MAXIMUM"]),
            status_file=status_path(cfg["DATA_DIR"]),
        ).start()

    def stop(self) -> None:
        """Stop the subscriber (its session stays on the broker), write what is queued, and
        dispose of the database if the pipeline opened it."""
        if self._closed:
            return
        self._closed = True
        self.retention.stop()
        if self.mqtt is not None:
            self.mqtt.stop()
        if self.writer is not None:
            self.writer.stop()
        if self._own_db:
            self.db.dispose()


def open_pipeline(
    cfg: Mapping[str, Any],
    publish,  # noqa: ANN001
    count,  # noqa: ANN001
    stopped: threading.Event | None = None,
    *,
    db: Database | None = None,
) -> Pipeline:
    return Pipeline(cfg, publish, count, stopped, db=db)


class Ingest:
    pipeline: Pipeline

    def __init__(self, app: Flask | None = None) -> None:
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        from server.ingest.views import blueprint

        #: ``extra(info, resolution, start_s, end_s, frame, body)`` called on every ``GET
        #: …/readings`` answer before it is sent (feature packages add fields to its rows)
        self.history_extras: list[Any] = []
        from server.services import Services

        gl: Services = app.extensions["gridlight"]
        # ends (threads stopped, connections closed) when the worker's hub stops
        self.pipeline = open_pipeline(
            app.config, gl.broker.publish, gl.metrics.add, gl.hub.stopped, db=gl.db
        )
        gl.households.live = self.pipeline.live
        self.pipeline.forget_removed(gl.removals)
        app.extensions["gridlight_ingest"] = self
        app.register_blueprint(blueprint())
        embedded = app.config["INGEST_EMBEDDED"]
        if embedded is None:
            embedded = bool(app.config["MQTT_URL"]) and not app.config["REDIS_URL"]
        self.mqtt = bool(embedded and app.config["MQTT_URL"])
        if self.mqtt and app.config["REDIS_URL"]:
            log.warning(
                "INGEST_EMBEDDED with REDIS_URL: every worker subscribes with the same MQTT "
                "client id and they take the session from each other; run "
                "'python -m server ingest' instead"
            )
        gl.add("ingest", self)

    def start(self) -> None:
        """Start the retention job and, when embedded, the MQTT subscriber (by the services)."""
        self.pipeline.start_retention()
        if self.mqtt:
            self.pipeline.start_mqtt()

    @property
    def ingestor(self) -> Ingestor:
        return self.pipeline.ingestor

    @property
    def store(self) -> ReadingStore:
        return self.pipeline.store

    def stop(self) -> None:
        self.pipeline.stop()
