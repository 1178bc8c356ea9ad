"""``python -m server ingest``: the dedicated MQTT ingest process (one per deployment); and
``python -m server dead-letters [--household H] [--limit N]``, which prints the newest rejected
payloads with their reasons (one JSON object a line).

Runs when ``MQTT_URL`` and ``REDIS_URL`` are set (``python -m server run`` starts it; Procfile
``ingest:``): subscribes with the persistent session, stores readings in the installation's database
(``DATABASE_URL``, or SQLite under ``GRIDLIGHT_DATA_DIR``) and publishes them to the Redis streams the web workers read; it also runs
the retention job. Its counters reach ``/metrics`` through prometheus_client's multiprocess
directory (``PROMETHEUS_MULTIPROC_DIR``, which ``python -m server run`` shares with the web
workers). SIGINT/SIGTERM write what is queued and stop.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from server.cli import CommandError

__all__ = ["register"]

log = logging.getLogger(__name__)
WAKE_EVERY_S = 1.0


def run(args: argparse.Namespace) -> int:
    from server.broker import create_broker
    from server.households.removal import Removals
    from server.ingest import load_config, open_pipeline
    from server.metrics import Metrics, mark_process_dead

    cfg = load_config()
    if not cfg["MQTT_URL"]:
        raise CommandError("MQTT_URL is not set: nothing to ingest (e.g. mqtt://localhost:1883)")
    if not cfg["REDIS_URL"]:
        print(
            "python -m server ingest: REDIS_URL is not set; readings are stored but reach no "
            "stream (the embedded default runs ingest inside the web worker instead)",
            file=sys.stderr,
        )
    logging.basicConfig(level=str(cfg.get("LOG_LEVEL", "INFO")).upper())
    broker = create_broker(cfg["REDIS_URL"], int(cfg["HISTORY_LEN"]))
    metrics = Metrics()
    pipeline = open_pipeline(cfg, broker.publish, metrics.add)
    # households erased through the web workers: forget their channels and history at once
    removals = Removals(cfg["REDIS_URL"])
    pipeline.forget_removed(removals)
    removals.start()
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    pipeline.start_retention()
    pipeline.start_mqtt()
    print(f"ingesting from {cfg['MQTT_URL']} into {pipeline.db!r}", file=sys.stderr, flush=True)
    try:
        while not stop.wait(WAKE_EVERY_S):
            pass
        pipeline.stop()
        removals.stop()
        broker.close()
    finally:
        mark_process_dead(os.getpid())  # its live figures leave /metrics; its counts stay
    return 0


def dead_letters(args: argparse.Namespace) -> int:
    import json
    from dataclasses import asdict

    from server.storage import DeadLetters
    from server.storage.database import command_database

    if args.limit <= 0:
        raise CommandError(f"--limit must be positive, got {args.limit}")
    db = command_database(args.data_dir)
    try:
        for letter in DeadLetters(db).recent(args.limit, household=args.household):
            print(json.dumps(asdict(letter)))
    finally:
        db.dispose()
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("ingest", help="the MQTT ingest process (with MQTT_URL and REDIS_URL)")
    parser.set_defaults(func=run)
    dead = sub.add_parser("dead-letters", help="print rejected ingest payloads and why")
    dead.add_argument("--household", help="only this household's")
    dead.add_argument("--limit", type=int, default=20, help="newest N (default 20)")
    dead.add_argument(
        "--data-dir",
        help="data directory of the SQLite database (default: $GRIDLIGHT_DATA_DIR or data/; "
        "$GRIDLIGHT_DATABASE_URL takes precedence)",
    )
    dead.set_defaults(func=dead_letters)
