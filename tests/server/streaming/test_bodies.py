"""Live streams in-process (in-process broker, readings published by the test): windows,
priming, lossless resume across the catch-up/live hand-over, resync, slow clients, pings."""

from __future__ import annotations

import json
import math
import threading
import time

import pytest
from numpy.testing import assert_allclose

from generator.times import format_ts
from server import create_app
from tests.server.streaming.sse_client import parse_blocks

INTERVAL = 5


@pytest.fixture
def make_app(server_data_dir, stats_cache_dir):  # noqa: ANN201
    apps = []

    def make(**config):  # noqa: ANN003, ANN202
        app = create_app(
            {
                "TESTING": True,
                "DATA_DIR": str(server_data_dir),
                "STATS_CACHE_DIR": str(stats_cache_dir),
                "REDIS_URL": None,
                "PING_INTERVAL_S": 0.2,
                "DEMO": True,  # households A, B and C readable without a key
                "EMBEDDED_REPLAY": False,
                "WARM_STATS": False,
                **config,
            }
        )
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["gridlight"].stop()


def t0() -> int:
    """A window-aligned second in the future (so no window closes on the clock)."""
    now = math.ceil(time.time()) + 3600
    return now - now % INTERVAL


def power(i: int) -> dict:
    return {"AC": (i % 7) * 0.25, "Geyser": 0.0 if i % 3 else 2.0, "Overall": 1.0 + i * 0.01}


def publish(app, start: int, first: int, n: int) -> list[str]:  # noqa: ANN001
    broker = app.extensions["gridlight"].broker
    return [
        broker.publish("A", {"ts": format_ts(start + i), "power_kw": power(i)})
        for i in range(first, first + n)
    ]


class Stream:
    """Reads a streamed test-client response block by block, bounded by a deadline."""

    def __init__(self, response) -> None:  # noqa: ANN001
        self.response = response
        self._chunks = iter(response.response)
        self._blocks = parse_blocks(self._lines())

    def _lines(self):  # noqa: ANN202
        buf = ""
        for chunk in self._chunks:
            buf += chunk.decode()
            *lines, buf = buf.split("\n")
            yield from lines

    def events(self, n: int, timeout_s: float = 20, kinds=("reading",)) -> list:  # noqa: ANN001
        deadline = time.monotonic() + timeout_s
        out = []
        while len(out) < n:
            assert time.monotonic() < deadline, f"got {len(out)} of {n} events in time"
            block = next(self._blocks)  # pings every 0.2 s keep this loop moving
            if block.event in kinds:
                out.append(block)
        return out

    def subscribed(self) -> None:
        """Wait for the first ping: sent after the stream has subscribed to live events."""
        self.events(1, kinds=("",))

    def close(self) -> None:
        self.response.close()


def expected_window(start: int, k: int) -> dict:
    rows = [power(i) for i in range(k * INTERVAL, (k + 1) * INTERVAL)]
    return {c: sum(r[c] for r in rows) / INTERVAL for c in rows[0]}


def test_live_windows_priming_and_values(make_app):
    app = make_app()
    start = t0()
    publish(app, start, 0, 3)  # a window in progress before anyone connects
    stream = Stream(app.test_client().get(f"/api/v1/households/A/stream?interval={INTERVAL}"))
    assert stream.response.headers["Cache-Control"] == "no-cache"
    assert stream.response.headers["X-Accel-Buffering"] == "no"
    assert stream.response.mimetype == "text/event-stream"
    first = next(stream._chunks)
    assert first == b"retry: 3000\n\n"
    stream.subscribed()
    publish(app, start, 3, 30)
    events = stream.events(6)
    stream.close()
    for k, event in enumerate(events):
        body = event.json()
        assert event.id is not None
        assert body["ts"] == format_ts(start + k * INTERVAL)
        assert body["interval_s"] == INTERVAL and "index" not in body
        assert_allclose(
            [body["power_kw"][c] for c in ("AC", "Geyser", "Overall")],
            [expected_window(start, k)[c] for c in ("AC", "Geyser", "Overall")],
            atol=1e-6,
        )
        assert set(body["level"].values()) <= {"green", "yellow", "red", "critical"}
    ids = [e.id for e in events]
    assert ids == sorted(ids, key=lambda i: tuple(map(int, i.split("-"))))


def test_pings_carry_no_id(make_app):
    app = make_app()
    stream = Stream(app.test_client().get(f"/api/v1/households/A/stream?interval={INTERVAL}"))
    pings = stream.events(2, kinds=("",))
    stream.close()
    assert all(p.comments == ["ping"] and p.id is None for p in pings)


def test_disconnect_and_resume_loses_nothing(make_app):
    app = make_app()
    start = t0()
    url = f"/api/v1/households/A/stream?interval={INTERVAL}"
    stream = Stream(app.test_client().get(url))
    stream.subscribed()
    publish(app, start, 0, 21)
    before = stream.events(3)
    stream.close()
    publish(app, start, 21, 40)  # while the client is away
    resumed = Stream(app.test_client().get(url, headers={"Last-Event-ID": before[-1].id}))
    publisher = threading.Thread(target=publish, args=(app, start, 61, 40))
    publisher.start()  # and more while it catches up
    after = resumed.events(16)
    publisher.join()
    resumed.close()
    starts = [json.loads(e.data)["ts"] for e in before + after]
    assert starts == [format_ts(start + k * INTERVAL) for k in range(19)]
    # ?last_event_id= works like the header
    again = Stream(app.test_client().get(f"{url}&last_event_id={after[4].id}"))
    assert [e.id for e in again.events(3)] == [e.id for e in after[5:8]]
    again.close()


