"""``GET /api/v1/households/{h}/stream?interval=S[&start_index=N][&speed=X][&limit=N][&until=T]``
(SSE).

Live without ``start_index`` (resumable with ``Last-Event-ID`` or ``?last_event_id=``); with it, a
replay of the dataset for this client alone. ``limit`` and ``until`` bound the response (for
scripts: it ends with an ``end`` event after ``limit`` readings or at ``until``, wall-clock time,
whichever first). Everything is validated before the response starts, so bad input gets a JSON
error with its status rather than a broken stream.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

from flask import Blueprint, Response, current_app, request, stream_with_context

from server.api.params import (
    last_event_id,
    parse_interval,
    parse_limit,
    parse_live_id,
    parse_replay_id,
    parse_speed,
    parse_start_index,
    parse_until,
)
from server.auth import require_read
from server.errors import InvalidParameter
from server.ingest.history import NotEnoughHistory
from server.services import Services, state
from server.streaming.bodies import UNBOUNDED, Bound, encoder, live_stream, replay_stream
from server.streaming.direct import socket_writer
from server.streaming.hub import Channel
from server.streaming.sse import HEADERS

__all__ = ["open_stream", "parse_bound", "register"]


def sse_response(body: Iterator[bytes]) -> Response:
    response = Response(stream_with_context(body), headers=HEADERS)
    response.headers["X-Gridlight-Worker"] = str(os.getpid())
    return response


def parse_bound() -> Bound:
    """``?limit=`` and ``?until=`` of this request, validated (either may be absent)."""
    cfg = current_app.config
    limit = parse_limit(request.args.get("limit"), cfg["MAX_STREAM_LIMIT"])
    until_s = parse_until(request.args.get("until"), time.time(), cfg["MAX_STREAM_UNTIL_S"])
    if limit is None and until_s is None:
        return UNBOUNDED
    return Bound(limit=limit, until_s=until_s)


def open_stream(
    gl: Services,
    household: str,
    interval_s: int,
    start_index: int | None,
    speed: float,
    fmt: str,
    bound: Bound = UNBOUNDED,
) -> Iterator[bytes]:
    """Validated arguments → the SSE body (live or replay). Raises for bad ids.

    A bounded live stream never goes straight to the socket (its greenlet counts every event)."""
    info = gl.households.info(household)
    raw_id = last_event_id()
    if start_index is not None:
        resume = None if raw_id is None else parse_replay_id(raw_id, start_index, interval_s)

        def load():  # noqa: ANN202
            return gl.households.replayable(household), gl.stats.get(household, interval_s)

        return replay_stream(
            gl.hub, gl.settings, fmt, load, interval_s, start_index, speed, resume, bound=bound
        )
    if speed != 1.0:
        raise InvalidParameter("speed applies to replays only: give start_index as well")
    last = None if raw_id is None else parse_live_id(raw_id)

    def open_channel() -> Channel:
        try:
            stats = gl.stats.get(household, interval_s)
        except NotEnoughHistory:  # a live household still learning: values now, levels later
            stats = None
        ref = gl.learning.ref(household, interval_s, stats)
        return gl.hub.channel(
            household,
            tuple(info.channels),
            interval_s,
            fmt,
            encoder(fmt, household, ref, info.estimated),
        )

    writer = socket_writer(request.environ) if bound == UNBOUNDED else None
    return live_stream(gl.hub, gl.settings, open_channel, last, writer, bound)


def stream(household: str) -> Response:
    gl = state()
    cfg = current_app.config
    gl.households.info(household)
    require_read(household)
    if gl.households.is_live(household):  # its history read off the request greenlet
        try:
            gl.stats.runner(lambda: gl.households.dataset(household))
        except NotEnoughHistory:
            pass  # streams at once while learning (server.streaming.learning)
    interval_s = parse_interval(request.args.get("interval"), cfg["MAX_INTERVAL_S"])
    raw_start = request.args.get("start_index")
    start_index = None
    if raw_start not in (None, ""):
        start_index = parse_start_index(raw_start, gl.households.replayable(household).span_s)
    speed = parse_speed(request.args.get("speed"), cfg["MAX_SPEED"])
    bound = parse_bound()
    return sse_response(open_stream(gl, household, interval_s, start_index, speed, "v1", bound))


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/households/<household>/stream", view_func=stream)
