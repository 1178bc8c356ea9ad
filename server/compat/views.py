"""The seed's routes, kept for its Postman and UI users: same requests, same response shapes.

* ``POST /stream_setup`` ``{"household": "A", "interval": 5[, "start_index": N[, "speed": X]]}`` →
  ``{"status": "Streaming setup and stats calculation successful", "stream_id": "..."}`` and a
  ``stream_id`` cookie. Each client's set-up is its own, stored where every worker sees it.
  A household other than an open demo one needs its key (``Authorization: Bearer``) here.
* ``GET /stream_qstats`` → the quick statistics at the set-up's interval.
* ``GET /stream_data`` → SSE lines ``data: {values} status: {colours}`` (colours ``Green``,
  ``Yellow``, ``Red``, ``Critical Red``); a missing value is ``null`` and ``Critical Red``. Live
  without ``start_index``, a replay from it otherwise; resumable like the versioned stream;
  ``?limit=N`` / ``?until=T`` end it as they end the versioned stream.

The set-up is chosen by ``?stream_id=`` or else the cookie. Errors are ``{"error": "..."}``.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from server.api.params import json_body, parse_interval, parse_speed, parse_start_index
from server.api.streams import open_stream, parse_bound, sse_response
from server.auth import require_read, require_still_readable
from server.compat.setups import Setup, new_stream_id, valid_stream_id
from server.errors import GridlightError, InvalidParameter, SetupNotFound, UnknownHousehold
from server.services import state

__all__ = ["COOKIE", "init_app"]

COOKIE = "stream_id"
SETUP_OK = "Streaming setup and stats calculation successful"

bp = Blueprint("compat", __name__)


@bp.errorhandler(GridlightError)
def _gridlight_error(err: GridlightError) -> tuple[Response, int]:
    return jsonify({"error": err.message}), err.status


@bp.errorhandler(HTTPException)
def _http_error(err: HTTPException) -> tuple[Response, int]:
    return jsonify({"error": err.description or err.name}), err.code or 500


def _setup() -> tuple[str, Setup]:
    stream_id = request.args.get("stream_id") or request.cookies.get(COOKIE)
    if not stream_id:
        raise SetupNotFound("First try stream_setup.")
    if not valid_stream_id(stream_id):
        raise InvalidParameter(f"invalid stream_id {stream_id!r}")
    setup = state().setups.get(stream_id)
    if setup is None:
        raise SetupNotFound("First try stream_setup.")
    require_still_readable(setup.household, setup.key_id)  # its key may have been revoked
    return stream_id, setup


@bp.post("/stream_setup")
def stream_setup() -> Response:
    gl = state()
    body = json_body()
    household = body.get("household")
    if not isinstance(household, str) or not household:
        raise InvalidParameter(f"household must be a household id such as 'A', got {household!r}")
    try:
        gl.households.info(household)
    except UnknownHousehold as err:
        raise InvalidParameter(err.message) from None  # the seed answered 400 here
    granted_by = require_read(household)  # the set-up is then the capability to read it
    interval_s = parse_interval(body.get("interval"), current_app.config["MAX_INTERVAL_S"])
    start_index = None
    if body.get("start_index") is not None:  # a replay; a live household has none (400)
        span_s = gl.households.replayable(household).span_s
        start_index = parse_start_index(body["start_index"], span_s)
    speed = parse_speed(body.get("speed"), current_app.config["MAX_SPEED"])
    if speed != 1.0 and start_index is None:
        raise InvalidParameter("speed applies to replays only: give start_index as well")
    gl.stats.get(household, interval_s)  # "stats calculation": fail now, cache for later
    stream_id = new_stream_id()
    gl.setups.put(stream_id, Setup(household, interval_s, start_index, speed, granted_by))
    response = jsonify({"status": SETUP_OK, "stream_id": stream_id})
    response.set_cookie(COOKIE, stream_id, max_age=7 * 86_400, httponly=True, samesite="Lax")
    return response


@bp.get("/stream_qstats")
def stream_qstats() -> Response:
    _, setup = _setup()
    return jsonify(state().stats.report(setup.household, setup.interval_s))


@bp.get("/stream_data")
def stream_data() -> Response:
    _, setup = _setup()
    gl = state()
    bound = parse_bound()
    body = open_stream(
        gl, setup.household, setup.interval_s, setup.start_index, setup.speed, "legacy", bound
    )
    return sse_response(body)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
