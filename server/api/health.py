"""``GET /healthz`` (503 while the broker or a stream reader is down) and ``GET /metrics``."""

from __future__ import annotations

import os

from flask import Flask, Response, jsonify

from server.errors import BrokerUnavailable
from server.extension import state
from server.metrics import render

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
    return jsonify(body), 200 if ok else 503


def metrics() -> Response:
    gl = state()
    return Response(render(gl.metrics, gl.metrics_dir), mimetype="text/plain; version=0.0.4")


def register(app: Flask) -> None:
    app.add_url_rule("/healthz", view_func=healthz)
    app.add_url_rule("/metrics", view_func=metrics)
