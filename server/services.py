"""The services of one worker: what it holds (typed fields) and what runs in its background.

``app.extensions["gridlight"]`` is a :class:`Services`. :func:`server.create_app` builds it and
the feature packages register their background jobs with :meth:`Services.add`; nothing starts
then. :meth:`Services.start` starts them all (the embedded replay, the statistics warm-up, ingest's retention and MQTT subscriber, the alert evaluator, the widget push
sender) and :meth:`Services.stop` stops them: leader-only jobs first (their leases go to another
worker at once), then the hub (open streams end with their closing chunk and resume elsewhere),
then the rest. Who calls them:

* gunicorn's worker hooks (``docker/gunicorn.conf.py``: ``post_worker_init`` starts, a worker
  told to stop stops: :func:`stop_with_worker`), hence ``make run`` and ``python -m server run``;
* a test or a script that wants the background work: ``app.extensions["gridlight"].start()``.

Under gunicorn's gevent worker ``create_app`` runs after the fork and after gevent's patching, so
the threads started here are greenlets.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from flask import Flask, current_app

from server.broker import Broker, create_broker
from server.compat.setups import DatabaseSetups, RedisSetups, SetupStore
from server.households.catalogue import Households
from server.households.quickstats import QuickStats, default_runner
from server.households.removal import Removals
from server.metrics import Metrics
from server.push.devices import DeviceStore
from server.push.fcm import FcmClient, FcmConfigError
from server.push.webpush import WebPushSender, WebPushStore, vapid_private_key
from server.storage import KeyStore
from server.storage.consent import ConsentStore
from server.storage.crypto import Keyring, load_master_keys
from server.storage.database import Database, database_url, open_database
from server.storage.estimators import EstimatorStore
from server.storage.sealing import seal_plaintext_rows
from server.streaming.aggregate import estimates_of
from server.streaming.bodies import StreamSettings
from server.streaming.hub import Hub
from server.streaming.learning import Learning

__all__ = ["Job", "Services", "make_fcm_client", "state", "stop_with_worker", "wait_stopped"]

log = logging.getLogger(__name__)


class Job(Protocol):
    """Background work owned by the services: started once, stopped once."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass
class _Registered:
    name: str
    job: Job
    leader: bool


class _Thread:
    """A function run in a daemon thread as a :class:`Job`; ``stop`` sets ``stopped`` and joins."""

    def __init__(self, name: str, run: Callable[[threading.Event], None]) -> None:
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=run, args=(self.stopped,), name=name, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        if self.thread.is_alive():
            self.thread.join(timeout=5)


def _models_by_household(estimators: EstimatorStore) -> dict[str, tuple]:
    """Each household's attached models as ``(appliance, attached_s)`` pairs (what changes when
    one is attached, replaced or detached), from one query."""
    out: dict[str, list] = {}
    for m in estimators.list():
        out.setdefault(m.household, []).append((m.appliance, m.attached_s))
    return {h: tuple(sorted(models)) for h, models in out.items()}


