"""Gridlight's API described: the OpenAPI 3.1 document served at ``GET /openapi.json`` and the
Postman collection generated from it (``python -m server.openapi postman --out docs/postman``).

The document is assembled as data: :mod:`server.openapi.schemas` holds the JSON Schemas, error
shapes and the bearer API key; :mod:`server.openapi.paths` one function per route family.
``tests/server/openapi`` checks that it covers every registered route, validates, and matches what the
running server answers (schemathesis).
"""

from __future__ import annotations

import copy
from typing import Any

from flask import Blueprint, Flask, jsonify

from server.openapi.paths import paths
from server.openapi.schemas import COMPONENTS

__all__ = ["VERSION", "blueprint", "build_spec", "init_app"]

VERSION = "1.0.0"

DESCRIPTION = """\
Gridlight streams per-second household power, averaged to the interval a client asks for and
classified as a traffic light (green / yellow / red / critical), over Server-Sent Events; it keeps
a home-screen widget current and alerts owners on spikes.

* Versioned routes (`/api/v1`) answer JSON; errors are `{"error": {"code", "message"}}`.
* The seed's compatibility routes (`/stream_setup`, `/stream_qstats`, `/stream_data`) keep its
  shapes; errors are `{"error": "..."}`.
* Writes need a household API key (`Authorization: Bearer gl_...`) or the session cookie of a
  signed-in owner or member (`POST /api/v1/session`; cookie-authenticated writes send the
  session's `X-CSRF-Token`); viewers read. A meter's readings need the key. In demo mode the
  replayed households are readable without either.
* Apps act for a person with an OAuth 2.0 access token (`Authorization: Bearer glat_...`;
  authorization code with PKCE S256 at `/oauth/authorize`, tokens at `/oauth/token`, metadata at
  `/.well-known/oauth-authorization-server`): the person's role still applies, and each operation
  names the scope it needs (`read`, `write`, `control`, `admin`; else 403 `insufficient_scope`).
* Sign-in, password reset, the token endpoint and failed key or token checks are rate limited:
  429 `rate_limited` with `Retry-After` [s].
* Streams (`text/event-stream`) start with `retry: 3000`; every reading has an `id:`, resumable
  with the `Last-Event-ID` header or `?last_event_id=`; `: ping` comments every 15 s. With
  `limit` and/or `until` a stream ends by itself with `event: end` (for scripts, not EventSource).

Units are in the names: `power_kw` [kW], `interval_s` [s]; a missing reading is `null`, never 0.
"""


def build_spec() -> dict[str, Any]:
    """The OpenAPI 3.1 document (a fresh dict each call)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Gridlight API",
            "version": VERSION,
            "description": DESCRIPTION,
            "license": {"name": "GPL-3.0-or-later", "identifier": "GPL-3.0-or-later"},
        },
        "servers": [{"url": "/", "description": "the server answering this document"}],
        "tags": [
            {"name": "households", "description": "households and their statistics"},
            {"name": "streams", "description": "Server-Sent Events"},
            {"name": "readings", "description": "ingest and history"},
            {"name": "widget", "description": "widget state, push devices, web widget"},
            {"name": "alerts", "description": "alert settings and log"},
            {"name": "control", "description": "devices, commands, schedules, automations"},
            {"name": "insights", "description": "forecast, tariff, cost, carbon, recommendations"},
            {"name": "reports", "description": "monthly PDF reports"},
            {"name": "compatibility", "description": "the seed's routes, same shapes"},
            {"name": "operations", "description": "health, metrics, this document"},
            {"name": "dashboard", "description": "the web dashboard and its app files"},
            {"name": "accounts", "description": "users, sign-in, households' members and roles"},
            {
                "name": "estimates",
                "description": "appliance models that estimate channels from the whole-house "
                "meter (disaggregation), attached by owners from the operator's catalog",
            },
            {
                "name": "oauth",
                "description": "OAuth 2.0: consent, tokens (code + PKCE, rotating refresh), "
                "revocation, metadata",
            },
        ],
        "paths": paths(),
        "components": copy.deepcopy(COMPONENTS),
    }


blueprint = Blueprint("openapi", __name__)


@blueprint.get("/openapi.json")
def openapi_json():  # noqa: ANN201
    return jsonify(build_spec())


def init_app(app: Flask) -> None:
    app.register_blueprint(blueprint)
