"""Insights refreshed as data arrives (at most hourly per household) and daily, announced to open
streams with ``event: insights``; and the live carbon feed, whose failure keeps the last good
values and degrades ``/healthz``. Clocks are injected; nothing sleeps to wait."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import requests
from werkzeug.serving import make_server

from server.insights.refresh import DataArrival, RefreshJob, RefreshPolicy, insights_event
from server.leases import LocalLease
from server.streaming.classified import ClassifiedWindow
from tests.server.streaming.sse_client import parse_blocks
from tests.services import free_port

HOUR = 3600.0


class FakeState:
    def __init__(self, refreshed: dict[str, float] | None = None) -> None:
        self._refreshed = refreshed or {}

    def refreshed(self) -> dict[str, float]:
        return dict(self._refreshed)


class FakeService:
    def __init__(self, refreshed: dict[str, float] | None = None) -> None:
        self.state = FakeState(refreshed)
        self.calls: list[tuple[str, str]] = []

    def refresh(self, household: str, reason: str) -> int:
        self.calls.append((household, reason))
        return len(self.calls)


def window(household: str, start_s: int, value: float | None) -> ClassifiedWindow:
    return ClassifiedWindow(
        household, 60, start_s, {"Overall": value}, None, None, f"{start_s}-0", empty=value is None
    )


def make_job(service: FakeService, now: list[float], households=("L1",)) -> RefreshJob:  # noqa: ANN001
    return RefreshJob(
        service,
        hub=None,
        lease=LocalLease(),
        policy=RefreshPolicy(min_s=HOUR, daily_s=24 * HOUR),
        live=lambda: set(households),
        every=lambda: list(households),
        clock=lambda: now[0],
    )


def test_refresh_is_debounced_to_hourly_and_daily() -> None:
    now = [1_000_000.0]
    service = FakeService()
    job = make_job(service, now)
    arrival = DataArrival(job.policy, "L1", lambda: now[0])
    assert job.tick() == "L1" and service.calls == [("L1", "daily")]  # never refreshed
    assert job.tick() is None  # nothing new
    # data keeps arriving: at most one refresh an hour
    for minute in range(1, 60):
        now[0] = 1_000_000.0 + 60 * minute
        arrival.on_window(window("L1", int(now[0]), 1.2))
        assert job.tick() is None, f"refreshed after {minute} min"
    now[0] = 1_000_000.0 + HOUR
    assert job.tick() == "L1" and service.calls[-1] == ("L1", "data")
    assert job.tick() is None
    # a silent meter's empty windows are not data
    now[0] += 2 * HOUR
    arrival.on_window(window("L1", int(now[0]), None))
    assert job.tick() is None and len(service.calls) == 2
    # a day after the last refresh: the daily one, data or not
    now[0] = 1_000_000.0 + HOUR + 24 * HOUR
    assert job.tick() == "L1" and service.calls[-1] == ("L1", "daily")
    assert arrival.windows == 59


def test_the_schedule_continues_across_restarts() -> None:
    """A new leader reads when each household was refreshed: no refresh storm at start."""
    now = [1_000_000.0]
    service = FakeService(refreshed={"A": now[0] - 600, "B": now[0] - 25 * HOUR})
    job = make_job(service, now, households=("A", "B"))
    assert job.tick() == "B" and service.calls == [("B", "daily")]
    assert job.tick() is None


def test_the_most_overdue_household_goes_first_one_per_tick() -> None:
    now = [1_000_000.0]
    service = FakeService(refreshed={"A": now[0] - 30 * HOUR, "B": now[0] - 40 * HOUR})
    job = make_job(service, now, households=("A", "B", "C"))
    assert [job.tick(), job.tick(), job.tick(), job.tick()] == ["C", "B", "A", None]


def test_insights_event_bytes() -> None:
    assert insights_event("L1", 3, "data") == (
        b"event: insights\n"
        b'data: {"household":"L1","version":3,"forecast":"/api/v1/households/L1/forecast",'
        b'"recommendations":"/api/v1/households/L1/recommendations","reason":"data"}\n\n'
    )


# -- served: data arrives, the leader refreshes, the stream is told --------------------------------
@pytest.fixture
def served_app(make_app) -> Iterator[tuple[str, object]]:  # noqa: ANN001
    app = make_app(
        INSIGHTS_ENABLED=True,
        INSIGHTS_INTERVAL_S=5,
        INSIGHTS_SYNC_S=0.05,
        INSIGHTS_ANNOUNCE_S=0.05,
        INSIGHTS_REFRESH_MIN_S=0,
        ALERTS_ENABLED=False,
        # the back-dated upload publishes ~240 windows at once; a 256-event queue let a client
        # whose reading thread is starved on a loaded machine be dropped as too slow (by design,
        # tested elsewhere), which is not what this test is about
        CLIENT_QUEUE_LEN=4096,
    )
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state = app.extensions["insights"].state
    for household in ("A", "B", "C"):  # refreshed just now (by an earlier leader): not due
        state.record(household, time.time(), "daily", changed=False)
    app.extensions["gridlight"].start()
    yield f"http://127.0.0.1:{port}", app
    server.shutdown()


def test_new_data_reaches_open_streams_as_an_insights_event(served_app, live_key: str) -> None:  # noqa: ANN001
    base, app = served_app
    headers = {"Authorization": f"Bearer {live_key}"}
    refresh = app.extensions["insights"].refresh
    deadline = time.monotonic() + 60
    while not any(h == "L1" for h, _, _ in refresh.refreshes):  # the start-up (daily) refresh
        assert time.monotonic() < deadline, refresh.refreshes
        assert all(h == "L1" for h, _, _ in refresh.refreshes)
        time.sleep(0.02)
    stream = requests.get(
        f"{base}/api/v1/households/L1/stream?interval=5", headers=headers, stream=True, timeout=30
    )
    try:
        assert stream.status_code == 200
        blocks = parse_blocks(
            line.decode().rstrip("\r\n") for line in iter(stream.raw.readline, b"")
        )
        assert next(blocks).retry is not None
        # read the stream while posting (a client that stops reading is dropped once its
        # bounded queue fills)
        received: queue.Queue = queue.Queue()

        def read() -> None:
            try:
                for block in blocks:
                    received.put(block)
            except (OSError, ValueError, AttributeError):
                pass  # the test closed the response under the read
            received.put(None)  # the stream ended

        threading.Thread(target=read, daemon=True).start()
        hub = app.extensions["gridlight"].hub
        while not any(c.fmt == "v1" and c.subscribers for c in hub.channels_of("L1")):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        now = int(time.time())
        rng = np.random.default_rng(3)
        history = [
            {"ts": now - 1500 + i, "power_kw": {"AC": 0.0, "Geyser": 0.0, "Overall": float(v)}}
            for i, v in enumerate(0.3 + rng.gamma(2.0, 0.2, 1200))
        ]
        start = (now // 5 + 3) * 5  # a live window ahead of the clock, then one reading after it
        live = [{"ts": start + i, "power_kw": {"Overall": 1.0}} for i in range(6)]
        for batch in (history, live):
            r = requests.post(
                f"{base}/api/v1/households/L1/readings",
                json={"readings": batch},
                headers=headers,
                timeout=30,
            )
            assert r.status_code == 200, r.text
        event = None
        while event is None:
            block = received.get(timeout=max(deadline - time.monotonic(), 0.1))
            assert block is not None, "the stream ended before the insights event"
            if block.event == "insights" and block.json()["reason"] == "data":
                event = block
    finally:
        stream.close()
    assert event.id is None
    doc = event.json()
    assert doc["household"] == "L1" and doc["version"] >= 1
    assert doc["recommendations"] == "/api/v1/households/L1/recommendations"
    assert ("L1", "data") in [(h, r) for h, r, _ in refresh.refreshes]


# -- the carbon feed ----------------------------------------------------------------------------
class Feed:
    """A local HTTP JSON feed whose answer the test sets (``None``: a 502)."""

    def __init__(self) -> None:
        self.doc: object = {"zones": {"IN": 500.0}}
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                if feed.doc is None:
                    self.send_error(502)
                    return
                body = json.dumps(feed.doc).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/intensity?token=secret"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def feed() -> Iterator[Feed]:
    f = Feed()
    yield f
    f.close()


def test_an_unreachable_carbon_feed_keeps_the_last_values_and_degrades_healthz(
    make_app, feed: Feed
) -> None:  # noqa: ANN001
    app = make_app(CARBON_FEED_URL=feed.url, CARBON_FEED_TIMEOUT_S=2)
    client = app.test_client()
    poller = app.extensions["insights"].feed
    assert client.get("/healthz").json["status"] == "ok"  # not polled yet
    assert poller.poll()
    health = client.get("/healthz").json
    assert health["status"] == "ok" and health["carbon_feed"]["ok"] is True
    assert health["carbon_feed"]["feed"].startswith("http://127.0.0.1:")
    assert "secret" not in json.dumps(health)  # the feed's path and query are not shown
    hours = client.get("/api/v1/households/A/forecast?horizon_h=3").json
    assert hours["model"]["carbon"]["g_per_kwh"] == 500.0
    assert "live feed" in hours["model"]["carbon"]["source"]
    p50 = hours["hours"][0]["energy_kwh"]["p50"]
    assert hours["hours"][0]["co2_kg"] == pytest.approx(p50 * 0.5, rel=1e-3)

    for broken in (None, {"zones": {"IN": "lots"}}, ["not an object"]):
        feed.doc = broken
        assert not poller.poll()
        health = client.get("/healthz")
        assert health.status_code == 200
        assert health.json["status"] == "degraded" and health.json["carbon_feed"]["ok"] is False
        assert health.json["carbon_feed"]["error"]
        again = client.get("/api/v1/households/A/forecast?horizon_h=3")
        assert again.status_code == 200
        assert again.json["model"]["carbon"]["g_per_kwh"] == 500.0  # the last good value
    feed.close()  # unreachable
    assert not poller.poll()
    assert client.get("/healthz").json["status"] == "degraded"
    assert client.get("/api/v1/households/A/recommendations").status_code == 200
    recs = client.get("/api/v1/households/A/recommendations").json
    assert recs["carbon"]["g_per_kwh"] == 500.0