class Services:
    """One worker's households, broker, hub, statistics, set-ups, keys, devices, FCM client and
    metrics, and the jobs that run beside them (see the module doc)."""

    households: Households
    broker: Broker
    metrics: Metrics
    hub: Hub
    stats: QuickStats
    setups: SetupStore
    settings: StreamSettings
    keys: KeyStore
    devices: DeviceStore
    webpush: WebPushStore
    webpush_sender: WebPushSender
    keyring: Keyring
    consent: ConsentStore
    fcm: FcmClient | None
    learning: Learning
    removals: Removals

    def __init__(self, app: Flask | None = None) -> None:
        self._jobs: list[_Registered] = []
        self._lock = threading.Lock()
        #: name → a check that ``/healthz`` reports under that name; ``{"ok": false, ...}``
        #: makes the answer ``degraded`` (still 200): see :meth:`add_health`
        self.health_checks: dict[str, Callable[[], dict[str, Any]]] = {}
        self.started = False
        self.stopped = False
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        cfg = app.config
        data_dir = Path(cfg["DATA_DIR"])
        # the installation's database (DATABASE_URL, or SQLite under DATA_DIR), its schema
        # upgraded; every store of every feature uses this one engine and pool
        self.db: Database = open_database(database_url(cfg))
        # personal data at rest: the data keys, unwrapped by the master key; plaintext left by
        # an older version sealed
        if self.db.is_postgres and not (cfg.get("MASTER_KEY") or cfg.get("MASTER_KEY_FILE")):
            log.error(
                "MASTER_KEY / MASTER_KEY_FILE is not set but the database is shared: every host "
                "must use the same master key, else the others cannot open personal data; "
                "using %s/master_key",
                data_dir,
            )
        self.keyring = Keyring.load(self.db, load_master_keys(cfg))
        seal_plaintext_rows(self.db, self.keyring)
        self.consent = ConsentStore(self.db, version=str(cfg["CONSENT_VERSION"]))
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
        self.hub.household_channels = lambda h: tuple(self.households.info(h).channels)
        self.hub.describe_household = self._describe
        estimators = EstimatorStore(self.db)
        self.hub.household_models = lambda: _models_by_household(estimators)
        self.hub.describe_s = float(cfg["NILM_SYNC_S"])
        self.hub.household_stats = self.stats.get
        self.hub.follow_defaults = {
            "retry_s": float(cfg["FOLLOW_STATS_RETRY_S"]),
            "refresh_s": float(cfg["FOLLOW_STATS_REFRESH_S"]),
        }
        self.learning = Learning(self.hub, retry_s=float(cfg["FOLLOW_STATS_RETRY_S"]))
        self.setups = RedisSetups(cfg["REDIS_URL"]) if cfg["REDIS_URL"] else DatabaseSetups(self.db)
        # a household removed on any worker or host: every cache of this worker forgets it
        # (feature packages register theirs too); see erase_household below
        self.removals = Removals(cfg["REDIS_URL"])
        self.removals.on_removed("hub", self.hub.forget)
        self.removals.on_removed("learning", self.learning.forget)
        self.removals.on_removed("stats", self.stats.cache.forget)
        self.add("household-removals", self.removals)
        self.settings = StreamSettings(
            retry_ms=int(cfg["RETRY_MS"]),
            ping_s=float(cfg["PING_INTERVAL_S"]),
            queue_len=int(cfg["CLIENT_QUEUE_LEN"]),
        )
        self.devices = DeviceStore(self.db, self.keyring)
        self.webpush = WebPushStore(self.db, self.keyring)
        # the VAPID key comes from the installation's secret, which is read after the services
        self.webpush_sender = WebPushSender(
            functools.cache(lambda: vapid_private_key(app.secret_key)),
            str(cfg["WEBPUSH_SUBJECT"]),
            ttl_s=int(cfg["WEBPUSH_TTL_S"]),
        )
        self.keys = KeyStore(self.db)
        self.fcm = make_fcm_client(cfg)
        app.extensions["gridlight"] = self
        embedded = cfg["EMBEDDED_REPLAY"]
        if embedded is None:
            embedded = bool(cfg["DEMO"]) and not cfg["REDIS_URL"]
        if embedded:
            dataset_dir = data_dir / cfg["DEMO_DATASET"]
            demo = list(cfg["DEMO_HOUSEHOLDS"])
            speed = float(cfg["REPLAY_SPEED"])
            self.add(
                "embedded-replay",
                _Thread(
                    "embedded-replay",
                    lambda stopped: self._replay(dataset_dir, demo, speed, stopped),
                ),
            )
        if cfg["DEMO"] and cfg["WARM_STATS"]:
            demo = list(cfg["DEMO_HOUSEHOLDS"])
            self.add(
                "stats-warm",
                _Thread("stats-warm", lambda stopped: self.stats.warm(demo, stopped.is_set)),
            )

    def _describe(self, household: str) -> tuple[tuple[str, ...], dict[str, int]]:
        """A household's channels and its estimated ones (what the hub's channels average and
        mark; see :func:`server.streaming.aggregate.estimates_of`)."""
        info = self.households.info(household)
        return tuple(info.channels), estimates_of(info)

    # -- jobs ----------------------------------------------------------------------------------
    def add(self, name: str, job: Job, *, leader: bool = False) -> None:
        """Register background work; ``leader``: a leader-only job, stopped first. A job added
        after :meth:`start` starts at once."""
        with self._lock:
            self._jobs.append(_Registered(name, job, leader))
            started = self.started and not self.stopped
        if started:
            job.start()

    def add_health(self, name: str, check: Callable[[], dict[str, Any]]) -> None:
        """Report ``check()`` in ``/healthz`` under ``name`` (a feature's external feed, say)."""
        self.health_checks[name] = check

    def job(self, name: str) -> Job | None:
        return next((r.job for r in self._jobs if r.name == name), None)

    def start(self) -> Services:
        """Start every registered job (once; a second call does nothing)."""
        with self._lock:
            if self.started:
                return self
            self.started = True
            jobs = list(self._jobs)
        for registered in jobs:
            log.debug("starting %s", registered.name)
            registered.job.start()
        return self

    def stop(self, spawn: Callable[[Callable[[], None]], Any] | None = None) -> None:
        """Stop leader-only jobs (concurrently when ``spawn`` is given: each releases its lease),
        then the hub, then the other jobs in reverse order. Idempotent."""
        with self._lock:
            if self.stopped:
                return
            self.stopped = True
            jobs = list(self._jobs)  # unstarted jobs stop too: they close what they opened
        leaders = [r for r in jobs if r.leader]
        if spawn is not None:
            waits = [spawn(lambda r=r: _stop(r)) for r in leaders]
            for wait in waits:
                wait()
        else:
            for registered in leaders:
                _stop(registered)
        self.learning.stop()
        self.hub.stop()
        for registered in reversed([r for r in jobs if not r.leader]):
            _stop(registered)
        self.db.dispose()

    # -- erasure ---------------------------------------------------------------------------------
    def erase_household(self, household: str, data_dir: str | os.PathLike[str]) -> dict[str, int]:
        """Erase ``household`` everywhere: every table, its stream and report files
        (:func:`server.storage.erase.erase_household`), its compatibility set-ups, and every
        worker's and host's caches (:class:`~server.households.removal.Removals`). What was
        deleted, by place."""
        from server.storage.erase import erase_household

        # Redis' set-ups first: if Redis is away the erasure fails before anything went, and the
        # user's retry finds the household still theirs (after the rows, it would not)
        in_redis = self.setups.erase(household)
        deleted = erase_household(self.db, household, data_dir=data_dir, broker=self.broker)
        deleted["stream_setups"] = deleted.get("stream_setups", 0) + in_redis
        self.removals.announce(household)  # after the rows: no worker reloads what it forgets
        return deleted

    # -- the demo replay ------------------------------------------------------------------------
    def _replay(
        self, dataset_dir: Path, households: list[str], speed: float, stopped: threading.Event
    ) -> None:
        """Replay the demo households into the in-process broker, in a thread of this worker."""
        from generator.dataset import DatasetError, read_dataset, read_meta
        from generator.replay import replay

        try:
            read_meta(dataset_dir)
        except DatasetError as err:
            log.error("no embedded replay: %s (run `python -m generator demo`)", err)
            return
        try:
            # read here and handed over: replay() keeps only its meters' arrays
            replay(
                read_dataset(dataset_dir),
                households,
                self.broker.publish,
                speed=speed,
                should_stop=lambda: stopped.is_set() or self.hub.stopped.is_set(),
            )
        except Exception:
            log.exception("the embedded replay stopped")


