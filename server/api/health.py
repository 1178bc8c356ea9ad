"""``GET /healthz`` and ``GET /metrics``, and the timing of every request for the latter.

``/healthz`` answers 503 while the broker, the database or a stream reader is down; with ``MQTT_URL`` it also
reports the MQTT subscriber (``"status": "degraded"`` while it is down or silent, still 200), and
every check a feature added with ``services.add_health`` (the insights' carbon feed, when one is
configured) under its name, degraded likewise while it says ``"ok": false``.

``/metrics`` is ``prometheus_client``'s exposition (:mod:`server.metrics`: merged over the
server's workers in multiprocess mode). Every request is timed from Flask's ``request_started``
to its ``request_finished`` signal (a stream's time is to its headers) and observed by its URL
rule, not its path, so the number of series stays bounded.
"""

from __future__ import annotations

import os
import time

from flask import (
    Flask,
    Response,
    current_app,
    g,
    jsonify,
    request,
    request_finished,
    request_started,
)

from server.errors import BrokerUnavailable
from server.ingest.status import read_status, status_path
from server.metrics import UNMATCHED, render
from server.services import state
from server.storage.database import DatabaseUnavailable

__all__ = ["register"]


def healthz():  # noqa: ANN201
    gl = state()
    broker: dict = {"kind": "redis" if gl.broker.__class__.__name__ == "RedisBroker" else "memory"}
    try:
        gl.broker.ping()
        broker["ok"] = True
    except BrokerUnavailable as err:
        broker.update(ok=False, error=err.message)
    database: dict = {"kind": "postgresql" if gl.db.is_postgres else "sqlite"}
    try:
        gl.db.ping()
        database["ok"] = True
    except DatabaseUnavailable as err:
        database.update(ok=False, error=str(err).splitlines()[0][:200])
    readers = gl.hub.health()
    ok = broker["ok"] and database["ok"] and readers.ok
    body = {
        "status": "ok" if ok else "unavailable",
        "worker": os.getpid(),
        "broker": broker,
        "database": database,
        "readers": readers.readers,
    }
    if current_app.config.get("MQTT_URL"):
        # the subscriber may be another process: a down subscriber degrades ingest, not this
        # worker's streams, so it does not turn the answer into a 503
        body["mqtt"] = read_status(status_path(current_app.config["DATA_DIR"]), time.time())
        if ok and not body["mqtt"]["ok"]:
            body["status"] = "degraded"
    for name, check in gl.health_checks.items():  # features' feeds (insights' carbon feed)
        try:
            found = check()
        except Exception as err:  # noqa: BLE001 - a check must never turn /healthz into a 500
            found = {"ok": False, "error": f"{type(err).__name__}: {err}"}
        body[name] = found
        if ok and not found.get("ok", True):
            body["status"] = "degraded"
    return jsonify(body), 200 if ok else 503


def metrics() -> Response:
    body, content_type = render(state().metrics, request.headers.get("Accept"))
    return Response(body, content_type=content_type)


def _started(sender: Flask, **extra: object) -> None:
    g.gridlight_started = time.perf_counter()


def _finished(sender: Flask, response: Response, **extra: object) -> None:
    started = g.pop("gridlight_started", None)
    if started is None:
        return
    rule = request.url_rule
    state().metrics.observe_request(
        rule.rule if rule is not None else UNMATCHED,
        response.status_code,
        time.perf_counter() - started,
    )


def register(app: Flask) -> None:
    app.add_url_rule("/healthz", view_func=healthz)
    app.add_url_rule("/metrics", view_func=metrics)
    request_started.connect(_started, app)
    request_finished.connect(_finished, app)
