"""Gridlight's server: the Flask app, streams, statistics, ingest, storage and API.

:func:`create_app` is the one wiring point. Configuration, lowest precedence first:
:mod:`server.config` defaults; the environment (``GRIDLIGHT_*`` with the prefix stripped, plus
``PORT``, ``REDIS_URL`` and ``MQTT_URL``); then ``test_config``, which wins. Nothing connects
at import time: the extensions are connected by their ``init_app(app)``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

from server.config import household_list

__all__ = ["create_app"]

CONVENTIONAL_ENV = ("PORT", "REDIS_URL", "MQTT_URL")


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_object("server.config")
    app.config.from_prefixed_env("GRIDLIGHT")
    for name in CONVENTIONAL_ENV:
        if os.environ.get(name):
            app.config[name] = int(os.environ[name]) if name == "PORT" else os.environ[name]
    if test_config is not None:
        app.config.update(test_config)
    app.config["DEMO_HOUSEHOLDS"] = household_list(app.config["DEMO_HOUSEHOLDS"])
    app.json.sort_keys = False  # keep the seed's key order in the compatibility responses

    from server import compat, cors, errors, openapi
    from server.alerts import Alerts
    from server.api import init_app as init_api
    from server.extension import Gridlight
    from server.ingest import Ingest
    from widget_api import WidgetApi

    errors.init_app(app)
    Gridlight(app)
    Ingest(app)
    init_api(app)
    WidgetApi(app)
    Alerts(app)
    compat.init_app(app)
    openapi.init_app(app)
    cors.init_app(app)
    return app