def _stop(registered: _Registered) -> None:
    try:
        registered.job.stop()
    except Exception:  # noqa: BLE001 - shutting down: log and go on with the rest
        log.exception("stopping %s", registered.name)


def make_fcm_client(cfg: Any) -> FcmClient | None:
    """The deployment's one FCM client (widget pushes and alert pushes share it), or ``None``
    when pushes are off: ``PUSH_ENABLED`` false, or ``None`` and no credentials configured."""
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


def state() -> Services:
    return current_app.extensions["gridlight"]


def stop_with_worker(worker: Any) -> None:
    """Start the services of a gunicorn gevent ``worker``'s app, and stop them as soon as the
    worker is told to stop.

    On SIGTERM (a deploy, a restart) gunicorn stops accepting and waits ``graceful_timeout`` for
    open requests, but SSE streams never finish: the worker would hold them that long and then cut
    them. Instead the services stop at once (:meth:`Services.stop`): leader-only jobs first, each
    in its own greenlet (they release their leases, so another worker takes over), then the hub:
    every stream ends with its closing chunk (clients reconnect to another worker and resume with
    ``Last-Event-ID``), streams opened meanwhile end at once too, and the readers, the replay and
    the ingest pipeline stop. ``worker_exit`` in ``docker/gunicorn.conf.py`` waits for it all
    (:func:`wait_stopped`) before the process ends. Called by ``post_worker_init``.
    """
    import gevent

    services = getattr(getattr(worker, "wsgi", None), "extensions", {}).get("gridlight")
    if services is None:
        return
    services.start()

    def spawn(fn: Callable[[], None]) -> Callable[[], None]:
        return gevent.spawn(fn).join

    def watch() -> None:
        while worker.alive:
            gevent.sleep(0.2)
        services.stop(spawn)

    worker.gridlight_stopping = gevent.spawn(watch)


def wait_stopped(worker: Any, timeout_s: float) -> None:
    """Wait (at most ``timeout_s``) for :func:`stop_with_worker`'s stop to finish."""
    stopping = getattr(worker, "gridlight_stopping", None)
    if stopping is not None:
        stopping.join(timeout=timeout_s)
