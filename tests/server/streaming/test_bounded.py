"""Bounded streams (``?limit=N``, ``?until=T``): they end on purpose, with an ``end`` event that
says why, after exactly ``limit`` reading events (caught-up ones included) or at ``until`` on the
wall clock, live or replayed. In-process (the test client); the served checks are in
``tests/server/openapi/test_streams.py`` and the Postman run."""

from __future__ import annotations

import math
import time

import pytest

from generator.times import format_ts
from server.streaming.bodies import Bound, end_event
from tests.server.streaming.test_bodies import INTERVAL, Stream, make_app, publish, t0

__all__ = ["make_app"]  # the fixture, shared with test_bodies

URL = f"/api/v1/households/A/stream?interval={INTERVAL}"


def rest(stream: Stream) -> list:
    """Every block left until the response ends (it must end by itself)."""
    return list(stream._blocks)


def test_live_limit_ends_after_exactly_n_readings(make_app):
    app = make_app()
    start = t0()
    stream = Stream(app.test_client().get(f"{URL}&limit=3"))
    stream.subscribed()
    publish(app, start, 0, 40)  # 7 windows close at once: the stream takes 3 of them
    blocks = [b for b in rest(stream) if b.event != ""]
    stream.close()
    assert [b.event for b in blocks] == ["reading"] * 3 + ["end"]
    assert [b.json()["ts"] for b in blocks[:3]] == [
        format_ts(start + k * INTERVAL) for k in range(3)
    ]
    end = blocks[-1]
    assert end.id is None
    assert end.json() == {"reason": "limit", "events": 3, "last_event_id": blocks[2].id}
    gl = app.extensions["gridlight"]
    assert gl.metrics.values["gridlight_sse_clients_connected"] == 0  # unsubscribed


def test_live_until_ends_at_that_time_without_readings(make_app):
    app = make_app()
    until = math.ceil(time.time()) + 2
    began = time.monotonic()
    stream = Stream(app.test_client().get(f"{URL}&until={format_ts(until)}"))
    blocks = [b for b in rest(stream) if b.event not in ("", "retry")]
    stream.close()
    assert time.time() >= until
    assert time.monotonic() - began < 10  # ended at until, not at a ping or later
    assert [b.event for b in blocks] == ["end"]
    assert blocks[0].json() == {"reason": "until", "events": 0, "last_event_id": None}


def test_live_until_in_epoch_seconds_after_some_readings(make_app):
    app = make_app()
    start = t0()
    until = math.ceil(time.time()) + 2
    stream = Stream(app.test_client().get(f"{URL}&until={until}&limit=100"))
    stream.subscribed()
    publish(app, start, 0, 12)  # 2 windows close
    blocks = [b for b in rest(stream) if b.event not in ("", "retry")]
    stream.close()
    assert [b.event for b in blocks] == ["reading", "reading", "end"]
    assert blocks[-1].json() == {"reason": "until", "events": 2, "last_event_id": blocks[1].id}


@pytest.mark.parametrize("limit", [3, 9])
def test_resume_with_limit_counts_caught_up_events(make_app, limit):
    """After Last-Event-ID, caught-up events count towards the limit; beyond them, live ones."""
    app = make_app()
    start = t0()
    ids = publish(app, start, 0, 36)  # windows 0..5 closed (window 6 in progress)
    # after a reading's id: the windows after the one it belongs to (1, 2)
    first = Stream(app.test_client().get(f"{URL}&limit=2", headers={"Last-Event-ID": ids[0]}))
    head = [b for b in rest(first) if b.event == "reading"]
    first.close()
    assert len(head) == 2
    resumed = Stream(app.test_client().get(f"{URL}&limit={limit}&last_event_id={head[-1].id}"))
    caught_up = resumed.events(min(limit, 3))  # windows 3..5 are history
    if limit > 3:
        publish(app, start, 36, 60)  # live: windows 6..
    blocks = caught_up + [b for b in rest(resumed) if b.event not in ("", "retry")]
    resumed.close()
    readings = [b for b in blocks if b.event == "reading"]
    assert [b.json()["ts"] for b in readings] == [
        format_ts(start + k * INTERVAL) for k in range(3, 3 + limit)
    ]
    assert len(set(b.id for b in readings)) == limit
    assert blocks[-1].event == "end"
    assert blocks[-1].json() == {
        "reason": "limit",
        "events": limit,
        "last_event_id": readings[-1].id,
    }


