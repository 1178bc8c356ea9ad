"""The dashboard: ``GET /`` serves a one-page web app over the versioned API.

``Dashboard(app)`` (loaded by :func:`server.create_app` through the ``gridlight.extensions``
entry point ``dashboard = "server.dashboard:Dashboard"``) registers :mod:`server.dashboard.views`:
the page (a Jinja template), its scripts and styles (``static/``, small ES modules, no build
step), Plotly's JavaScript from the ``plotly`` Python package (no CDN), the web manifest, the icons
and the service worker that caches the shell. Everything the page shows comes from the JSON API
(``/api/v1/...``) and the household's SSE stream; nothing here reads storage.

This first version has no sign-in (the accounts issue, #15): demo households are read without a
key in demo mode, and for any other household the user pastes its API key once; the page keeps it
in the browser's ``localStorage`` and sends it as ``Authorization: Bearer``. The stream is read
with ``fetch`` (``EventSource`` cannot send that header), resuming with ``Last-Event-ID``.

Nothing in ``server/`` imports this package (``tests/test_layers.py``).
"""

from __future__ import annotations

from flask import Flask

__all__ = ["Dashboard"]


class Dashboard:
    """Per-app state of the dashboard: ``app.extensions["dashboard"]``."""

    def __init__(self, app: Flask | None = None) -> None:
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        from server import compression
        from server.dashboard import views

        app.extensions["dashboard"] = self
        app.register_blueprint(views.blueprint())
        for endpoint in ("dashboard.static", "dashboard.plotly"):  # compressed once
            compression.unchanging(app, endpoint)
