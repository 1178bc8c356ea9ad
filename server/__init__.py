"""Gridlight's server: the Flask app, streams, statistics, ingest, storage and API.

:func:`create_app` is the one wiring point: it reads the configuration (:func:`server.config.load`:
defaults → environment → ``test_config``), registers the core's routes and every feature
package's extension, and starts nothing. The threads and connections that run in the
background (replay, readers' pingers, ingest, alert evaluator, push sender, retention) belong to
the services object ``app.extensions["gridlight"]`` (:class:`server.services.Services`), started
by gunicorn's ``post_worker_init`` hook, by ``python -m server run`` or by a test with
:func:`server.services.start` / ``services.start()``.

Feature packages that sit above the server (the widget API) are found by their entry point in
the ``gridlight.extensions`` group (``pyproject.toml``), so that nothing in ``server/`` imports
them.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Any

from flask import Flask

from server import config

__all__ = ["create_app"]

#: Entry-point group of the packages that extend the app from above (the widget API).
EXTENSIONS_GROUP = "gridlight.extensions"


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(config.load(test_config))
    app.json.sort_keys = False  # keep the seed's key order in the compatibility responses

    from server import auth, compat, compression, cors, errors, limits, openapi
    from server.alerts import Alerts
    from server.api import init_app as init_api
    from server.ingest import Ingest
    from server.insights.extension import Insights
    from server.services import Services

    errors.init_app(app)
    compression.init_app(app)  # JSON, scripts, styles; never streams nor pages
    limits.init_app(app)  # rate limits: sign-in, reset, tokens, failed key checks
    auth.init_app(app)
    Services(app)
    Ingest(app)
    init_api(app)
    for entry in sorted(entry_points(group=EXTENSIONS_GROUP), key=lambda e: e.name):
        entry.load()(app)
    Alerts(app)
    # live disaggregation: estimates of attached appliance models as Overall readings arrive
    from server.estimates import Estimates

    Estimates(app)
    Insights(app)  # insights: forecast, tariff, recommendations (after Ingest: readings' cost)
    # control: devices, commands, Home Assistant, schedules (planned on the insights' tariff,
    # carbon and forecast), automations
    from server.control import Control

    Control(app)
    # reports: after the alerts and insights, whose settings, log and tariffs it reads
    from server.reports import Reports

    Reports(app)
    # accounts: users, sessions, roles on households (auth's session hook)
    from server.accounts import Accounts

    Accounts(app)
    compat.init_app(app)
    openapi.init_app(app)
    cors.init_app(app)
    return app
