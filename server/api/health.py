"""``GET /healthz`` and ``GET /metrics``.

``/healthz`` answers 503 while the broker or a stream reader is down; with ``MQTT_URL`` it also
reports the MQTT subscriber (``"status": "degraded"`` while it is down or silent, still 200).
"""

from __future__ import annotations

import os
import time

from flask import Flask, Response, current_app, jsonify

from server.errors import BrokerUnavailable
from server.ingest.status import read_status, status_path
from server.metrics import render
from server.services import state

__all__ = ["register"]


def healthz():  # noqa: ANN201
    gl = state()
    broker: dict = {"kind": "redis" if gl.broker.__class__.__name__ == "RedisBroker" else "memory"}
    try:
        gl.broker.ping()
        broker["ok"] = True
    except BrokerUnavailable as err:
        broker.update(ok=False, error=err.message)
    readers = gl.hub.health()
    ok = broker["ok"] and readers.ok
    body = {
        "status": "ok" if ok else "unavailable",
        "worker": os.getpid(),
        "broker": broker,
        "readers": readers.readers,
    }
    if current_app.config.get("MQTT_URL"):
        # the subscriber may be another process: a down subscriber degrades ingest, not this
        # worker's streams, so it does not turn the answer into a 503
        body["mqtt"] = read_status(status_path(current_app.config["DATA_DIR"]), time.time())
        if ok and not body["mqtt"]["ok"]:
            body["status"] = "degraded"
    return jsonify(body), 200 if ok else 503


def metrics() -> Response:
    gl = state()
    return Response(render(gl.metrics, gl.metrics_dir), mimetype="text/plain; version=0.0.4")


def register(app: Flask) -> None:
    app.add_url_rule("/healthz", view_func=healthz)
    app.add_url_rule("/metrics", view_func=metrics)
