"""The widget-facing routes.

* ``GET /api/v1/households/{h}/widget[?interval=60]`` — the widget state (see
  :mod:`widget_api.state`), with a strong ``ETag``; ``If-None-Match`` → ``304`` without a body.
* ``POST /api/v1/households/{h}/devices`` ``{"token", "platform"}`` → 201 (new) or 200 (already
  registered); ``DELETE`` with ``{"token"}`` → 200 ``{"removed": true|false}``. Both need the
  household's API key (:mod:`server.auth`).
* ``GET /widget/{h}[?interval=5]`` — the same widget as a web page, live over SSE
  (:mod:`widget_api.page`).

Errors use the API's JSON shape. Browser CORS headers come from :mod:`server.cors` (``ETag`` is
exposed; in demo mode ``*`` on the read-only routes).
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, jsonify, request

from server.api.params import json_body, parse_interval
from server.auth import is_open_demo, require_key, require_read
from server.push.devices import DeviceRegistration, DeviceRemoval, token_ref
from server.services import state as gridlight
from server.validation import parse
from widget_api.page import render_page

__all__ = ["blueprint"]

log = logging.getLogger(__name__)
blueprint = Blueprint("widget_api", __name__)


def _api():  # noqa: ANN202
    return current_app.extensions["widget_api"]


def _interval(default_s: int) -> int:
    cfg = current_app.config
    raw = request.args.get("interval")
    return parse_interval(default_s if raw is None else raw, cfg["WIDGET_MAX_INTERVAL_S"])


def widget_body(household: str, interval_s: int) -> tuple[bytes, str]:
    gl = gridlight()
    info = gl.households.info(household)
    return _api().states.get(
        gl.broker,
        info,
        lambda: gl.stats.get(household, interval_s),
        interval_s,
        _api().clock(),
        float(current_app.config["SILENT_GRACE_S"]),
    )


@blueprint.get("/api/v1/households/<household>/widget")
def widget(household: str) -> Response:
    gl = gridlight()
    gl.households.info(household)  # 404 first
    interval_s = _interval(int(current_app.config["WIDGET_INTERVAL_S"]))
    require_read(household)
    body, etag = widget_body(household, interval_s)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if request.if_none_match.contains_weak(etag.strip('"')):
        return Response(status=304, headers=headers)
    return Response(body, status=200, headers=headers, mimetype="application/json")


def _device_request(household: str) -> dict:
    gl = gridlight()
    gl.households.info(household)
    require_key(household)
    return json_body()


@blueprint.post("/api/v1/households/<household>/devices")
def register_device(household: str):  # noqa: ANN201
    body = parse(DeviceRegistration, _device_request(household))
    token, platform = body.token, body.platform
    created = _api().devices.register(household, token, platform)
    log.info(
        "%s push token %s for %s (%s)",
        "registered" if created else "refreshed",
        token_ref(token),
        household,
        platform,
    )
    out = {"household": household, "platform": platform, "registered": True, "created": created}
    return jsonify(out), 201 if created else 200


@blueprint.delete("/api/v1/households/<household>/devices")
def unregister_device(household: str):  # noqa: ANN201
    token = parse(DeviceRemoval, _device_request(household)).token
    removed = _api().devices.unregister(household, token)
    log.info("removed push token %s of %s: %s", token_ref(token), household, removed)
    return jsonify({"household": household, "removed": removed})


@blueprint.get("/widget/<household>")
def page(household: str) -> Response:
    gl = gridlight()
    gl.households.info(household)
    cfg = current_app.config
    interval_s = _interval(int(cfg["WIDGET_PAGE_INTERVAL_S"]))
    initial = None
    if is_open_demo(household):
        body, _ = widget_body(household, interval_s)
        initial = body.decode()
    html = render_page(household, interval_s, initial)
    return Response(html, mimetype="text/html")
