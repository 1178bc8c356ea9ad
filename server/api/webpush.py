"""Web Push subscriptions of the dashboard installed as a web app (:mod:`server.push.webpush`).

* ``GET /api/v1/webpush/key`` → ``{"public_key"}``: the installation's VAPID public key, the
  ``applicationServerKey`` a page subscribes with (open: it is public).
* ``POST /api/v1/households/{h}/webpush`` with ``PushSubscription.toJSON()`` → 201 (new) or 200
  (keys refreshed): the household's alerts are pushed to that browser while its alert settings
  enable push. Needs the household's key or a signed-in member, as widget devices do.
* ``DELETE /api/v1/households/{h}/webpush`` ``{"endpoint"}`` → ``{"removed"}``.
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify

from server.api.params import json_body
from server.auth import require_key
from server.push.webpush import (
    WebPushRemoval,
    WebPushSubscription,
    application_server_key,
    endpoint_ref,
    vapid_private_key,
)
from server.services import state
from server.validation import parse

__all__ = ["register"]

log = logging.getLogger(__name__)


def public_key():  # noqa: ANN201
    return jsonify(
        {"public_key": application_server_key(vapid_private_key(current_app.secret_key))}
    )


def subscribe(household: str):  # noqa: ANN201
    gl = state()
    gl.households.info(household)  # 404 first
    require_key(household)
    sub = parse(WebPushSubscription, json_body())
    created = gl.webpush.add(household, sub)
    limit = int(current_app.config["WEBPUSH_MAX_PER_HOUSEHOLD"])
    subs = gl.webpush.subscriptions(household)
    for old in subs[: max(len(subs) - limit, 0)]:  # oldest first
        gl.webpush.remove(household, old.endpoint)
    log.info(
        "%s web push subscription %s for %s",
        "added" if created else "refreshed",
        endpoint_ref(sub.endpoint),
        household,
    )
    body = {"household": household, "subscribed": True, "created": created}
    return jsonify(body), 201 if created else 200


def unsubscribe(household: str):  # noqa: ANN201
    gl = state()
    gl.households.info(household)
    require_key(household)
    endpoint = parse(WebPushRemoval, json_body()).endpoint
    removed = gl.webpush.remove(household, endpoint)
    log.info(
        "removed web push subscription %s of %s: %s", endpoint_ref(endpoint), household, removed
    )
    return jsonify({"household": household, "removed": removed})


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/webpush/key", view_func=public_key, methods=["GET"])
    bp.add_url_rule("/households/<household>/webpush", view_func=subscribe, methods=["POST"])
    bp.add_url_rule("/households/<household>/webpush", view_func=unsubscribe, methods=["DELETE"])
