"""The versioned HTTP API (``/api/v1``) and the operational routes (``/healthz``, ``/metrics``)."""

from __future__ import annotations

from flask import Blueprint, Flask

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    from server.api import health, households, streams, webpush

    v1 = Blueprint("api_v1", __name__, url_prefix="/api/v1")
    households.register(v1)
    streams.register(v1)
    webpush.register(v1)
    app.register_blueprint(v1)
    health.register(app)
