"""The seed's routes for its existing clients: ``/stream_setup``, ``/stream_qstats``,
``/stream_data`` (:mod:`server.compat.views`), and the set-ups they share across workers
(:mod:`server.compat.setups`, which the services hold)."""

from __future__ import annotations

from flask import Flask

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    """Register the seed's routes (imported here: the services import this package's set-ups,
    and the routes import the services)."""
    from server.compat.views import init_app as register

    register(app)
