"""The seed's routes for its existing clients: ``/stream_setup``, ``/stream_qstats``,
``/stream_data`` (:mod:`server.compat.views`), and the set-ups they share across workers
(:mod:`server.compat.setups`)."""

from server.compat.views import init_app

__all__ = ["init_app"]
