"""Live streams and estimated channels, served for real: a second worker (its own app on the same
database and Redis, without the estimator) serves a 1 s SSE stream of a live household while the
first worker estimates its AC with a 60 s model attached over HTTP.

* a model attached while the stream is open joins its events (``AC``, marked ``estimated``)
  without reconnecting, and leaves them when detached;
* at 1 s, every event carries the AC estimate of its minute (held), the value a 60 s stream
  shows; a client resuming with ``Last-Event-ID`` gets the same held values.

Readings are back-dated one minute at a time (60 at 1 Hz), so the windows close as they arrive;
each step waits for what it needs (the hub's channel reconfigured, the estimate in the broker)
with a deadline, never by sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from generator.times import parse_ts
from tests.server.estimates.conftest import TZ, R, ac_entries, cli
from tests.server.estimates.test_http import Browser, add_user
from tests.server.streaming.sse_client import SSE, SSEClient
from tests.wait import wait_for


class Http11(WSGIRequestHandler):
    """Chunked responses on a kept connection, as gunicorn serves streams."""

    protocol_version = "HTTP/1.1"


class Client(SSEClient):
    """The tests' SSE client, its deadlines on the response's socket (http.client lets go of the
    connection's once a response says it closes the connection)."""

    def __init__(self, url: str, headers: dict[str, str], timeout_s: float) -> None:
        super().__init__(url, headers, timeout_s)
        if self.conn.sock is None:
            self.conn.sock = self.response.fp.raw._sock

    def close(self) -> None:
        self.response.close()
        super().close()


@pytest.fixture
def serve() -> Iterator:
    servers = []

    def start(app) -> str:  # noqa: ANN001
        server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Http11)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server, thread in servers:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def connect() -> Iterator:
    """Opens SSE clients and closes every one of them, however the test ends (a failed
    assertion must not leave a socket to a later test's ResourceWarning)."""
    opened: list[Client] = []

    def open_client(url: str, headers: dict[str, str], timeout_s: float = 30) -> Client:
        client = Client(url, headers, timeout_s)
        opened.append(client)
        return client

    yield open_client
    with ExitStack() as closing:  # every one closed, even when one fails to
        for client in opened:
            closing.callback(client.close)


def minute_events(client: SSEClient, start_s: int, timeout_s: float = 30) -> list[SSE]:
    """The reading events of the minute from ``start_s`` (a silent stretch before it comes as
    empty windows first: skipped)."""
    deadline = time.monotonic() + timeout_s
    out: list[SSE] = []
    while len(out) < R:
        block = client.next(deadline)
        if block is None:
            raise EOFError(f"stream ended after {len(out)} events of the minute")
        if block.event == "reading" and parse_ts(block.json()["ts"]) >= start_s:
            out.append(block)
    return out


def readings_of(events: list[SSE]) -> list[dict]:
    return [e.json() for e in events]


