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

from typing import Annotated, Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from pydantic import BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError
from werkzeug.exceptions import HTTPException

from server import config
from server.api.params import json_body, parse_interval, parse_speed, parse_start_index
from server.api.streams import open_stream, parse_bound, sse_response
from server.auth import require_read, require_still_readable
from server.compat.setups import Setup, new_stream_id, valid_stream_id
from server.errors import GridlightError, InvalidParameter, SetupNotFound, UnknownHousehold
from server.services import state
from server.validation import Body, describe, expect

__all__ = ["COOKIE", "StreamSetup", "init_app"]

COOKIE = "stream_id"
SETUP_OK = "Streaming setup and stats calculation successful"

bp = Blueprint("compat", __name__)


def _blank(value: Any) -> Any:
    return None if value == "" else value


def _digits(value: Any) -> Any:
    """The seed's clients send whole numbers as strings too ("5")."""
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        return int(value.strip())
    return value


def _decimal(value: Any) -> Any:
    """The seed's clients send numbers as strings too ("2.5")."""
    if isinstance(value, str | bool):
        try:
            return float(value)
        except ValueError:
            return value
    return value


_HOUSEHOLD_WHAT = "a household id such as 'A'"
Household = Annotated[
    str, Field(min_length=1, description=_HOUSEHOLD_WHAT, examples=["A"]), expect(_HOUSEHOLD_WHAT)
]


class StreamSetup(Body):
    """The seed's stream set-up. The limits that depend on the configuration (the longest
    interval, the fastest replay: the schema shows the defaults) and on the data (its span, for
    start_index) are checked by the route."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={"examples": [{"household": "A", "interval": 5, "start_index": 195950}]},
    )

    household: Household
    interval: Annotated[
        int,
        Field(ge=1, description="a whole number of seconds, e.g. 5 [s]"),
        BeforeValidator(_digits),
        expect("a positive whole number of seconds"),
    ]
    start_index: Annotated[
        Annotated[int, Field(ge=0)] | None,
        Field(description="dataset second to replay from; live without it"),
        BeforeValidator(_digits),
        BeforeValidator(_blank),
        expect("a dataset second (a whole number, 0 or more)"),
    ] = None
    speed: Annotated[
        Annotated[float, Field(gt=0, json_schema_extra={"maximum": config.MAX_SPEED})] | None,
        Field(description="replay speed: dataset seconds per second (replays only)"),
        BeforeValidator(_decimal),
        BeforeValidator(_blank),
        expect("a positive number"),
    ] = None


_household = TypeAdapter(Household)


@bp.errorhandler(GridlightError)
def _gridlight_error(err: GridlightError) -> tuple[Response, int]:
    response = jsonify({"error": err.message})
    challenge = getattr(err, "www_authenticate", None)  # 401 and insufficient_scope (RFC 6750)
    if challenge is not None:
        response.headers["WWW-Authenticate"] = challenge()
    retry_after_s = getattr(err, "retry_after_s", None)  # 429 (server.limits)
    if retry_after_s is not None:
        response.headers["Retry-After"] = str(retry_after_s)
    return response, err.status


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


def _granted(household: str) -> str | None:
    try:
        state().households.info(household)
    except UnknownHousehold as err:
        raise InvalidParameter(err.message) from None  # the seed answered 400 here
    return require_read(household)  # the set-up is then the capability to read it


@bp.post("/stream_setup")
def stream_setup() -> Response:
    gl = state()
    body = json_body()
    try:
        asked = StreamSetup.model_validate(body)
    except ValidationError as err:
        try:  # as before: an unknown household, or its missing key, comes first
            household = _household.validate_python(body.get("household"))
        except ValidationError:
            pass
        else:
            _granted(household)
        raise InvalidParameter(describe(err)) from None
    household = asked.household
    granted_by = _granted(household)
    cfg = current_app.config
    interval_s = parse_interval(asked.interval, cfg["MAX_INTERVAL_S"])
    start_index = None
    if asked.start_index is not None:  # a replay; a live household has none (400)
        span_s = gl.households.replayable(household).span_s
        start_index = parse_start_index(asked.start_index, span_s)
    speed = parse_speed(asked.speed, cfg["MAX_SPEED"])
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