def test_empty_window_ids_resume_too(make_app):
    app = make_app()
    start = t0()
    broker = app.extensions["gridlight"].broker
    stream = Stream(app.test_client().get(f"/api/v1/households/A/stream?interval={INTERVAL}"))
    stream.subscribed()
    broker.publish("A", {"ts": format_ts(start), "power_kw": power(0)})
    broker.publish("A", {"ts": format_ts(start + 17), "power_kw": power(1)})  # 2 empty windows
    broker.publish("A", {"ts": format_ts(start + 20), "power_kw": power(2)})
    events = stream.events(4)
    stream.close()
    assert [e.json()["worst"] for e in events[1:3]] == ["critical", "critical"]
    assert events[1].json()["power_kw"] == {"AC": None, "Geyser": None, "Overall": None}
    resumed = Stream(
        app.test_client().get(
            f"/api/v1/households/A/stream?interval={INTERVAL}",
            headers={"Last-Event-ID": events[1].id},
        )
    )
    assert [e.id for e in resumed.events(2)] == [events[2].id, events[3].id]
    resumed.close()


def test_id_older_than_history_gets_resync(make_app):
    app = make_app(HISTORY_LEN=20)
    start = t0()
    ids = publish(app, start, 0, 100)
    stream = Stream(
        app.test_client().get(
            f"/api/v1/households/A/stream?interval={INTERVAL}", headers={"Last-Event-ID": ids[0]}
        )
    )
    (resync,) = stream.events(1, kinds=("resync",))
    assert resync.id is None and "older than" in resync.json()["reason"]
    stream.subscribed()
    publish(app, start, 100, 10)
    live = stream.events(1)
    stream.close()
    assert live[0].json()["ts"] == format_ts(start + 100)


def test_slow_client_is_disconnected_not_buffered(make_app):
    app = make_app(CLIENT_QUEUE_LEN=2)
    gl = app.extensions["gridlight"]
    start = t0()
    stream = Stream(app.test_client().get(f"/api/v1/households/A/stream?interval={INTERVAL}"))
    stream.subscribed()
    publish(app, start, 0, 60)  # 11 windows close; the client reads none of them
    deadline = time.monotonic() + 10
    while gl.metrics.values["gridlight_sse_slow_clients_dropped_total"] < 1:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    rest = b"".join(stream._chunks)  # the stream ends by itself
    assert rest.count(b"event: reading") <= 2
    assert gl.metrics.values["gridlight_sse_clients_connected"] == 0


def test_idle_channels_are_forgotten(make_app):
    app = make_app()
    hub = app.extensions["gridlight"].hub
    hub.idle_channel_s = 0.0

    def encode(window) -> bytes:  # noqa: ANN001
        return b""

    channel = hub.channel("A", ("AC",), INTERVAL, "v1", encode)
    sub = channel.subscribe(4)
    assert sub is not None
    channel.unsubscribe(sub)
    start = t0()
    deadline = time.monotonic() + 10
    i = 0
    while hub.channels_of("A"):
        assert time.monotonic() < deadline, "the idle channel was never closed"
        publish(app, start, i, 1)  # the reader looks at idle channels after each batch
        i += 1
        time.sleep(0.01)
    assert channel.closed and channel.subscribe(4) is None
    assert hub.channel("A", ("AC",), INTERVAL, "v1", encode) is not channel


def test_replay_resumes_after_its_id_and_ends_with_the_data(make_app, dataset):
    app = make_app()
    frame = dataset.frame("A", faulty=True)
    url = f"/api/v1/households/A/stream?interval={INTERVAL}&start_index=100&speed=1000"
    stream = Stream(app.test_client().get(url, headers={"Last-Event-ID": "110"}))
    events = stream.events(3)
    stream.close()
    assert [e.id for e in events] == ["115", "120", "125"]
    for e in events:
        body = e.json()
        assert body["index"] == int(e.id)
        assert body["ts"] == format_ts(int(frame.index[body["index"]].timestamp()))
        expected = frame.iloc[body["index"] : body["index"] + INTERVAL].mean()
        for channel, value in body["power_kw"].items():
            if math.isnan(expected[channel]):
                assert value is None and body["level"][channel] == "critical"
            else:
                assert_allclose(value, expected[channel], atol=1e-6)
    last = len(frame) - 7  # 7 s left: a full window, then a partial one, then the end
    tail = Stream(
        app.test_client().get(f"{url.split('&start_index')[0]}&start_index={last}&speed=1000")
    )
    blocks = tail.events(3, kinds=("reading", "end"))
    assert [b.event for b in blocks] == ["reading", "reading", "end"]
    assert [b.id for b in blocks] == [str(last), str(last + 5), None]
    assert next(tail._blocks, None) is None  # the stream is over
    tail.close()
