"""A live household end to end in one process: statistics from its stored history, then readings
POSTed over HTTP reach an SSE client as window averages with levels from those statistics."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest
import requests
from numpy.testing import assert_allclose
from werkzeug.serving import make_server

from server.stats import classify
from tests.server.streaming.sse_client import parse_blocks
from tests.services import free_port

INTERVAL = 5


@pytest.fixture
def served(app) -> Iterator[str]:  # noqa: ANN001
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


def usual_history(first_s: int, *, seed: int, seconds: int = 1200) -> list[dict]:
    """``seconds`` of a home's usual readings from ``first_s``: AC and geyser cycles, a noisy
    whole house (enough history for statistics once ``min_history_s`` is 600)."""
    rng = np.random.default_rng(seed)
    return [
        {
            "ts": first_s + i,
            "power_kw": {
                "AC": float(1.5 * (i % 300 < 120)),
                "Geyser": float(2.0 * (i % 600 < 60)),
                "Overall": float(0.3 + rng.gamma(2.0, 0.2)),
            },
        }
        for i in range(seconds)
    ]


def wait_subscribed(app, household: str, timeout_s: float = 30.0) -> None:  # noqa: ANN001
    """Wait until an SSE client of ``household`` is subscribed to its channel. The ``retry:``
    block is sent before the stream subscribes (its first bytes go out at once), so readings
    posted right after it could be primed as history, their window counted as already sent."""
    hub = app.extensions["gridlight"].hub
    deadline = time.monotonic() + timeout_s
    while not any(c.fmt == "v1" and c.subscribers for c in hub.channels_of(household)):
        assert time.monotonic() < deadline, f"no SSE client of {household} subscribed"
        time.sleep(0.01)


def test_live_household_stream(app, served, live_key) -> None:  # noqa: ANN001
    headers = {"Authorization": f"Bearer {live_key}"}
    url = f"{served}/api/v1/households/L1/readings"
    app.extensions["gridlight_ingest"].pipeline.live.min_history_s = 600
    history = usual_history(int(time.time()) - 2000, seed=5)
    assert requests.post(url, json={"readings": history}, headers=headers, timeout=30).ok
    stream = requests.get(
        f"{served}/api/v1/households/L1/stream?interval={INTERVAL}",
        headers=headers,
        stream=True,
        timeout=30,
    )
    try:
        assert stream.status_code == 200
        lines = iter(stream.raw.readline, b"")
        blocks = parse_blocks(line.decode().rstrip("\r\n") for line in lines)
        assert next(blocks).retry is not None  # the stream started
        wait_subscribed(app, "L1")
        # Ahead of the clock (read now, after the slow set-up), within the allowed 300 s, so the
        # window cannot be closed as a silent meter's before its readings are posted.
        window = (int(time.time()) // INTERVAL + 3) * INTERVAL
        live = [
            {"ts": window + i, "power_kw": {"AC": 1.5, "Geyser": 0.0, "Overall": 1.0 + i}}
            for i in range(INTERVAL)
        ]
        del live[2]["power_kw"]["Geyser"]
        live.append({"ts": window + INTERVAL, "power_kw": {"Overall": 9.0}})  # closes the window
        late = {"ts": window + 2, "power_kw": {"Geyser": 4.0}}  # late, but its window is open
        again = {"ts": window, "power_kw": {"Overall": 100.0}}  # a duplicate: ignored
        for batch in (live[:4], [late, again], live[4:]):
            r = requests.post(url, json={"readings": batch}, headers=headers, timeout=10)
            assert r.ok, r.text
        event = next(
            b.json() for b in blocks if b.event == "reading" and b.json()["ts"] >= _iso(window)
        )
    finally:
        stream.close()
    assert event["ts"] == _iso(window)
    assert_allclose(
        [event["power_kw"][c] for c in ("AC", "Geyser", "Overall")], [1.5, 0.8, 3.0], atol=1e-9
    )
    stats = app.extensions["gridlight"].stats.get("L1", INTERVAL)
    assert event["level"] == classify(stats, event["power_kw"])


def _iso(epoch_s: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_s))


def test_a_new_meter_streams_at_once_and_gains_levels(app, served, live_key) -> None:  # noqa: ANN001
    """A live household with no history streams its values at once (``level`` null, learning);
    once enough history is stored its statistics are picked up, a ``stats`` control event says
    so, and the windows after it carry levels, on the same connection."""
    headers = {"Authorization": f"Bearer {live_key}"}
    url = f"{served}/api/v1/households/L1/readings"
    app.extensions["gridlight_ingest"].pipeline.live.min_history_s = 600
    app.extensions["gridlight"].learning.retry_s = 0.05
    assert (
        requests.get(
            f"{served}/api/v1/households/L1/stats?interval={INTERVAL}", headers=headers, timeout=10
        ).status_code
        == 409
    )  # the stats route still says why it has none
    stream = requests.get(
        f"{served}/api/v1/households/L1/stream?interval={INTERVAL}",
        headers=headers,
        stream=True,
        timeout=30,
    )
    try:
        assert stream.status_code == 200
        blocks = parse_blocks(
            line.decode().rstrip("\r\n") for line in iter(stream.raw.readline, b"")
        )
        assert next(blocks).retry is not None
        wait_subscribed(app, "L1")
        window = (int(time.time()) // INTERVAL + 3) * INTERVAL
        first = [
            {"ts": window + i, "power_kw": {"AC": 0.0, "Geyser": 0.0, "Overall": 0.5}}
            for i in range(INTERVAL + 1)
        ]
        assert requests.post(url, json={"readings": first}, headers=headers, timeout=10).ok
        learning = next(b.json() for b in blocks if b.event == "reading")
        assert learning["ts"] == _iso(window) and learning["power_kw"]["Overall"] == 0.5
        assert learning["level"] is None and learning["learning"] is True
        # twenty minutes of history (back-dated) give it statistics
        history = usual_history(int(time.time()) - 1500, seed=7)
        assert requests.post(url, json={"readings": history}, headers=headers, timeout=60).ok
        announced = next(b for b in blocks if b.event == "stats")
        assert announced.id is None and announced.json()["learning"] is False
        later = window + 2 * INTERVAL
        more = [
            {"ts": later + i, "power_kw": {"AC": 0.0, "Geyser": 0.0, "Overall": 9.0}}
            for i in range(INTERVAL + 1)
        ]
        assert requests.post(url, json={"readings": more}, headers=headers, timeout=10).ok
        event = next(
            b.json() for b in blocks if b.event == "reading" and b.json()["ts"] == _iso(later)
        )
    finally:
        stream.close()
    assert "learning" not in event and event["level"]["Overall"] in ("red", "critical")
    stats = app.extensions["gridlight"].stats.get("L1", INTERVAL)
    assert event["level"] == classify(stats, event["power_kw"])