def test_an_open_1s_stream_gains_and_loses_an_estimated_channel_and_holds_its_estimate(
    make_app,
    trained,
    tmp_path,
    serve,  # noqa: ANN001
    connect,  # noqa: ANN001
):
    need = trained["model"].context_samples
    overall = trained["overall_kw"]
    estimator = make_app()  # worker 1: the estimator and the owner's API
    streams = make_app(NILM_ENABLED=False)  # worker 2: serves the stream
    gl = estimator.extensions["gridlight"]
    _, key = gl.keys.add_household("L", ("Overall",), timezone=TZ)
    data_dir = estimator.config["DATA_DIR"]
    assert (
        cli("publish", "--model", str(trained["path"]), "--name", "ac-60s", "--data-dir", data_dir)
        == 0
    )
    add_user(estimator, tmp_path, "owner@example.org", "L")
    owner = Browser(estimator, "owner@example.org")
    ingest = estimator.test_client()
    now = int(time.time())
    t0 = now - now % 86_400 - 2 * 86_400 + trained["offset_s"] % 86_400

    def minute(i: int) -> int:
        return t0 + i * R

    def post_minutes(first: int, last: int, *, per_second: bool) -> None:
        rows = []
        for i in range(first, last):
            seconds = range(R) if per_second else range(1)
            rows += [
                {"ts": minute(i) + s, "power_kw": {"Overall": float(overall[i])}} for s in seconds
            ]
        r = ingest.post(
            "/api/v1/households/L/readings",
            json={"readings": rows},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert r.status_code == 200, r.get_data(as_text=True)

    post_minutes(0, need - 1, per_second=False)  # history: one reading a minute
    base = serve(streams)
    auth = {"Authorization": f"Bearer {key}"}
    client = connect(f"{base}/api/v1/households/L/stream?interval=1", auth)
    assert client.status == 200
    hub = streams.extensions["gridlight"].hub

    def sse_channels() -> list:
        # the stream's own channel; a household still learning its statistics also has the
        # learner's following at 1 s (format "window"), opened on its own thread
        return [c for c in hub.channels_of("L") if c.interval_s == 1 and c.fmt == "v1"]

    wait_for(lambda: bool(sse_channels()), what="the 1 s channel", timeout_s=30.0)
    (channel,) = sse_channels()
    # subscribed (a live stream gets the windows that close after it subscribes)
    wait_for(lambda: bool(channel.subscribers), what="the stream subscribed", timeout_s=30.0)

    # minute need-1 before any model: Overall alone, nothing marked
    post_minutes(need - 1, need, per_second=True)
    events = readings_of(minute_events(client, minute(need - 1)))
    assert [parse_ts(e["ts"]) for e in events] == [minute(need - 1) + s for s in range(R)]
    assert all(set(e["power_kw"]) == {"Overall"} and "estimated" not in e for e in events)

    # attached over HTTP on worker 1: worker 2's open stream takes the channel up, unreconnected
    r = owner.write("PUT", "/api/v1/households/L/estimates/AC", json={"model": "ac-60s"})
    assert r.status_code == 200, r.get_json()
    wait_for(lambda: "AC" in channel.channels, what="worker 2's channel to gain AC", timeout_s=30.0)
    assert channel.agg.held == {"AC": R}
    engine = estimator.extensions["estimates"].engine
    wait_for(
        lambda: (
            "L" in engine.job.followings
            and engine.job.followings["L"].subscribed.is_set()
            and "AC" in engine.listener("L").models
        ),
        what="the estimator to follow L",
        timeout_s=30.0,
    )
    post_minutes(need, need + 1, per_second=True)  # closes model window `need`: estimated
    events = readings_of(minute_events(client, minute(need)))
    assert [parse_ts(e["ts"]) for e in events] == [minute(need) + s for s in range(R)]
    assert all(e["estimated"] == ["AC"] and e["power_kw"]["AC"] is None for e in events)
    wait_for(
        lambda: len(ac_entries(estimator, "L")) == 1,
        what="the estimate of minute `need`",
        timeout_s=30.0,
    )
    ((at_s, value, _),) = ac_entries(estimator, "L")
    assert at_s == minute(need + 1)  # written at the start of the next minute

    # the next minute at 1 s: each event carries that estimate, held (the 60 s event's value)
    post_minutes(need + 1, need + 2, per_second=True)
    held = minute_events(client, minute(need + 1))
    events = readings_of(held)
    assert [parse_ts(e["ts"]) for e in events] == [minute(need + 1) + s for s in range(R)]
    assert [e["power_kw"]["AC"] for e in events] == [round(value, 6)] * R
    assert all(e["estimated"] == ["AC"] for e in events)
    assert [e["power_kw"]["Overall"] for e in events] == [float(overall[need + 1])] * R

    # a client resuming mid-minute catches up with the same held values
    resumed = connect(
        f"{base}/api/v1/households/L/stream?interval=1&limit=5",
        {**auth, "Last-Event-ID": held[9].id or ""},
    )
    caught = [e for e in resumed.read_to_end(30) if e.event == "reading"]
    assert [e.data for e in caught] == [e.data for e in held[10:15]]

    # detached: the next events no longer carry AC, nor mark anything
    assert owner.write("DELETE", "/api/v1/households/L/estimates/AC").status_code == 204
    wait_for(
        lambda: "AC" not in channel.channels, what="worker 2's channel to lose AC", timeout_s=30.0
    )
    wait_for(
        lambda: "L" not in engine.job.followings, what="the estimator to let L go", timeout_s=30.0
    )
    post_minutes(need + 2, need + 3, per_second=True)
    events = readings_of(minute_events(client, minute(need + 2)))
    assert [parse_ts(e["ts"]) for e in events] == [minute(need + 2) + s for s in range(R)]
    assert all(set(e["power_kw"]) == {"Overall"} and "estimated" not in e for e in events)