def test_replay_limit_and_resume(make_app):
    app = make_app()
    url = f"{URL}&start_index=100&speed=1000"
    blocks = [b for b in rest(Stream(app.test_client().get(f"{url}&limit=3"))) if b.event]
    assert [b.event for b in blocks] == ["retry", "reading", "reading", "reading", "end"]
    assert [b.id for b in blocks[1:]] == ["100", "105", "110", None]
    assert blocks[-1].json() == {
        "reason": "limit",
        "events": 3,
        "last_event_id": "110",
        "household": "A",
        "index": 115,
    }
    again = Stream(app.test_client().get(f"{url}&limit=2", headers={"Last-Event-ID": "110"}))
    tail = [b for b in rest(again) if b.event in ("reading", "end")]
    assert [b.id for b in tail] == ["115", "120", None]


def test_replay_until_is_wall_clock_time(make_app):
    """At speed 1 the first window of 5 s closes after 5 s: ``until`` 2 s ahead comes first."""
    app = make_app()
    until = math.ceil(time.time()) + 2
    began = time.monotonic()
    stream = Stream(app.test_client().get(f"{URL}&start_index=100&until={format_ts(until)}"))
    blocks = [b for b in rest(stream) if b.event not in ("", "retry")]
    assert time.time() >= until and time.monotonic() - began < 4.5
    assert [b.event for b in blocks] == ["end"]
    assert blocks[0].json()["reason"] == "until" and blocks[0].json()["index"] == 100


def test_replay_end_of_data_says_so(make_app, dataset):
    app = make_app()
    last = len(dataset.frame("A")) - 7
    stream = Stream(app.test_client().get(f"{URL}&start_index={last}&speed=1000&limit=5"))
    blocks = [b for b in rest(stream) if b.event in ("reading", "end")]
    assert [b.event for b in blocks] == ["reading", "reading", "end"]
    assert blocks[-1].json()["reason"] == "end_of_data"
    assert blocks[-1].json()["events"] == 2


def test_compat_stream_data_takes_limit(make_app):
    app = make_app()
    client = app.test_client()
    setup = client.post(
        "/stream_setup", json={"household": "A", "interval": 5, "start_index": 0, "speed": 1000}
    )
    assert setup.status_code == 200
    stream_id = setup.get_json()["stream_id"]
    blocks = [b for b in rest(Stream(client.get("/stream_data?limit=2"))) if b.event]
    assert [b.event for b in blocks] == ["retry", "message", "message", "end"]
    assert " status: " in blocks[1].data
    assert blocks[-1].json()["reason"] == "limit"
    bad = client.get(f"/stream_data?stream_id={stream_id}&limit=0")
    assert bad.status_code == 400
    assert bad.get_json() == {"error": "limit must be a positive integer, got '0'"}


def test_bound_and_end_event_values():
    now = [1000.0]
    bound = Bound(limit=2, until_s=1010, clock=lambda: now[0])
    assert bound.left_s() == 10 and bound.reached(1) is None
    assert bound.reached(2) == "limit"
    now[0] = 1010.0
    assert bound.reached(0) == "until"
    assert Bound().left_s() is None and Bound().reached(10**9) is None
    assert end_event("limit", 2, "7-0") == (
        b'event: end\ndata: {"reason": "limit", "events": 2, "last_event_id": "7-0"}\n\n'
    )
